"""Sent credit notes applied to the invoices they credit in Xero, once both are there: at most what is
left on each at that moment (the invoice may have been paid, or the credit note used, in Xero), under a
lease so that two workers never allocate one credit note at once, and never twice after an attempt
whose outcome was unknown."""

import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from billing.models import Invoice
from integrations.xero.api import values
from integrations.xero.api.errors import XeroError, XeroRejected
from integrations.xero.api.xero_api import xero_api_for
from integrations.xero.models import SyncRecord, XeroConnection

State = SyncRecord.State
ALLOCATION_BATCH = 50


def credit_notes_allocate_due() -> int:
    """Allocations waiting in every organisation with an active link: found in one query across them all
    (an idle round costs the same however many organisations are linked), then made with each one's link."""
    waiting = _waiting().filter(tenant_id__in=XeroConnection.objects.active().values("tenant_id"))
    by_tenant = defaultdict(list)
    for record in waiting[:ALLOCATION_BATCH]:
        by_tenant[record.tenant_id].append(record)
    if not by_tenant:
        return 0
    connections = XeroConnection.objects.active().filter(tenant_id__in=list(by_tenant))
    return sum(_allocate_each(connection, by_tenant[connection.tenant_id]) for connection in connections)


def credit_notes_allocate(*, connection: XeroConnection) -> int:
    """Apply sent credit notes to the invoices they credit, once both are in Xero (at most the amount due)."""
    return _allocate_each(connection, list(_waiting().filter(tenant_id=connection.tenant_id)[:ALLOCATION_BATCH]))


def _waiting():
    """Sent credit notes not allocated yet whose credited invoice is sent too, the oldest first."""
    return (
        SyncRecord.objects.filter(
            state=State.SENT,
            allocated_amount__isnull=True,
            allocation_error="",
            invoice__kind=Invoice.Kind.CREDIT_NOTE,
            invoice__credited_invoice__xero_sync__state=State.SENT,
        )
        .select_related("invoice__credited_invoice__xero_sync")
        .order_by("pk")
    )


def _allocate_each(connection: XeroConnection, records: list[SyncRecord]) -> int:
    done = 0
    for record in records:
        if not _lease_allocation(record):
            continue  # another worker is allocating it
        try:
            _allocate(connection, record)
            done += 1
        except XeroError as error:
            if not error.permanent or error.needs_relink:
                break  # nothing wrong with the allocation: tried again on a later round, or once linked again
            refusal = (
                f"{error.message} {error.details or ''}".strip() if isinstance(error, XeroRejected) else error.message
            )
            SyncRecord.objects.filter(pk=record.pk).update(allocation_error=refusal)
        finally:
            SyncRecord.objects.filter(pk=record.pk).update(claimed_until=None)
    return done


def _lease_allocation(record: SyncRecord) -> bool:
    """Take the sent credit note's allocation for this worker alone (its claim field is free once sent): two
    workers reading what is left at once would each see the other's allocation as credit used up."""
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    lease = now + datetime.timedelta(seconds=settings.XERO_SYNC_CLAIM_SECONDS)
    return bool(
        SyncRecord.objects.filter(free, pk=record.pk, allocated_amount__isnull=True).update(claimed_until=lease)
    )


def _allocate(connection: XeroConnection, record: SyncRecord) -> None:
    api = xero_api_for(connection)
    invoice_id = str(record.invoice.credited_invoice.xero_sync.xero_id)
    position = api.credit_position(invoice_id=invoice_id, credit_note_id=str(record.xero_id))
    if position.applied_from_credit_note:
        # An earlier attempt whose outcome was unknown got through: never allocate twice.
        SyncRecord.objects.filter(pk=record.pk).update(allocated_amount=position.applied_from_credit_note)
        return
    wanted = record.xero_total or record.invoice.total
    # Within what is left at this moment: the invoice may have been paid, or the credit note used, in Xero.
    amount = min(wanted, position.amount_due, position.remaining_credit)
    if amount > 0:
        api.allocate_credit_note(
            credit_note_id=str(record.xero_id), invoice_id=invoice_id, amount=amount, date=record.invoice.issue_date
        )
    SyncRecord.objects.filter(pk=record.pk).update(
        allocated_amount=amount, allocation_note=_shortfall(record, wanted, amount, position)
    )


def _shortfall(record: SyncRecord, wanted, amount, position: values.CreditPosition) -> str:
    """Why less than the credit note's total was allocated ("" when all of it was)."""
    if amount >= wanted:
        return ""
    invoice = record.invoice.credited_invoice.number
    if position.remaining_credit < wanted and position.remaining_credit <= position.amount_due:
        reason = (
            f"the credit note had {position.remaining_credit:,.2f} of credit left in Xero "
            "(part of it was allocated or refunded there)"
        )
    else:
        reason = f"invoice {invoice} had {position.amount_due:,.2f} left to pay in Xero"
    return f"Allocated {amount:,.2f} of {wanted:,.2f} to invoice {invoice}: {reason}."
