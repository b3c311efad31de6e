"""/metrics: Prometheus' scrape, closed without the token, with the sync's figures as it left them."""

import datetime

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from billing.models import Company
from billing.tests.factories import CompanyFactory, TaxRateFactory
from integrations.xero.conftest import issued
from integrations.xero.inbound import inbox
from integrations.xero.models import Reconciliation, WebhookRejection
from integrations.xero.tests.factories import WebhookEventFactory, XeroConnectionFactory
from xero_sandbox.models import RequestLog

TOKEN = "scrape-me-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN) -> dict:
    """{(name, frozenset of labels): value} of a scrape."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.content.decode())
        for sample in family.samples
    }


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer ĉ"]
)
def test_a_scrape_without_the_token_is_refused(client, db, token, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"xero_" not in answer.content


def test_with_no_token_configured_nobody_can_scrape(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_a_scrape_finds_the_sync_as_it_left_things(synced, client, token, codes):
    waiting = issued(codes)  # issued, not sent yet
    org = synced.tenant_name
    metrics = scrape(client)
    assert metrics[("xero_documents", frozenset({("organisation", org), ("state", "waiting")}))] == 1
    assert metrics[("xero_documents", frozenset({("organisation", org), ("state", "sending")}))] == 0
    assert metrics[("xero_documents", frozenset({("organisation", org), ("state", "failed")}))] == 1
    age = metrics[("xero_oldest_waiting_document_age_seconds", frozenset({("organisation", org)}))]
    assert 0 <= age <= (timezone.now() - waiting.issued_at).total_seconds()
    assert metrics[("xero_documents_sent_total", frozenset({("kind", "invoice")}))] == 3
    assert metrics[("xero_documents_sent_total", frozenset({("kind", "credit_note")}))] == 0
    assert metrics[("xero_documents_failed_total", frozenset({("kind", "invoice")}))] == 1
    puts = RequestLog.objects.filter(method="PUT", path__contains="/api.xro/2.0/Invoices").count()
    assert metrics[("xero_api_calls_total", frozenset({("endpoint", "create_invoices"), ("status", "200")}))] == puts
    assert not [key for key in metrics if key[0] == "xero_api_rate_limited_total"]


def test_webhook_events_are_counted_received_rejected_and_pending_and_pruning_keeps_the_counts(
    fake_xero, client, token
):
    long_ago = timezone.now() - datetime.timedelta(days=90)
    WebhookEventFactory.create_batch(2, tenant_id=fake_xero.connection.tenant_id, state="applied", received_at=long_ago)
    WebhookEventFactory(tenant_id=fake_xero.connection.tenant_id)  # pending
    WebhookRejection.objects.create(received_at=long_ago, reason="not JSON")
    counts = ("xero_webhook_events_received_total", "xero_webhook_events_rejected_total", "xero_webhook_events_pending")
    before = scrape(client)
    assert [before[(name, frozenset())] for name in counts] == [3, 1, 1]
    assert inbox.webhook_events_prune() == 3
    after = scrape(client)
    assert [after[(name, frozenset())] for name in counts] == [3, 1, 1]


def test_seconds_since_the_last_reconciliation_are_per_organisation(fake_xero, client, token):
    Reconciliation.objects.create(
        tenant_id=fake_xero.connection.tenant_id, last_success_at=timezone.now() - datetime.timedelta(minutes=15)
    )
    metrics = scrape(client)
    seconds = metrics[("xero_seconds_since_last_reconciliation", frozenset({("organisation", "Fake Freight NZ Ltd")}))]
    assert 900 <= seconds < 960


def test_organisation_labels_are_bounded_and_the_rest_summed_as_other(fake_xero, client, token, codes, settings):
    settings.METRICS_ORGANISATION_LABELS = 2
    companies = [Company.objects.default(), *(CompanyFactory(name=f"Company {n}") for n in range(1, 5))]
    for number, company in enumerate(companies):
        if number:
            XeroConnectionFactory(company=company, tenant_name=f"Organisation {number}")
        tax = codes["tax"] if not number else TaxRateFactory(company=company, accounting_code="OUTPUT2")
        for _ in range(number + 1):  # 1, 2, 3, 4, 5 waiting
            issued(codes, company=company, tax=tax)
    waiting = {
        dict(labels)["organisation"]: value
        for (name, labels), value in scrape(client).items()
        if name == "xero_documents" and ("state", "waiting") in labels
    }
    assert waiting == {"Organisation 4": 5, "Organisation 3": 4, "other": 1 + 2 + 3}


def test_a_linked_organisation_with_nothing_in_hand_reports_zero_in_each_state(fake_xero, client, token):
    documents = {
        dict(labels)["state"]: value
        for (name, labels), value in scrape(client).items()
        if name == "xero_documents" and ("organisation", "Fake Freight NZ Ltd") in labels
    }
    assert documents == {"waiting": 0, "sending": 0, "failed": 0}
