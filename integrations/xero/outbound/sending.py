"""Issued documents to Xero, exactly once, in batches of up to 50.

A round claims waiting records with a conditional UPDATE (no lock is held across calls to Xero),
checks what Xero would refuse before sending, resolves contacts in bulk, sends one batch and applies
each element's answer to its own document. An attempt whose outcome is unknown (timeout, 5xx, a
worker killed mid-call) is marked so: the next attempt first looks its numbers up in Xero.
"""

import datetime
import logging
import random
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import BillingAccount, Invoice

from integrations.xero.api import values
from integrations.xero.outbound import contacts
from integrations.xero.outbound import sync_exceptions
from integrations.xero.link import linking
from integrations.xero.outbound import mapping
from integrations.xero.inbound import inbox
from integrations.xero.api.errors import Paused, XeroError, XeroNeedsRelink, XeroRateLimited, XeroRejected
from integrations.xero.models import ContactLink, SyncAttempt, SyncRecord, XeroConnection
from integrations.xero.link.tokens import connection_mark_needs_relink
from integrations.xero.api.xero_api import XeroApi

logger = logging.getLogger(__name__)
State = SyncRecord.State
BATCH_SIZE = 50
CLAIM_TRIES = 3
DUPLICATE_NUMBER = "must be unique"


def record_issued(*, invoice: Invoice) -> SyncRecord:
    """The outbox row, written in the transaction that issues the document."""
    return SyncRecord.objects.create(invoice=invoice, next_attempt_at=timezone.now())


def push_round(*, now: datetime.datetime | None = None) -> int:
    """Send one batch of waiting documents; return how many were handled (0: nothing to do, or paused)."""
    connection = XeroConnection.objects.current()
    if connection is None or connection.status != XeroConnection.Status.ACTIVE:
        return 0  # not linked, or waiting for a re-link: documents keep waiting
    for credit_notes in (False, True):
        records = _claim(credit_notes=credit_notes, now=now or timezone.now())
        if records:
            _push(connection, records)
            return len(records)
    return allocate_credit_notes(connection=connection)


def allocate_credit_notes(*, connection: XeroConnection) -> int:
    """Apply sent credit notes to the invoices they credit, once both are in Xero (at most the amount due)."""
    waiting = SyncRecord.objects.filter(
        state=State.SENT, allocated_amount__isnull=True, allocation_error="",
        invoice__kind=Invoice.Kind.CREDIT_NOTE, invoice__credited_invoice__xero_sync__state=State.SENT,
        tenant_id=connection.tenant_id,
    ).select_related("invoice__credited_invoice__xero_sync")[:BATCH_SIZE]
    done = 0
    for record in waiting:
        if not _lease_allocation(record):
            continue  # another worker is allocating it
        try:
            _allocate(connection, record)
            done += 1
        except XeroError as error:
            if not error.permanent or error.needs_relink:
                break  # nothing wrong with the allocation: tried again on a later round, or once linked again
            refusal = f"{error.message} {error.details or ''}".strip() if isinstance(error, XeroRejected) else error.message
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
    return bool(SyncRecord.objects.filter(free, pk=record.pk, allocated_amount__isnull=True).update(claimed_until=lease))


def _allocate(connection: XeroConnection, record: SyncRecord) -> None:
    api = XeroApi(connection)
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
        api.allocate_credit_note(credit_note_id=str(record.xero_id), invoice_id=invoice_id, amount=amount,
                                 date=record.invoice.issue_date)
    SyncRecord.objects.filter(pk=record.pk).update(
        allocated_amount=amount, allocation_note=_shortfall(record, wanted, amount, position)
    )


def _shortfall(record: SyncRecord, wanted, amount, position: values.CreditPosition) -> str:
    """Why less than the credit note's total was allocated ("" when all of it was)."""
    if amount >= wanted:
        return ""
    invoice = record.invoice.credited_invoice.number
    if position.remaining_credit < wanted and position.remaining_credit <= position.amount_due:
        reason = (f"the credit note had {position.remaining_credit:,.2f} of credit left in Xero "
                  "(part of it was allocated or refunded there)")
    else:
        reason = f"invoice {invoice} had {position.amount_due:,.2f} left to pay in Xero"
    return f"Allocated {amount:,.2f} of {wanted:,.2f} to invoice {invoice}: {reason}."


def release_stale_claims(*, now: datetime.datetime | None = None) -> int:
    """Claims whose worker died: back to waiting, with their outcome unknown (Xero may have them)."""
    return SyncRecord.objects.filter(state=State.SENDING, claimed_until__lt=now or timezone.now()).update(
        state=State.WAITING, outcome_unknown=True, next_attempt_at=now or timezone.now()
    )


def _claim(*, credit_notes: bool, now: datetime.datetime) -> list[SyncRecord]:
    """Up to a batch of due records, taken for this worker alone (rows another worker is taking are
    skipped, not waited for; a worker that still loses the race looks again rather than going idle)."""
    kind = Invoice.Kind.CREDIT_NOTE if credit_notes else Invoice.Kind.INVOICE
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    token = uuid.uuid4().hex
    for _ in range(CLAIM_TRIES):
        with transaction.atomic():
            candidates = list(
                SyncRecord.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(due, state=State.WAITING, invoice__kind=kind)
                .order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE]
            )
            if not candidates:
                return []
            claimed = SyncRecord.objects.filter(pk__in=candidates, state=State.WAITING).update(
                state=State.SENDING, claim_token=token, attempts=F("attempts") + 1,
                claimed_until=now + datetime.timedelta(seconds=settings.XERO_SYNC_CLAIM_SECONDS),
            )
        if claimed:
            break
    return list(
        SyncRecord.objects.filter(claim_token=token, state=State.SENDING)
        .select_related("invoice__billing_account").prefetch_related("invoice__lines__rate", "invoice__lines__tax_rate")
    )


def _push(connection: XeroConnection, claimed: list[SyncRecord]) -> None:
    started = timezone.now()
    records, status, deferred = claimed, None, False
    api = XeroApi(connection)
    try:
        records = _settle_unknown_outcomes(api, records)
        sendable = _prepare(api, records)
        if sendable:
            answers = api.create_documents([document for _, document in sendable])
            status = 200
            _apply(api, [record for record, _ in sendable], answers)
    except Paused as pause:
        deferred = True
        _release(records, delay=(pause.until - timezone.now()).total_seconds(), outcome_unknown=False, error=pause.reason)
    except XeroRateLimited as error:
        status, deferred = error.status, True
        _release(records, delay=error.retry_after, outcome_unknown=False)
    except XeroNeedsRelink as error:
        status, deferred = error.status, True
        if error.status in (401, 403):  # Xero's answer to a call (a refused refresh is marked where it failed)
            connection_mark_needs_relink(connection=connection, reason=error.message)
        _release(records, delay=0, outcome_unknown=False)  # paused until someone links again
    except XeroRejected as error:
        status = error.status
        for record in records:
            _fail(record, f"Xero refused the batch: {error.message} {error.details or ''}".strip())
    except XeroError as error:
        status = error.status
        logger.warning("Sending %d documents to Xero failed (%s); they will be retried", len(records), error.message)
        _release(records, delay=_backoff(records), outcome_unknown=True, error=error.message, failing=True)
    else:
        XeroConnection.objects.filter(pk=connection.pk).update(last_success_at=timezone.now())
    finally:
        _log_attempts(claimed, started=started, http_status=status, deferred=deferred)


def _log_attempts(records: list[SyncRecord], *, started: datetime.datetime, http_status: int | None, deferred: bool) -> None:
    """One line per document in its attempt history, read from where the attempt left it. `deferred`:
    put off by Xero's limits or the link, not failed."""
    duration = int((timezone.now() - started).total_seconds() * 1000)
    outcomes = SyncRecord.objects.filter(pk__in=[r.pk for r in records]).values("pk", "state", "error", "clash_xero_id")
    SyncAttempt.objects.bulk_create([
        SyncAttempt(record_id=row["pk"], started_at=started, duration_ms=duration, http_status=http_status,
                    outcome=_outcome(row, http_status, deferred), message=row["error"] if row["state"] != State.SENT else "")
        for row in outcomes
    ])


def _outcome(row: dict, http_status: int | None, deferred: bool) -> str:
    Outcome = SyncAttempt.Outcome
    if row["state"] == State.SENT:
        return Outcome.SENT if http_status == 200 else Outcome.FOUND
    if row["state"] == State.FAILED:
        return Outcome.CLASH if row["clash_xero_id"] else Outcome.REFUSED
    return Outcome.DEFERRED if deferred else Outcome.RETRYING


def _settle_unknown_outcomes(api: XeroApi, records: list[SyncRecord]) -> list[SyncRecord]:
    """Documents an earlier attempt may have created: those Xero holds are marked sent, those whose number
    Xero holds on another document fail as a clash for a person to resolve; the rest are returned."""
    unsure = [record for record in records if record.outcome_unknown]
    if not unsure:
        return records
    credit_notes = unsure[0].invoice.is_credit_note
    found = api.find_documents([r.invoice.number for r in unsure], credit_notes=credit_notes)
    ours, clashes = _ours_and_clashes(api.tenant_id, unsure, found.items)
    states = _states_now(api, list(ours.values()), credit_notes=credit_notes)
    for record, document in ours.items():
        _succeed(record, values.DocumentIn(number=document.number, xero_id=document.xero_id, status=document.status,
                                           total=document.total), api.tenant_id)
        if document.xero_id in states:
            inbox.apply_state(record_id=record.pk, state=states[document.xero_id], source=SyncRecord.StatusSource.RECONCILIATION)
    for record, document in clashes.items():
        _fail_clash(record, document)
    settled = set(ours) | set(clashes)
    return [record for record in records if record not in settled]


def _ours_and_clashes(tenant_id, records, found: list[values.DocumentFound]) -> tuple[dict, dict]:
    """Of the documents found under these records' numbers, which is each record's own (a sales document
    of its type, to its contact, of its total and date) and which record's number another sales document
    holds. Supplier bills and credit notes (ACCPAY, ACCPAYCREDIT) share numbers freely: never ours, never a clash."""
    contacts = dict(
        ContactLink.objects.filter(tenant_id=tenant_id, billing_account__in=[r.invoice.billing_account_id for r in records])
        .values_list("billing_account_id", "contact_id")
    )
    ours, clashes = {}, {}
    for record in records:
        invoice = record.invoice
        kind = "ACCRECCREDIT" if invoice.is_credit_note else "ACCREC"
        namesakes = [d for d in found if d.type == kind and d.number.casefold() == invoice.number.casefold()]
        contact = contacts.get(invoice.billing_account_id)
        own = [d for d in namesakes if contact is not None and _is_this_document(d, invoice, str(contact))]
        if own:
            ours[record] = own[0]
        elif namesakes:
            clashes[record] = namesakes[0]
    return ours, clashes


def _is_this_document(found: values.DocumentFound, invoice: Invoice, contact_id: str) -> bool:
    # Xero may round tax per line where the platform rounds it otherwise: a cent a line either way.
    tolerance = Decimal("0.01") * max(1, invoice.lines.count())
    return (
        found.contact_id.lower() == contact_id.lower() and found.date == invoice.issue_date
        and found.total is not None and abs(found.total - invoice.total) <= tolerance
    )


def _fail_clash(record: SyncRecord, document: values.DocumentFound) -> None:
    noun = "credit note" if document.type == "ACCRECCREDIT" else "invoice"
    total = "no total" if document.total is None else f"{document.total:,.2f}"
    dated = f"dated {document.date:%Y-%m-%d}" if document.date else "undated"
    message = (
        f"Not sent: Xero already holds a sales {noun} numbered {document.number} that the platform did not send — "
        f"to {document.contact_name or 'an unnamed contact'}, {total}, {dated}, {document.status} in Xero. "
        f"Xero keeps {noun} numbers unique, so this {noun} cannot go across under its number. "
        f"If that {noun} was entered in Xero by hand for this same sale, press “This is ours — link it”; "
        f"otherwise change that {noun}'s number in Xero (or void it there and give it another), then retry."
    )
    _mine(record).update(clash_xero_id=document.xero_id)
    _fail(record, message, keep_clash=True)


def _states_now(api: XeroApi, answers, *, credit_notes: bool) -> dict:
    """What Xero says now of documents found after an attempt whose outcome was unknown: they may have
    been paid or voided meanwhile, and the webhook saying so ignored (the platform did not know yet that
    it had sent them). Read before they are marked sent, so that a failed read leaves them to be settled
    again, read and all."""
    if not answers:
        return {}
    ids = [str(answer.xero_id) for answer in answers]
    states = api.read_states("CREDITNOTE" if credit_notes else "INVOICE", ids)
    by_id = {uuid.UUID(state.xero_id): state for state in states}
    found = {answer.xero_id: by_id.get(uuid.UUID(answer.xero_id)) for answer in answers}
    return {xero_id: state for xero_id, state in found.items() if state is not None}


def _prepare(api: XeroApi, records: list[SyncRecord]) -> list[tuple[SyncRecord, values.DocumentOut]]:
    """The documents Xero should accept, with their contacts; the others fail with what to fix."""
    connection = api.connection
    _refresh_reference_data_if_stale(connection)
    checked = []
    for record in records:
        problems = mapping.code_problems(record.invoice, accounts=connection.chart_of_accounts, tax_rates=connection.tax_rates)
        if problems:
            _fail(record, "Not sent: " + " ".join(p[0].upper() + p[1:] for p in problems))
        else:
            checked.append(record)
    accounts = list({record.invoice.billing_account_id: record.invoice.billing_account for record in checked}.values())
    contact_ids, problems = contacts.resolve(
        api=api, accounts=accounts,
        more_to_resolve=lambda exclude, limit: _unlinked_accounts_waiting(connection, exclude=exclude, limit=limit),
    )
    sendable = []
    for record in checked:
        account_id = record.invoice.billing_account_id
        if account_id in problems:
            _fail(record, problems[account_id])
        else:
            sendable.append((record, mapping.document_out(record.invoice, contact_id=contact_ids[account_id])))
    return sendable


def _unlinked_accounts_waiting(connection, *, exclude, limit) -> list[BillingAccount]:
    """Other waiting (or claimed) documents' billing accounts with no known contact yet: resolving them
    along with this batch's (in the same bulk calls) saves later batches a lookup and a create each."""
    if limit <= 0:
        return []
    linked = ContactLink.objects.filter(tenant_id=connection.tenant_id).values("billing_account_id")
    return list(
        BillingAccount.objects.filter(invoices__xero_sync__state__in=[State.WAITING, State.SENDING])
        .exclude(pk__in=[account.pk for account in exclude]).exclude(pk__in=linked)
        .distinct().order_by("pk")[:limit]
    )


def _refresh_reference_data_if_stale(connection: XeroConnection) -> None:
    loaded = connection.reference_data_loaded_at
    if loaded is None or timezone.now() - loaded > datetime.timedelta(seconds=settings.XERO_REFERENCE_DATA_SECONDS):
        linking.reference_data_load(connection=connection)
        connection.refresh_from_db()


def _apply(api: XeroApi, records: list[SyncRecord], answers: list[values.DocumentIn]) -> None:
    by_number = {answer.number: answer for answer in answers}
    already_there = []
    for record in records:
        answer = by_number.get(record.invoice.number)
        if answer is None:
            _release([record], delay=_backoff([record]), outcome_unknown=True, error="Xero's answer left this document out.",
                     failing=True)
        elif answer.ok:
            _succeed(record, answer, api.tenant_id)
        elif any(DUPLICATE_NUMBER in message for message in answer.messages):
            already_there.append(record)  # an earlier attempt got through after all
        else:
            _fail(record, "Xero refused it: " + " ".join(answer.messages))
    if already_there:
        SyncRecord.objects.filter(pk__in=[r.pk for r in already_there]).update(outcome_unknown=True)
        for record in already_there:
            record.outcome_unknown = True
        for record in _settle_unknown_outcomes(api, already_there):
            _fail(record, f"Xero says number {record.invoice.number} is taken, by a document the platform did not send.")


def _succeed(record: SyncRecord, answer: values.DocumentIn, tenant_id: str) -> None:
    # A success resolves the document's sync exception, if it had one.
    _mine(record).update(
        first_failed_at=None, last_failed_at=None, acknowledged_by=None, acknowledged_at=None,
        retrying_since=None, clash_xero_id=None,
        state=State.SENT, xero_id=answer.xero_id, xero_number=answer.number, xero_status=answer.status,
        xero_total=answer.total, tenant_id=tenant_id, sent_at=timezone.now(), error="",
        outcome_unknown=False, claimed_until=None,
    )


def _fail(record: SyncRecord, message: str, *, keep_clash: bool = False) -> None:
    now = timezone.now()
    update = {"clash_xero_id": None} if not keep_clash else {}
    _mine(record).update(
        state=State.FAILED, error=message, claimed_until=None, outcome_unknown=False, last_failed_at=now,
        first_failed_at=Coalesce("first_failed_at", Value(now)), acknowledged_by=None, acknowledged_at=None,
        retrying_since=None, **update,
    )


def _release(records, *, delay: float, outcome_unknown: bool, error: str = "", failing: bool = False) -> None:
    """Back to waiting. `failing`: for a reason that passes, counted towards "still failing — retrying"."""
    update = {"state": State.WAITING, "claimed_until": None, "error": error,
              "next_attempt_at": timezone.now() + datetime.timedelta(seconds=delay)}
    if outcome_unknown:
        update["outcome_unknown"] = True
    if failing:
        update["retrying_since"] = Coalesce("retrying_since", Value(timezone.now()))
    SyncRecord.objects.filter(
        pk__in=[r.pk for r in records], claim_token__in={r.claim_token for r in records}, state=State.SENDING
    ).update(**update)


def _mine(record: SyncRecord):
    """The record, only while this worker's claim on it stands (a lapsed claim may be someone else's now)."""
    return SyncRecord.objects.filter(pk=record.pk, claim_token=record.claim_token)


def _backoff(records) -> float:
    """Exponential back-off with jitter, capped at 15 minutes."""
    attempts = max(record.attempts for record in records)
    return min(900.0, 5.0 * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
