"""The sync's figures for Prometheus, read from the database at each scrape (a collector, not counters in
this process's memory: the workers that make the calls are other processes).

Gauges: documents waiting, sending and failed, the age of the oldest waiting one, webhook events pending,
seconds since each organisation's last reconciliation. Counters (they only grow): documents sent and failed
by kind, Xero calls by endpoint and status, 429s by problem, webhook events received and rejected.

Labels per organisation are bounded: the METRICS_ORGANISATION_LABELS organisations with the most documents
in hand (for the reconciliation, the longest unread) are named, the rest summed as `organisation="other"`;
a thousand linked organisations make at most that many series more per metric, not a thousand.
"""

import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from billing.models import Invoice
from integrations.xero.models import Reconciliation, SyncRecord, Tally, WebhookEvent, WebhookRejection, XeroConnection
from integrations.xero.monitoring import tallies

State = SyncRecord.State
IN_HAND = (State.WAITING, State.SENDING, State.FAILED)
OTHER = "other"
NOT_LINKED = "not linked"


def metrics_text(*, now: datetime.datetime | None = None) -> bytes:
    """The exposition Prometheus scrapes."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SyncCollector(now or timezone.now()))
    return generate_latest(registry)


class SyncCollector:
    def __init__(self, now: datetime.datetime):
        self.now = now

    def collect(self):
        organisations = _organisation_names()
        yield from _documents(organisations, self.now)
        yield from _counters()
        yield from _webhooks()
        yield _reconciliation_ages(organisations, self.now)


def _organisation_names() -> dict:
    """Each company's organisation's name (its live link's), by company id."""
    return dict(XeroConnection.objects.live().values_list("company_id", "tenant_name"))


def _documents(organisations: dict, now: datetime.datetime):
    in_hand = SyncRecord.objects.filter(state__in=IN_HAND).values("invoice__company_id", "state")
    # Every linked organisation has its three series, at 0 when nothing is in hand (an absent series alerts nobody).
    counts = defaultdict(
        lambda: dict.fromkeys(IN_HAND, 0), {company: dict.fromkeys(IN_HAND, 0) for company in organisations}
    )
    for row in in_hand.annotate(count=Count("pk")).order_by():
        counts[row["invoice__company_id"]][row["state"]] = row["count"]
    waiting = SyncRecord.objects.filter(state=State.WAITING).values("invoice__company_id")
    oldest = dict(waiting.annotate(issued=Min("invoice__issued_at")).values_list("invoice__company_id", "issued"))
    named = _bounded(sorted(counts, key=lambda company: (-sum(counts[company].values()), company or 0)))

    documents = GaugeMetricFamily(
        "xero_documents",
        "Documents on their way to Xero, by state (waiting, sending, failed)",
        labels=["organisation", "state"],
    )
    summed = defaultdict(int)
    for company, by_state in counts.items():
        label = _label(company, named, organisations)
        for state, count in by_state.items():
            summed[label, state] += count
    for (label, state), count in sorted(summed.items()):
        documents.add_metric([label, state], count)
    yield documents

    ages = GaugeMetricFamily(
        "xero_oldest_waiting_document_age_seconds",
        "Seconds since the oldest document waiting to be sent was issued",
        labels=["organisation"],
    )
    oldest_by_label = {}
    for company, issued in oldest.items():
        if issued is not None:
            label = _label(company, named, organisations)
            oldest_by_label[label] = min(issued, oldest_by_label.get(label, issued))
    for label, issued in sorted(oldest_by_label.items()):
        ages.add_metric([label], (now - issued).total_seconds())
    yield ages


def _counters():
    totals = defaultdict(dict)
    for name, labels, total in Tally.objects.values_list("name", "labels", "total"):
        totals[name][labels] = total
    for name, help_text in (
        (tallies.DOCUMENTS_SENT, "Documents Xero took (sent, or found there after an attempt whose answer was lost)"),
        (tallies.DOCUMENTS_FAILED, "Documents that failed (refused by Xero, held back, or a number clash)"),
    ):
        counter = CounterMetricFamily(name, help_text, labels=["kind"])
        for kind in Invoice.Kind.values:
            counter.add_metric([kind], totals[name].get(tallies.labels_text({"kind": kind}), 0))
        yield counter
    calls = CounterMetricFamily(
        "xero_api_calls",
        "Calls to Xero's API, by endpoint and HTTP status (0: no answer)",
        labels=["endpoint", "status"],
    )
    limited = CounterMetricFamily(
        "xero_api_rate_limited", "Calls Xero refused with a 429, by X-Rate-Limit-Problem", labels=["problem"]
    )
    by_call, by_problem = defaultdict(int), defaultdict(int)
    for labels, total in totals[tallies.CALLS].items():
        call = tallies.labels_of(labels)
        by_call[call["endpoint"], call["status"]] += total
        if call["status"] == "429":
            by_problem[call["problem"] or "unknown"] += total
    for (endpoint, status), total in sorted(by_call.items()):
        calls.add_metric([endpoint, status], total)
    for problem, total in sorted(by_problem.items()):
        limited.add_metric([problem], total)
    yield calls
    yield limited
    forgotten_events = totals[tallies.WEBHOOK_EVENTS_FORGOTTEN].get("", 0)
    forgotten_rejections = totals[tallies.WEBHOOK_REJECTIONS_FORGOTTEN].get("", 0)
    yield CounterMetricFamily(
        "xero_webhook_events_received",
        "Webhook events received from Xero (duplicated deliveries counted once)",
        value=WebhookEvent.objects.count() + forgotten_events,
    )
    yield CounterMetricFamily(
        "xero_webhook_events_rejected",
        "Correctly signed webhook payloads, or events of them, that could not be used",
        value=WebhookRejection.objects.count() + forgotten_rejections,
    )


def _webhooks():
    pending = WebhookEvent.objects.filter(state__in=[WebhookEvent.State.PENDING, WebhookEvent.State.PROCESSING])
    yield GaugeMetricFamily(
        "xero_webhook_events_pending", "Webhook events received and not applied yet", value=pending.count()
    )


def _reconciliation_ages(organisations: dict, now: datetime.datetime) -> GaugeMetricFamily:
    ages = GaugeMetricFamily(
        "xero_seconds_since_last_reconciliation",
        "Seconds since the organisation's documents were last read back from Xero by the reconciliation",
        labels=["organisation"],
    )
    companies = dict(XeroConnection.objects.active().values_list("tenant_id", "company_id"))
    read = Reconciliation.objects.filter(tenant_id__in=companies, last_success_at__isnull=False)
    last = sorted(read.values_list("tenant_id", "last_success_at"), key=lambda row: row[1])  # the stalest first
    named = _bounded([companies[tenant] for tenant, _ in last])
    by_label = {}
    for tenant, at in last:
        label = _label(companies[tenant], named, organisations)
        by_label[label] = min(at, by_label.get(label, at))
    for label, at in sorted(by_label.items()):
        ages.add_metric([label], (now - at).total_seconds())
    return ages


def _bounded(companies_first_most: list) -> set:
    return set(companies_first_most[: settings.METRICS_ORGANISATION_LABELS])


def _label(company_id, named: set, organisations: dict) -> str:
    if company_id not in named:
        return OTHER
    return organisations.get(company_id, NOT_LINKED)
