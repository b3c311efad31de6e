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
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from billing.models import BillingAccount, Invoice
from integrations.xero.api import pacing, values
from integrations.xero.api.errors import Paused, XeroError, XeroNeedsRelink, XeroRateLimited, XeroRejected
from integrations.xero.api.xero_api import XeroApi, xero_api_for
from integrations.xero.inbound import inbox
from integrations.xero.link import linking
from integrations.xero.link.tokens import connection_mark_needs_relink
from integrations.xero.models import CallPace, ContactLink, SyncAttempt, SyncRecord, XeroConnection
from integrations.xero.monitoring import tallies
from integrations.xero.outbound import allocations, branding, contacts, mapping, matching, pdfs

logger = logging.getLogger(__name__)
State = SyncRecord.State
BATCH_SIZE = 50
CLAIM_TRIES = 3
DUPLICATE_NUMBER = "must be unique"
# Invoices are sent before credit notes (a batch is of one kind: Xero takes them on separate endpoints).
CREDIT_NOTES_LAST = Case(When(invoice__kind=Invoice.Kind.CREDIT_NOTE, then=Value(1)), default=Value(0))
# Earlier documents sent on request (backfill.py) go after newly issued ones: a backlog of 20,000 never
# holds back today's invoices.
EARLIER_LAST = Case(When(backfill__isnull=False, then=Value(1)), default=Value(0))


def sync_record_create(*, invoice: Invoice) -> SyncRecord:
    """The outbox row, written in the transaction that issues the document."""
    return SyncRecord.objects.create(invoice=invoice, next_attempt_at=timezone.now())


def sync_round_push(*, now: datetime.datetime | None = None) -> int:
    """Send one batch of waiting documents of one company, to its organisation; return how many were handled
    (0: nothing to do, or paused). Only companies with an active link are served: the documents of one not
    linked, or waiting for a re-link, keep waiting. With nothing to send, sent credit notes are allocated."""
    connection, records = _claim(now=now or timezone.now())
    if records:
        _push(connection, records)
        return len(records)
    return allocations.credit_notes_allocate_due()


def sync_claims_release_stale(*, now: datetime.datetime | None = None) -> int:
    """Claims whose worker died: back to waiting, with their outcome unknown (Xero may have them)."""
    return SyncRecord.objects.filter(state=State.SENDING, claimed_until__lt=now or timezone.now()).update(
        state=State.WAITING, outcome_unknown=True, next_attempt_at=now or timezone.now()
    )


def _claim(*, now: datetime.datetime) -> tuple[XeroConnection | None, list[SyncRecord]]:
    """Up to a batch of due records of one company, taken for this worker alone, with that company's link
    (a worker that loses the race for them looks again rather than going idle)."""
    token = uuid.uuid4().hex
    for _ in range(CLAIM_TRIES):
        with transaction.atomic():
            connection, candidates = _next_batch(now)
            if connection is None:
                return None, []
            claimed = SyncRecord.objects.filter(pk__in=candidates, state=State.WAITING).update(
                state=State.SENDING,
                claim_token=token,
                attempts=F("attempts") + 1,
                claimed_until=now + datetime.timedelta(seconds=settings.XERO_SYNC_CLAIM_SECONDS),
            )
        if claimed:
            break
    records = list(
        SyncRecord.objects.filter(claim_token=token, state=State.SENDING)
        .select_related("invoice__billing_account", "invoice__branch")
        .prefetch_related("invoice__lines__rate__company_codes", "invoice__lines__tax_rate")
    )
    return connection, records


def _next_batch(now: datetime.datetime) -> tuple[XeroConnection | None, list[int]]:
    """The organisation whose turn it is (`_next_turn`), and its oldest due documents of one kind (newly issued
    before earlier ones sent on request, invoices before credit notes), up to a batch. Rows another worker is
    taking are skipped, not waited for."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    connection = _next_turn(SyncRecord.objects.filter(due, state=State.WAITING), now)
    if connection is None:
        return None, []
    waiting = SyncRecord.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        due, state=State.WAITING, invoice__company_id=connection.company_id
    )
    # The record's own pk among the columns: without it Django drops `OF`, and the invoice rows would be locked too.
    oldest = waiting.order_by(EARLIER_LAST, CREDIT_NOTES_LAST, "pk").values_list("pk", "invoice__kind", "backfill")
    oldest = oldest.first()
    if oldest is None:
        return None, []  # another worker took them meanwhile
    XeroConnection.objects.filter(pk=connection.pk).update(last_turn_at=now)
    batch = waiting.filter(invoice__kind=oldest[1], backfill__isnull=oldest[2] is None).order_by("pk")
    return connection, list(batch.values_list("pk", flat=True)[:BATCH_SIZE])


def _next_turn(waiting, now: datetime.datetime) -> XeroConnection | None:
    """Organisations with work take turns: among the active links with due documents and nothing holding their
    sends (a pause of theirs, or of the whole app after Xero's app-wide 429, or the day's reserve: pacing.py),
    one whose next call slot is free now, the least recently served first (never served before all); when every
    one is busy, the one free soonest. One query, whose cost grows with the organisations that have work, not
    with those linked and idle (each one's pace is its row, by its unique tenant id); a big backlog in one never
    holds back another's few documents, nor does one whose sends are held take turns it cannot use."""
    pace = CallPace.objects.filter(tenant_id=OuterRef("tenant_id"))
    free_at = Greatest(
        Coalesce(Subquery(pace.values("next_call_at")[:1]), Value(now)), Value(now), output_field=DateTimeField()
    )
    held = pace.annotate(day_reserve_until=pacing.day_reserve_until(pacing.Purpose.SEND)).filter(
        Q(paused_until__gt=now) | Q(day_reserve_until__gt=now)
    )
    return (
        XeroConnection.objects.active()
        .filter(company_id__in=waiting.values("invoice__company_id"))
        .exclude(Exists(held))
        .exclude(Exists(CallPace.objects.filter(tenant_id=CallPace.APP_TENANT_ID, paused_until__gt=now)))
        .annotate(free_at=free_at)
        .order_by("free_at", F("last_turn_at").asc(nulls_first=True), "pk")
        .first()
    )


def _push(connection: XeroConnection, claimed: list[SyncRecord]) -> None:
    started = timezone.now()
    records, status, deferred = claimed, None, False
    api = xero_api_for(connection)
    try:
        records = _settle_unknown_outcomes(api, records)
        sendable = _prepare(api, records)
        if sendable:
            answers = api.create_documents([document for _, document in sendable])
            status = 200
            _apply(api, [record for record, _ in sendable], answers)
    except Paused as pause:
        deferred = True
        _release(
            records, delay=(pause.until - timezone.now()).total_seconds(), outcome_unknown=False, error=pause.reason
        )
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
    finally:
        _log_attempts(claimed, connection, started=started, http_status=status, deferred=deferred)


def _log_attempts(
    records: list[SyncRecord],
    connection: XeroConnection,
    *,
    started: datetime.datetime,
    http_status: int | None,
    deferred: bool,
) -> None:
    """One line per document in its attempt history, read from where the attempt left it. `deferred`:
    put off by Xero's limits or the link, not failed."""
    duration = int((timezone.now() - started).total_seconds() * 1000)
    outcomes = SyncRecord.objects.filter(pk__in=[r.pk for r in records]).values("pk", "state", "error", "clash_xero_id")
    found = {record.pk for record in records if getattr(record, "found_in_xero", False)}
    attempts = SyncAttempt.objects.bulk_create(
        [
            SyncAttempt(
                record_id=row["pk"],
                started_at=started,
                duration_ms=duration,
                http_status=http_status,
                outcome=SyncAttempt.Outcome.FOUND if row["pk"] in found else _outcome(row, http_status, deferred),
                message=row["error"] if row["state"] != State.SENT else "",
            )
            for row in outcomes
        ]
    )
    _attempts_tally(records, attempts, str(connection.tenant_id))


def _attempts_tally(records: list[SyncRecord], attempts: list[SyncAttempt], tenant_id: str) -> None:
    """The documents sent and failed, by kind, added to /metrics' counters (one write per kind and outcome),
    and logged: a line per failure, one for those sent (JSON logs carry the documents' and organisation's ids)."""
    invoices = {record.pk: record.invoice for record in records}
    Outcome, counted, sent = SyncAttempt.Outcome, Counter(), []
    for attempt in attempts:
        invoice = invoices[attempt.record_id]
        if attempt.outcome in (Outcome.SENT, Outcome.FOUND):
            counted[tallies.DOCUMENTS_SENT, invoice.kind] += 1
            sent.append(invoice.pk)
        elif attempt.outcome in (Outcome.REFUSED, Outcome.CLASH):
            counted[tallies.DOCUMENTS_FAILED, invoice.kind] += 1
            logger.warning(
                "%s %s did not reach Xero: %s",
                invoice.get_kind_display(),
                invoice.number,
                attempt.message,
                extra={"document_id": invoice.pk, "organisation_id": tenant_id},
            )
    for (name, kind), amount in counted.items():
        tallies.tally_add(name, amount, kind=kind)
    if sent:
        logger.info("%d documents are in Xero", len(sent), extra={"document_ids": sent, "organisation_id": tenant_id})


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
    _contacts_resolve_for_namesakes(api, unsure, found.items)
    ours, clashes = matching.ours_and_clashes(api.tenant_id, unsure, found.items)
    states = _states_now(api, list(ours.values()), credit_notes=credit_notes)
    for record, document in ours.items():
        record.found_in_xero = True  # for its attempt's line: found, not sent (others of the batch may be sent)
        _succeed(
            record,
            values.DocumentIn(
                number=document.number, xero_id=document.xero_id, status=document.status, total=document.total
            ),
            api.tenant_id,
        )
        if document.xero_id in states:
            inbox.document_state_apply(
                record_id=record.pk, state=states[document.xero_id], source=SyncRecord.StatusSource.RECONCILIATION
            )
    for record, document in clashes.items():
        _fail_clash(record, document)
    settled = set(ours) | set(clashes)
    return [record for record in records if record not in settled]


def _contacts_resolve_for_namesakes(api: XeroApi, records: list[SyncRecord], found: list) -> None:
    """A document Xero holds under a record's number is the record's own only if it is to the account's
    contact: resolve the contacts not known yet before judging (an earlier document sent on request may be a
    customer's first in this organisation, entered in Xero by hand before the link). Problems resolving are
    left for the sending to report."""
    accounts = {
        r.invoice.billing_account_id: r.invoice.billing_account for r in matching.with_namesakes(records, found)
    }
    if accounts:
        contacts.contacts_resolve(api=api, accounts=list(accounts.values()))


def _fail_clash(record: SyncRecord, document: values.DocumentFound) -> None:
    _mine(record).update(clash_xero_id=document.xero_id)
    _fail(record, matching.clash_message(document), keep_clash=True)


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
        problems = mapping.document_problems(record.invoice, connection=connection)
        if problems:
            _fail(record, "Not sent: " + " ".join(p[0].upper() + p[1:] for p in problems))
        else:
            checked.append(record)
    accounts = list({record.invoice.billing_account_id: record.invoice.billing_account for record in checked}.values())
    contact_ids, problems = contacts.contacts_resolve(
        api=api,
        accounts=accounts,
        more_to_resolve=lambda exclude, limit: _unlinked_accounts_waiting(connection, exclude=exclude, limit=limit),
    )
    themes = branding.theme_ids_for(connection, account_ids=[account.pk for account in accounts])
    sendable = []
    for record in checked:
        account_id = record.invoice.billing_account_id
        if account_id in problems:
            _fail(record, problems[account_id])
        else:
            document = mapping.document_out(
                record.invoice,
                contact_id=contact_ids[account_id],
                connection=connection,
                branding_theme_id=themes.get(account_id, ""),
            )
            sendable.append((record, document))
    return sendable


def _unlinked_accounts_waiting(connection, *, exclude, limit) -> list[BillingAccount]:
    """Other waiting (or claimed) documents' billing accounts with no known contact yet, among the documents
    of the connection's company (the others go to other organisations): resolving them along with this
    batch's (in the same bulk calls) saves later batches a lookup and a create each."""
    if limit <= 0:
        return []
    linked = ContactLink.objects.filter(tenant_id=connection.tenant_id).values("billing_account_id")
    return list(
        BillingAccount.objects.filter(  # one condition on one document: waiting, and its company's
            invoices__xero_sync__state__in=[State.WAITING, State.SENDING], invoices__company_id=connection.company_id
        )
        .exclude(pk__in=[account.pk for account in exclude])
        .exclude(pk__in=linked)
        .distinct()
        .order_by("pk")[:limit]
    )


def _refresh_reference_data_if_stale(connection: XeroConnection) -> None:
    if linking.reference_data_stale(connection):
        linking.reference_data_load(connection=connection)  # refreshes `connection` when read


def _apply(api: XeroApi, records: list[SyncRecord], answers: list[values.DocumentIn]) -> None:
    by_number = {answer.number: answer for answer in answers}
    already_there = []
    for record in records:
        answer = by_number.get(record.invoice.number)
        if answer is None:
            _release(
                [record],
                delay=_backoff([record]),
                outcome_unknown=True,
                error="Xero's answer left this document out.",
                failing=True,
            )
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
            _fail(
                record, f"Xero says number {record.invoice.number} is taken, by a document the platform did not send."
            )


def _succeed(record: SyncRecord, answer: values.DocumentIn, tenant_id: str) -> None:
    # A success resolves the document's sync exception, if it had one.
    succeeded = _mine(record).update(
        first_failed_at=None,
        last_failed_at=None,
        acknowledged_by=None,
        acknowledged_at=None,
        retrying_since=None,
        clash_xero_id=None,
        state=State.SENT,
        xero_id=answer.xero_id,
        xero_number=answer.number,
        xero_status=answer.status,
        xero_total=answer.total,
        tenant_id=tenant_id,
        sent_at=timezone.now(),
        error="",
        outcome_unknown=False,
        claimed_until=None,
    )
    if succeeded:
        pdfs.pdf_queue(record=record)


def _fail(record: SyncRecord, message: str, *, keep_clash: bool = False) -> None:
    now = timezone.now()
    update = {"clash_xero_id": None} if not keep_clash else {}
    _mine(record).update(
        state=State.FAILED,
        error=message,
        claimed_until=None,
        outcome_unknown=False,
        last_failed_at=now,
        first_failed_at=Coalesce("first_failed_at", Value(now)),
        acknowledged_by=None,
        acknowledged_at=None,
        retrying_since=None,
        **update,
    )


def _release(records, *, delay: float, outcome_unknown: bool, error: str = "", failing: bool = False) -> None:
    """Back to waiting. `failing`: for a reason that passes, counted towards "still failing — retrying"."""
    update = {
        "state": State.WAITING,
        "claimed_until": None,
        "error": error,
        "next_attempt_at": timezone.now() + datetime.timedelta(seconds=delay),
    }
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
