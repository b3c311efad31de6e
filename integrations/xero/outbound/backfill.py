"""Earlier documents, on request: a company's documents issued before the add-on wrote their outbox rows
(before the link, or while the add-on was off) are sent from a date a person chooses on the Add Ons page,
after seeing how many there are and their total.

They join the outbox like any issued document, but as documents Xero may hold already: the first attempt
looks their numbers up in Xero (`sending._settle_unknown_outcomes`), so one entered there by hand before the
link is matched — taken as sent when it is the same sale (contact, date, total), listed as a sync exception
for a person otherwise — and never doubled. They go after the company's newly issued documents
(`sending._next_batch`), at Xero's pace. Only documents still open are sent: paid, voided and deleted ones
would arrive in Xero as owing, and the statuses read back would then undo the platform's."""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from billing.models import Company, Invoice
from integrations.xero.models import Backfill, SyncAttempt, SyncRecord, XeroConnection

logger = logging.getLogger(__name__)
CHUNK = 1_000  # outbox rows written per statement: memory stays flat for any number of documents
State = SyncRecord.State


@dataclass(frozen=True)
class Preview:
    documents: int
    totals: list[tuple[str, Decimal]]  # per currency, credit notes taken off


@dataclass(frozen=True)
class Progress:
    documents: int
    sent: int
    matched: int  # of the sent, found in Xero already and matched rather than sent again
    waiting: int
    failed: int

    @property
    def done(self) -> bool:
        return self.waiting == 0

    @property
    def percent(self) -> int:
        return 100 if not self.documents else round(100 * (self.sent + self.failed) / self.documents)


def earlier_documents(company: Company, issued_from: datetime.date) -> QuerySet[Invoice]:
    """The company's open documents issued on or after `issued_from` that have never been to Xero."""
    return Invoice.objects.filter(
        company=company, status=Invoice.Status.ISSUED, issue_date__gte=issued_from, xero_sync__isnull=True
    )


def backfill_preview(company: Company, issued_from: datetime.date) -> Preview:
    documents = earlier_documents(company, issued_from)
    per_currency = documents.values("currency", "kind").annotate(count=Count("pk"), total=Sum("total"))
    totals: dict[str, Decimal] = {}
    for row in per_currency:
        sign = -1 if row["kind"] == Invoice.Kind.CREDIT_NOTE else 1
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + sign * row["total"]
    return Preview(documents=sum(row["count"] for row in per_currency), totals=sorted(totals.items()))


def backfill_start(*, connection: XeroConnection, issued_from: datetime.date, user) -> Backfill:
    """Put the company's earlier documents from `issued_from` into the outbox, in one transaction; raises
    ValidationError (changing nothing) when the link is not active or nothing is left to send."""
    if connection.status != XeroConnection.Status.ACTIVE:
        raise ValidationError(f"{connection.tenant_name} needs linking again before earlier documents can be sent.")
    if issued_from > timezone.localdate():
        raise ValidationError(f"{issued_from:%d %b %Y} is in the future: choose the first day of documents to send.")
    with transaction.atomic():
        backfill = Backfill.objects.create(
            company=connection.company,
            tenant_id=connection.tenant_id,
            issued_from=issued_from,
            documents=0,
            requested_by=user,
            requested_at=timezone.now(),
        )
        _outbox_rows_write(backfill, earlier_documents(connection.company, issued_from))
        backfill.documents = SyncRecord.objects.filter(backfill=backfill).count()
        if not backfill.documents:
            raise ValidationError(
                f"No open document of {connection.company} issued since {issued_from:%d %b %Y} is left to send."
            )
        backfill.save(update_fields=["documents"])
        transaction.on_commit(_push_soon)
    return backfill


def _push_soon() -> None:
    from integrations.xero import tasks  # tasks import the sync, which the views import with this module

    try:
        tasks.push_soon()
    except Exception:  # the broker is down: the sweeper sends them
        logger.warning("Could not queue sending earlier documents; the sweeper sends them")


def _outbox_rows_write(backfill: Backfill, documents: QuerySet[Invoice]) -> None:
    now = timezone.now()
    pks = documents.order_by("issue_date", "pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK)
    while chunk := list(islice(pks, CHUNK)):
        SyncRecord.objects.bulk_create(
            [SyncRecord(invoice_id=pk, backfill=backfill, outcome_unknown=True, next_attempt_at=now) for pk in chunk],
            ignore_conflicts=True,  # issued meanwhile by another request's backfill: it has its row already
        )


def backfill_progress(backfill: Backfill) -> Progress:
    """How far its documents have got (one query)."""
    sent, failed = Q(state=State.SENT), Q(state=State.FAILED)
    found = SyncAttempt.objects.filter(record=OuterRef("pk"), outcome=SyncAttempt.Outcome.FOUND)
    counts = SyncRecord.objects.filter(backfill=backfill).aggregate(
        sent=Count("pk", filter=sent),
        failed=Count("pk", filter=failed),
        matched=Count("pk", filter=sent & Q(Exists(found))),
        waiting=Count("pk", filter=~(sent | failed)),
    )
    return Progress(documents=backfill.documents, **counts)
