"""At the end: wait for quiet, then compare the platform with Xero (the sandbox's books), figure by figure.

Each check has a name, what was measured and whether it holds; the run exits non-zero if any fails.
"""

import datetime
import time
from collections import Counter

from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing.models import Invoice
from integrations.xero.models import SyncRecord, WebhookEvent, WebhookRejection, XeroConnection
from xero_sandbox.models import Contact, Document, Fault, RefreshToken, RequestLog, WebhookDelivery
from xero_sandbox.models import WebhookEvent as SandboxEvent

from .faults import INJECTED_KINDS

SWEEP_SECONDS = 60  # the sweeper's interval (settings.CELERY_BEAT_SCHEDULE)
APP_STATUS = {  # what the platform should say for each Xero status (a part-paid document is still owed)
    "AUTHORISED": Invoice.Status.ISSUED,
    "PAID": Invoice.Status.PAID,
    "VOIDED": Invoice.Status.VOIDED,
    "DELETED": Invoice.Status.DELETED,
}
State = SyncRecord.State


# --- quiet ------------------------------------------------------------------------------------------
def still_moving(org) -> dict:
    """What has not settled yet: documents to send, allocations to make, webhooks to deliver or apply."""
    return {
        "documents waiting or sending": SyncRecord.objects.filter(state__in=[State.WAITING, State.SENDING]).count(),
        "credit notes to allocate": _allocations_due().count(),
        "sandbox events not yet batched": SandboxEvent.objects.filter(delivery=None).count(),
        "webhook deliveries not yet accepted": WebhookDelivery.objects.filter(
            kind=WebhookDelivery.Kind.EVENTS, delivered_at=None, failed_at=None
        ).count(),
        # A claim that lapsed (its worker was killed) is still to apply: the platform must take it up again.
        "webhook events to apply": WebhookEvent.objects.filter(
            state__in=[WebhookEvent.State.PENDING, WebhookEvent.State.PROCESSING]
        ).count(),
    }


def wait_for_quiet(org, *, timeout: float, watch) -> tuple[bool, float]:
    started = last_print = time.monotonic()
    while time.monotonic() - started < timeout:
        watch()
        moving = still_moving(org)
        if not any(moving.values()):
            time.sleep(3)  # and still quiet a moment later (a last event may just be arriving)
            if not any(still_moving(org).values()):
                return True, time.monotonic() - started
        if time.monotonic() - last_print > 15:
            print(
                f"  settling ({time.monotonic() - started:.0f}s): "
                + ", ".join(f"{k} {v}" for k, v in moving.items() if v),
                flush=True,
            )
            last_print = time.monotonic()
        time.sleep(1)
    return False, time.monotonic() - started


def _allocations_due():
    return SyncRecord.objects.filter(
        state=State.SENT,
        allocated_amount__isnull=True,
        allocation_error="",
        invoice__kind=Invoice.Kind.CREDIT_NOTE,
        invoice__credited_invoice__xero_sync__state=State.SENT,
    )


# --- figures ------------------------------------------------------------------------------------------
def figures(org, *, client_id: str, links: int) -> dict:
    return {
        "documents": documents(org),
        "statuses": statuses(org),
        "failures": failures(),
        "outside": outside(org),
        "contacts": contacts(org),
        "faults": sandbox_faults(org),
        "webhooks": webhooks(),
        "tokens": tokens(client_id, links),
        "allocations": allocations(),
    }


def documents(org) -> dict:
    issued = Counter(Invoice.objects.exclude(status=Invoice.Status.DRAFT).values_list("kind", flat=True))
    kinds = {Document.INVOICE: Invoice.Kind.INVOICE, Document.CREDIT_NOTE: Invoice.Kind.CREDIT_NOTE}
    sales = Document.objects.filter(organisation=org, type__in=Document.SALES_TYPES)  # suppliers' numbers are theirs
    in_xero = Counter((kinds[t], n) for t, n in sales.values_list("type", "number"))
    platform = set(Invoice.objects.exclude(status=Invoice.Status.DRAFT).values_list("kind", "number"))
    now = timezone.now()
    overdue = now - datetime.timedelta(seconds=SWEEP_SECONDS)
    stuck = SyncRecord.objects.filter(
        Q(state=State.WAITING, next_attempt_at__lt=overdue) | Q(state=State.SENDING, claimed_until__lt=overdue)
    )
    return {
        "issued": sum(issued.values()),
        "issued_invoices": issued[Invoice.Kind.INVOICE],
        "issued_credit_notes": issued[Invoice.Kind.CREDIT_NOTE],
        "in_xero_by_number": len(in_xero),
        "xero_rows": sum(in_xero.values()),
        "duplicates": sum(count - 1 for count in in_xero.values() if count > 1),
        "missing": len(platform - set(in_xero)),
        "missing_numbers": sorted(n for _, n in platform - set(in_xero))[:20],
        "not_issued_by_platform": len(set(in_xero) - platform),
        "stuck": stuck.count(),
        "unsettled": SyncRecord.objects.filter(state__in=[State.WAITING, State.SENDING]).count(),
        "sync_states": dict(Counter(SyncRecord.objects.values_list("state", flat=True))),
    }


def statuses(org) -> dict:
    xero = dict(Document.objects.filter(organisation=org).values_list("document_id", "status"))
    mismatches, by_status = [], Counter()
    records = SyncRecord.objects.filter(state=State.SENT).values_list("invoice__number", "invoice__status", "xero_id")
    for number, app_status, xero_id in records:
        xero_status = xero.get(xero_id)
        by_status[f"{xero_status} in Xero"] += 1
        if APP_STATUS.get(xero_status) != app_status:
            mismatches.append(f"{number}: {app_status} in the platform, {xero_status} in Xero")
    part_paid = Document.objects.filter(
        organisation=org, type__in=Document.SALES_TYPES, status="AUTHORISED", amount_paid__gt=0
    ).count()
    sources = Counter(SyncRecord.objects.exclude(status_source="").values_list("status_source", flat=True))
    return {
        "compared": len(records),
        "mismatches": len(mismatches),
        "mismatch_examples": mismatches[:20],
        "by_xero_status": dict(sorted(by_status.items())),
        "part_paid_in_xero": part_paid,
        "status_changes_learned_from": dict(sources),
    }


def outside(org) -> dict:
    """Supplier documents sharing the platform's numbers: none may be taken for a platform document."""
    theirs = Document.objects.filter(organisation=org).exclude(type__in=Document.SALES_TYPES)
    shared = set(theirs.values_list("number", flat=True)) & set(Invoice.objects.values_list("number", flat=True))
    wrong = SyncRecord.objects.filter(xero_id__in=theirs.values("document_id"))
    return {
        "supplier_documents": theirs.count(),
        "sharing_a_platform_number": len(shared),
        "paid_in_xero": theirs.filter(status="PAID").count(),
        "wrong_matches": wrong.count(),
        "wrong_match_examples": list(wrong.values_list("invoice__number", flat=True)[:20]),
    }


def failures() -> dict:
    """Every document that met a failure: retried to success, or shown as a sync exception with a reason."""
    retried = SyncRecord.objects.filter(attempts__gt=1)
    failed = SyncRecord.objects.filter(state=State.FAILED)
    return {
        "documents_with_more_than_one_attempt": retried.count(),
        "retried_to_success": retried.filter(state=State.SENT).count(),
        "max_attempts": SyncRecord.objects.order_by("-attempts").values_list("attempts", flat=True).first() or 0,
        "sync_exceptions": failed.count(),
        "sync_exceptions_without_reason": failed.filter(error="").count(),
        "sync_exception_reasons": dict(
            Counter(e[:160] for e in failed.values_list("error", flat=True)).most_common(10)
        ),
        "neither": retried.exclude(state__in=[State.SENT, State.FAILED]).count(),
    }


def contacts(org) -> dict:
    numbers = Counter(
        Contact.objects.filter(organisation=org, account_number__startswith="BX").values_list(
            "account_number", flat=True
        )
    )
    return {"customers_in_xero": len(numbers), "duplicate_contacts": sum(c - 1 for c in numbers.values() if c > 1)}


def sandbox_faults(org) -> dict:
    hits = dict(
        RequestLog.objects.filter(organisation=org).exclude(fault="").values_list("fault").annotate(n=Count("pk"))
    )
    calls = RequestLog.objects.filter(organisation=org)
    return {
        "hits_by_kind": {kind.label: hits.get(kind, 0) for kind in INJECTED_KINDS},
        "api_calls": calls.count(),
        "answered_429": calls.filter(status_code=429).count(),
        "answered_5xx": calls.filter(status_code__gte=500).count(),
        "left_unused": Fault.objects.filter(organisation=org, remaining__gt=0).count(),
    }


def webhooks() -> dict:
    deliveries = WebhookDelivery.objects.filter(kind=WebhookDelivery.Kind.EVENTS)
    attempts = deliveries.aggregate(n=Sum("attempts"))["n"] or 0
    same_batch = Counter(deliveries.values_list("app_id", "first_sequence"))
    return {
        "events_sent_by_xero": SandboxEvent.objects.count(),
        "deliveries": deliveries.count(),
        "delivered": deliveries.exclude(delivered_at=None).count(),
        "given_up": deliveries.exclude(failed_at=None).count(),
        "posts": attempts,
        "posts_refused_or_failed": attempts - deliveries.exclude(delivered_at=None).count(),
        "deliveries_sent_twice": sum(c - 1 for c in same_batch.values() if c > 1),
        "app_events": dict(Counter(WebhookEvent.objects.values_list("state", flat=True))),
        "app_events_left_claimed": WebhookEvent.objects.filter(state=WebhookEvent.State.PROCESSING).count(),
        "rejected_payloads": WebhookRejection.objects.count(),
    }


def tokens(client_id: str, links: int) -> dict:
    issued = RefreshToken.objects.filter(grant__app__client_id=client_id).count()
    connection = XeroConnection.objects.current()
    return {"refreshes": issued - links, "links": links, "link_at_end": connection.status if connection else "none"}


def allocations() -> dict:
    """Credit notes applied to their invoices; the platform's record of each against Xero's (people in
    Xero never touch credit notes in this run, so what Xero has allocated is what the platform did)."""
    notes = SyncRecord.objects.filter(invoice__kind=Invoice.Kind.CREDIT_NOTE, state=State.SENT)
    credited = dict(Document.objects.filter(type=Document.CREDIT_NOTE).values_list("document_id", "amount_credited"))
    differ = [
        f"{number}: {mine if mine is not None else 'nothing'} in the platform ({error or 'no error'}), "
        f"{credited.get(xero_id)} in Xero"
        for number, mine, error, xero_id in notes.values_list(
            "invoice__number", "allocated_amount", "allocation_error", "xero_id"
        )
        if (mine or 0) != credited.get(xero_id)
    ]
    return {
        "platform_differs_from_xero": len(differ),
        "differences": differ[:10],
        "credit_notes_sent": notes.count(),
        "allocated": notes.filter(allocated_amount__gt=0).count(),
        "nothing_left_to_allocate": notes.filter(allocated_amount=0).count(),
        "allocation_refused": dict(
            Counter(notes.exclude(allocation_error="").values_list("allocation_error", flat=True))
        ),
        "not_allocated": _allocations_due().count(),
    }


# --- the verdict ------------------------------------------------------------------------------------
def verdict(results: dict) -> list[dict]:
    d, s, f = results["documents"], results["statuses"], results["failures"]
    faults, timeline = results["faults"]["hits_by_kind"], results["timeline"]
    checks = [
        _check(
            "documents issued = documents in Xero (by number)",
            f"{d['issued']} = {d['in_xero_by_number']}",
            d["issued"] == d["in_xero_by_number"] and not d["not_issued_by_platform"],
        ),
        _check("duplicates in Xero", d["duplicates"], d["duplicates"] == 0),
        _check(
            "wrong matches (a platform document taken for a supplier's of the same number)",
            f"{results['outside']['wrong_matches']} of "
            f"{results['outside']['sharing_a_platform_number']} shared numbers",
            results["outside"]["wrong_matches"] == 0 and results["outside"]["sharing_a_platform_number"] > 0,
        ),
        _check("missing from Xero", d["missing"], d["missing"] == 0),
        _check(f"stuck (waiting or sending, due more than {SWEEP_SECONDS}s ago)", d["stuck"], d["stuck"] == 0),
        _check("not settled at the end (waiting or sending)", d["unsettled"], d["unsettled"] == 0),
        _check(
            "statuses: platform = Xero, for every sent document",
            f"{s['compared'] - s['mismatches']} of {s['compared']} equal",
            s["mismatches"] == 0 and s["compared"] == d["issued"],
        ),
        _check(
            "failures neither retried to success nor a sync exception with a reason",
            f["neither"] + f["sync_exceptions_without_reason"],
            f["neither"] + f["sync_exceptions_without_reason"] == 0,
        ),
        _check(
            "credit note allocations: platform = Xero",
            f"{results['allocations']['platform_differs_from_xero']} differ",
            results["allocations"]["platform_differs_from_xero"] == 0,
        ),
        _check(
            "duplicate customers (contacts) in Xero",
            results["contacts"]["duplicate_contacts"],
            results["contacts"]["duplicate_contacts"] == 0,
        ),
        _check(
            "every sandbox fault kind happened", ", ".join(f"{k}: {v}" for k, v in faults.items()), all(faults.values())
        ),
        _check(
            "outside faults done (kills, receiver down, refresh token revoked + re-link, Redis restart)",
            f"{len(timeline['log'])} events, {len(timeline['errors'])} failed, {timeline['relinks']} re-link(s)",
            not timeline["errors"] and timeline["relinks"] == 1,
        ),
        _check(
            "link active at the end", results["tokens"]["link_at_end"], results["tokens"]["link_at_end"] == "active"
        ),
        _check("settled before the timeout", f"{results['settle_seconds']:.0f}s", results["quiet"]),
    ]
    receiver = results.get("receiver", "")
    if receiver:
        checks.append(_check("webhook receiver present", receiver, False))
    return checks


def _check(name: str, measured, ok: bool) -> dict:
    return {"check": name, "measured": measured, "ok": bool(ok)}
