"""Sync exceptions: the documents Xero refused, the pre-send check held back, or that have kept failing
for a passing reason longer than XERO_STILL_FAILING_HOURS; the selectors for their page and what a
person does about one (acknowledge, retry, link a number clash).

A sync exception is a failed SyncRecord, or a still-failing one (waiting for its next retry). It stays
listed until the document is sent (a success clears it, see `sending._succeed`); acknowledging only says
that someone has seen it.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.xero import tasks
from integrations.xero.models import SyncRecord, XeroConnection
from integrations.xero.outbound import pdfs

State = SyncRecord.State
UNACKNOWLEDGED = Q(acknowledged_at__isnull=True)  # not acknowledged_by: a deleted user leaves it NULL
ACKNOWLEDGED = "acknowledged"
ALREADY_ACKNOWLEDGED = "already acknowledged"
NOT_FAILING = "not failing"


def exception_filter() -> Q:
    """Failed, or still failing for a passing reason after XERO_STILL_FAILING_HOURS (and being retried)."""
    cutoff = timezone.now() - datetime.timedelta(hours=settings.XERO_STILL_FAILING_HOURS)
    return Q(state=State.FAILED) | Q(state__in=[State.WAITING, State.SENDING], retrying_since__lt=cutoff)


def sync_exception_list(*, include_acknowledged: bool = False, company=None) -> QuerySet[SyncRecord]:
    """Failing documents with what the page shows of them, the most recently failed first (of one company's
    documents when `company` is given)."""
    records = SyncRecord.objects.filter(exception_filter())
    if company is not None:
        records = records.filter(invoice__company=company)
    if not include_acknowledged:
        records = records.filter(UNACKNOWLEDGED)
    return records.select_related("invoice__billing_account", "invoice__company", "acknowledged_by").order_by(
        Coalesce("last_failed_at", "updated_at").desc(), "-pk"
    )


def sync_exception_counts(*, company=None) -> dict[str, int]:
    """How many documents are failing, and how many of those nobody has acknowledged (one query)."""
    records = SyncRecord.objects.filter(exception_filter())
    if company is not None:
        records = records.filter(invoice__company=company)
    return records.aggregate(all=Count("pk"), unacknowledged=Count("pk", filter=UNACKNOWLEDGED))


def sync_exception_unacknowledged_count() -> int:
    """The navigation's badge: failures nobody has acknowledged yet."""
    return SyncRecord.objects.filter(UNACKNOWLEDGED).filter(exception_filter()).count()


def sync_exception_acknowledge(*, record: SyncRecord, user) -> str:
    """A person has seen the sync exception (it stays listed until the document is sent). Returns
    ACKNOWLEDGED, or why nothing changed: NOT_FAILING (sent or retried since the page was loaded) or
    ALREADY_ACKNOWLEDGED."""
    if record.state != State.FAILED:
        return NOT_FAILING
    if record.acknowledged_at:
        return ALREADY_ACKNOWLEDGED
    acknowledged = (
        SyncRecord.objects.filter(pk=record.pk)
        .filter(exception_filter(), UNACKNOWLEDGED)
        .update(acknowledged_by=user, acknowledged_at=timezone.now())
    )
    return ACKNOWLEDGED if acknowledged else NOT_FAILING


def sync_exception_link_clash(*, record: SyncRecord) -> bool:
    """A person has looked at the document Xero holds under this document's number and says it is this
    one (entered in Xero by hand, say): take it as sent and read its status back. False if there is no
    such clash any more (sent, retried or unlinked since). The document is in its company's organisation."""
    connection = XeroConnection.objects.current(record.invoice.company)
    if connection is None:
        return False
    now = timezone.now()
    linked = SyncRecord.objects.filter(pk=record.pk, state=State.FAILED, clash_xero_id__isnull=False).update(
        state=State.SENT,
        xero_id=F("clash_xero_id"),
        xero_number=record.invoice.number,
        tenant_id=connection.tenant_id,
        sent_at=now,
        error="",
        clash_xero_id=None,
        first_failed_at=None,
        last_failed_at=None,
        acknowledged_by=None,
        acknowledged_at=None,
        outcome_unknown=False,
    )
    if linked:
        pdfs.pdf_queue(record=record)
        transaction.on_commit(lambda: tasks.read_back_states.delay([record.pk]))
    return bool(linked)


def sync_record_retry(*, record: SyncRecord) -> None:
    """A person fixed the cause of a failure: send the document again, soon."""
    SyncRecord.objects.filter(pk=record.pk, state=State.FAILED).update(
        state=State.WAITING, next_attempt_at=timezone.now(), error=""
    )
    transaction.on_commit(tasks.push_soon)
