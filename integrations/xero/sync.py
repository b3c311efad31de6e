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

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import BillingAccount, Invoice

from . import client, contacts, linking, mapping, pacing, statuses
from .errors import XeroError, XeroNeedsRelink, XeroRateLimited, XeroRejected
from .models import ContactLink, SyncRecord, XeroConnection
from .tokens import access_token_for

logger = logging.getLogger(__name__)
State = SyncRecord.State
BATCH_SIZE = 50
CLAIM_TRIES = 3
DUPLICATE_NUMBER = "must be unique"


def record_issued(*, invoice: Invoice) -> SyncRecord:
    """The outbox row, written in the transaction that issues the document."""
    return SyncRecord.objects.create(invoice=invoice, next_attempt_at=timezone.now())


def acknowledge(*, record: SyncRecord, user) -> None:
    """A person has seen the sync exception (it stays listed until the document is sent)."""
    SyncRecord.objects.filter(pk=record.pk, state=State.FAILED).update(acknowledged_by=user, acknowledged_at=timezone.now())


def retry(*, record: SyncRecord) -> None:
    """A person fixed the cause of a failure: send the document again."""
    SyncRecord.objects.filter(pk=record.pk, state=State.FAILED).update(
        state=State.WAITING, next_attempt_at=timezone.now(), error=""
    )


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
        try:
            _allocate(connection, record)
            done += 1
        except (pacing.Paused, XeroNeedsRelink):
            break  # nothing wrong with the allocation: tried again once sending resumes
        except XeroError as error:
            if not error.permanent:
                break  # tried again on a later round
            refusal = f"{error.message} {error.details or ''}".strip() if isinstance(error, XeroRejected) else error.message
            SyncRecord.objects.filter(pk=record.pk).update(allocation_error=refusal)
    return done


def _allocate(connection: XeroConnection, record: SyncRecord) -> None:
    tenant_id, token = str(connection.tenant_id), access_token_for(connection)
    invoice_id = str(record.invoice.credited_invoice.xero_sync.xero_id)
    with pacing.call(tenant_id):
        position = client.invoice_credit_position(
            access_token=token, tenant_id=tenant_id, invoice_id=invoice_id, credit_note_id=str(record.xero_id)
        )
    if position.applied_from_credit_note:
        # An earlier attempt whose outcome was unknown got through: never allocate twice (nor re-send
        # its Idempotency-Key with an amount computed from the smaller amount due it left).
        SyncRecord.objects.filter(pk=record.pk).update(allocated_amount=position.applied_from_credit_note)
        return
    amount = min(record.xero_total or record.invoice.total, position.amount_due)
    if amount > 0:
        with pacing.call(tenant_id):
            client.allocate_credit_note(
                access_token=token, tenant_id=tenant_id, credit_note_id=str(record.xero_id), invoice_id=invoice_id,
                amount=amount, date=record.invoice.issue_date, idempotency_key=f"cocoonops-allocation-{record.pk}",
            )
    SyncRecord.objects.filter(pk=record.pk).update(allocated_amount=amount)


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


def _push(connection: XeroConnection, records: list[SyncRecord]) -> None:
    tenant_id = str(connection.tenant_id)
    try:
        token = access_token_for(connection)
        records = _settle_unknown_outcomes(token, tenant_id, records)
        sendable = _prepare(connection, token, records)
        if sendable:
            with pacing.call(tenant_id):
                answers = client.create_documents(
                    access_token=token, tenant_id=tenant_id, idempotency_key=f"cocoonops-{records[0].claim_token}",
                    documents=[document for _, document in sendable],
                )
            _apply(token, tenant_id, [record for record, _ in sendable], answers)
    except pacing.Paused as pause:
        _release(records, delay=(pause.until - timezone.now()).total_seconds(), outcome_unknown=False, error=pause.reason)
    except XeroRateLimited as error:
        _release(records, delay=error.retry_after, outcome_unknown=False)
    except XeroNeedsRelink:
        _release(records, delay=0, outcome_unknown=False)  # paused until someone links again
    except XeroRejected as error:
        for record in records:
            _fail(record, f"Xero refused the batch: {error.message} {error.details or ''}".strip())
    except XeroError as error:
        logger.warning("Sending %d documents to Xero failed (%s); they will be retried", len(records), error.message)
        _release(records, delay=_backoff(records), outcome_unknown=True, error=error.message)
    else:
        XeroConnection.objects.filter(pk=connection.pk).update(last_success_at=timezone.now())


def _settle_unknown_outcomes(token, tenant_id, records) -> list[SyncRecord]:
    """Documents an earlier attempt may have created: mark those found in Xero as sent; return the rest."""
    unsure = [record for record in records if record.outcome_unknown]
    if not unsure:
        return records
    credit_notes = unsure[0].invoice.is_credit_note
    with pacing.call(tenant_id):
        looked_up = client.find_documents(
            access_token=token, tenant_id=tenant_id, numbers=[r.invoice.number for r in unsure], credit_notes=credit_notes
        )
    found = {d.number: d for d in looked_up}
    settled = [(record, found[record.invoice.number]) for record in unsure if record.invoice.number in found]
    states = _states_now(token, tenant_id, [answer for _, answer in settled], credit_notes=credit_notes)
    for record, answer in settled:
        _succeed(record, answer, tenant_id)
        if answer.xero_id in states:
            statuses.apply_state(record_id=record.pk, state=states[answer.xero_id], source=SyncRecord.StatusSource.RECONCILIATION)
    return [record for record in records if record.invoice.number not in found]


def _states_now(token, tenant_id, answers, *, credit_notes: bool) -> dict:
    """What Xero says now of documents found after an attempt whose outcome was unknown: they may have
    been paid or voided meanwhile, and the webhook saying so ignored (the platform did not know yet that
    it had sent them). Read before they are marked sent, so that a failed read leaves them to be settled
    again, read and all."""
    if not answers:
        return {}
    ids = [str(answer.xero_id) for answer in answers]
    states = statuses.read_states(token, tenant_id, "CREDITNOTE" if credit_notes else "INVOICE", ids)
    by_id = {uuid.UUID(state.xero_id): state for state in states}
    found = {answer.xero_id: by_id.get(uuid.UUID(answer.xero_id)) for answer in answers}
    return {xero_id: state for xero_id, state in found.items() if state is not None}


def _prepare(connection, token, records) -> list[tuple[SyncRecord, client.DocumentOut]]:
    """The documents Xero should accept, with their contacts; the others fail with what to fix."""
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
        access_token=token, tenant_id=str(connection.tenant_id), accounts=accounts,
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


def _apply(token, tenant_id, records, answers) -> None:
    by_number = {answer.number: answer for answer in answers}
    already_there = []
    for record in records:
        answer = by_number.get(record.invoice.number)
        if answer is None:
            _release([record], delay=_backoff([record]), outcome_unknown=True, error="Xero's answer left this document out.")
        elif answer.ok:
            _succeed(record, answer, tenant_id)
        elif any(DUPLICATE_NUMBER in message for message in answer.messages):
            already_there.append(record)  # an earlier attempt got through after all
        else:
            _fail(record, "Xero refused it: " + " ".join(answer.messages))
    if already_there:
        SyncRecord.objects.filter(pk__in=[r.pk for r in already_there]).update(outcome_unknown=True)
        for record in already_there:
            record.outcome_unknown = True
        for record in _settle_unknown_outcomes(token, tenant_id, already_there):
            _fail(record, f"Xero says number {record.invoice.number} is taken, by a document the platform did not send.")


def _succeed(record: SyncRecord, answer: client.DocumentIn, tenant_id: str) -> None:
    # A success resolves the document's sync exception, if it had one.
    _mine(record).update(
        first_failed_at=None, last_failed_at=None, acknowledged_by=None, acknowledged_at=None,
        state=State.SENT, xero_id=answer.xero_id, xero_number=answer.number, xero_status=answer.status,
        xero_total=answer.total, tenant_id=tenant_id, sent_at=timezone.now(), error="",
        outcome_unknown=False, claimed_until=None,
    )


def _fail(record: SyncRecord, message: str) -> None:
    now = timezone.now()
    _mine(record).update(
        state=State.FAILED, error=message, claimed_until=None, outcome_unknown=False, last_failed_at=now,
        first_failed_at=Coalesce("first_failed_at", Value(now)), acknowledged_by=None, acknowledged_at=None,
    )


def _release(records, *, delay: float, outcome_unknown: bool, error: str = "") -> None:
    update = {"state": State.WAITING, "claimed_until": None, "error": error,
              "next_attempt_at": timezone.now() + datetime.timedelta(seconds=delay)}
    if outcome_unknown:
        update["outcome_unknown"] = True
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
