"""Statuses back from Xero: paid, voided, deleted, and back to issued when a payment is removed.

Webhook events only name documents. The events waiting in the inbox are claimed together, grouped by
organisation and category, and their documents read back in bulk — up to 50 a call — and applied
through billing's services. The reconciliation (`reconciliation.py`) applies its reads with `document_state_apply` too.

Xero promises neither order nor uniqueness: applying is idempotent, and a read whose UpdatedDateUTC is
not newer than the one last applied changes nothing, so a late, older read never moves a document back.
"""

import datetime
import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from billing import services as billing
from billing.models import Company, Invoice
from integrations.xero.api import values
from integrations.xero.api.errors import XeroError, XeroNeedsRelink
from integrations.xero.api.xero_api import xero_api_for
from integrations.xero.models import Reconciliation, SyncRecord, WebhookEvent, WebhookRejection, XeroConnection
from integrations.xero.monitoring import tallies

Event = WebhookEvent.State
Source = SyncRecord.StatusSource
STATUS_FROM_XERO = {
    "PAID": Invoice.Status.PAID,
    "VOIDED": Invoice.Status.VOIDED,
    "DELETED": Invoice.Status.DELETED,
    # Only ever a change for a paid document whose payment was removed in Xero; otherwise already issued.
    "AUTHORISED": Invoice.Status.ISSUED,
}
ROUND_SIZE = 1000  # events claimed at once: many deliveries' events share the same read-back calls
CLAIM_SECONDS = 300  # a worker that dies mid-round leaves its events to the next round after this
NOT_LINKED = "Not a Xero organisation linked to the platform."
NOT_OURS = "Not a document the platform sent to Xero."
UP_TO_DATE = "Already up to date: this change, or a newer one, was applied before."


@dataclass(frozen=True)
class Applied:
    note: str
    changed: bool = False  # the platform's status changed
    refused: bool = False  # billing does not allow the change (e.g. voided, then paid)


@dataclass
class Round:
    claimed: int = 0
    applied: int = 0
    ignored: int = 0
    changed: int = 0
    interrupted: bool = False  # Xero could not be read now; the events wait for a later round


def webhook_events_process(*, now: datetime.datetime | None = None) -> Round:
    """Claim the waiting events, read their documents back from Xero in bulk, each from the organisation the
    event names (with its own link), and apply them."""
    events = _claim(now or timezone.now())
    result = Round(claimed=len(events))
    groups = defaultdict(list)
    for event in events:
        groups[(event.tenant_id, event.category)].append(event)
    links = _live_links({tenant_id for tenant_id, _ in groups})
    for (tenant_id, category), group in groups.items():
        try:
            _process_group(links.get(tenant_id), tenant_id, category, group, result)
        except XeroError as failure:
            if failure.permanent and not failure.needs_relink:
                result.ignored += _finish(group, Event.IGNORED, f"Xero refused to read them: {failure.message}")
            else:
                _release(group)
                result.interrupted = True
    return result


def document_state_apply(*, record_id: int, state: values.DocumentState, source: str) -> Applied:
    """Apply what Xero says now of one document the platform sent, unless it is not newer than what was applied."""
    now = timezone.now()
    with transaction.atomic():
        record = SyncRecord.objects.select_for_update().select_related("invoice").get(pk=record_id)
        if _not_newer(record, state):
            return Applied(UP_TO_DATE)
        changed, refusal = _record_status(record.invoice, state)
        fields = {
            "xero_status": state.status,
            "amount_paid": state.amount_paid,
            "amount_due": state.amount_due,
            "xero_updated_at": state.updated_at,
            "updated_at": now,
        }
        if changed:
            fields |= {"status_source": source, "status_learned_at": now}
        SyncRecord.objects.filter(pk=record.pk).update(**fields)
    if refusal:
        return Applied(f"Xero says {state.status}, but {refusal}"[:255], refused=True)
    return Applied(_note(record.invoice, state, changed), changed=changed)


def document_states_read_back(*, record_ids: list[int]) -> int:
    """Read these sent documents' current state from Xero, each from the organisation it was sent to, and
    apply it; return how many changed status. Documents of an organisation no longer linked are left."""
    records = SyncRecord.objects.filter(pk__in=record_ids, state=SyncRecord.State.SENT).select_related("invoice")
    by_tenant = defaultdict(list)
    for record in records:
        by_tenant[record.tenant_id].append(record)
    links = _live_links(set(by_tenant))
    return sum(_read_back(links[tenant_id], sent) for tenant_id, sent in by_tenant.items() if tenant_id in links)


def _read_back(connection: XeroConnection, records: list[SyncRecord]) -> int:
    changed = 0
    for credit_notes in (False, True):
        group = {str(r.xero_id): r for r in records if r.invoice.is_credit_note == credit_notes}
        if not group:
            continue
        states = xero_api_for(connection).read_states("CREDITNOTE" if credit_notes else "INVOICE", list(group))
        for state in states:
            record = group.get(state.xero_id.lower())
            if record is not None:
                changed += document_state_apply(record_id=record.pk, state=state, source=Source.RECONCILIATION).changed
    return changed


def _live_links(tenant_ids: set) -> dict:
    """The live links to these organisations, by tenant id, in one query (none when there are none to look for)."""
    if not tenant_ids:
        return {}
    return {link.tenant_id: link for link in XeroConnection.objects.live().filter(tenant_id__in=tenant_ids)}


def receiver_health() -> dict:
    """For the Add Ons page: when the last event came, how each live link's last reconciliation went (its
    organisation and company named; `reconciliation`: the default company's), and the counts."""
    counts = dict(WebhookEvent.objects.values_list("state").annotate(n=Count("pk")).order_by())
    rejections = WebhookRejection.objects.aggregate(n=Count("pk"), last=Max("received_at"))
    last_event = WebhookEvent.objects.aggregate(last=Max("received_at"))["last"]
    links = _reconciliations()
    default = Company.objects.default().pk
    return {
        "last_event_at": max(filter(None, [last_event, rejections["last"]]), default=None),
        "applied": counts.get(Event.APPLIED, 0),
        "ignored": counts.get(Event.IGNORED, 0),
        "waiting": counts.get(Event.PENDING, 0) + counts.get(Event.PROCESSING, 0),
        "rejected": rejections["n"],
        "links": links,
        "reconciliation": next((link["reconciliation"] for link in links if link["company"].pk == default), None),
        "retention_days": settings.XERO_WEBHOOK_RETENTION_DAYS,
    }


def _reconciliations() -> list[dict]:
    """Each live link's organisation, company and reconciliation row (None before its first run), in two queries."""
    connections = list(XeroConnection.objects.live().select_related("company").order_by("company_id"))
    rows = Reconciliation.objects.filter(tenant_id__in=[c.tenant_id for c in connections])
    by_tenant = {row.tenant_id: row for row in rows}
    return [
        {"organisation": c.tenant_name, "company": c.company, "reconciliation": by_tenant.get(c.tenant_id)}
        for c in connections
    ]


def webhook_events_prune(*, now: datetime.datetime | None = None) -> int:
    """Forget applied and ignored events, and rejections, older than XERO_WEBHOOK_RETENTION_DAYS."""
    before = (now or timezone.now()) - datetime.timedelta(days=settings.XERO_WEBHOOK_RETENTION_DAYS)
    events, _ = WebhookEvent.objects.filter(state__in=[Event.APPLIED, Event.IGNORED], received_at__lt=before).delete()
    rejections, _ = WebhookRejection.objects.filter(received_at__lt=before).delete()
    # /metrics counts events received as those kept plus those forgotten.
    tallies.tally_add(tallies.WEBHOOK_EVENTS_FORGOTTEN, events)
    tallies.tally_add(tallies.WEBHOOK_REJECTIONS_FORGOTTEN, rejections)
    return events + rejections


def webhook_events_waiting(*, now: datetime.datetime | None = None) -> bool:
    """Events not applied yet that no live worker holds: waiting ones, and those whose worker died mid-round."""
    return WebhookEvent.objects.filter(_due(now or timezone.now())).exists()


def _process_group(connection, tenant_id, category: str, events: list[WebhookEvent], result: Round) -> None:
    if connection is None or connection.tenant_id != tenant_id:
        result.ignored += _finish(events, Event.IGNORED, NOT_LINKED)
        return
    if connection.status != XeroConnection.Status.ACTIVE:
        raise XeroNeedsRelink(connection.last_error or "The link to Xero needs re-linking.")
    records = sent_records(tenant_id=tenant_id, xero_ids={event.resource_id for event in events})
    result.ignored += _finish([e for e in events if e.resource_id not in records], Event.IGNORED, NOT_OURS)
    ours = defaultdict(list)
    for event in events:
        if event.resource_id in records:
            ours[event.resource_id].append(event)
    if not ours:
        return
    # A round's documents (at most ROUND_SIZE) in one read-back: it fills every request up to the length budget.
    read = xero_api_for(connection).read_states(category, [str(xero_id) for xero_id in ours])
    states = {uuid.UUID(s.xero_id): s for s in read}
    _apply_chunk({xero_id: (records[xero_id], events) for xero_id, events in ours.items()}, states, result)


def _apply_chunk(documents: dict, states: dict, result: Round) -> None:
    """Apply one read's documents (Xero id → (record id, its events)) and close their events."""
    known = _known_states([record_id for record_id, _ in documents.values()])
    closing = defaultdict(list)  # (state, outcome) → events, closed together in one UPDATE
    for xero_id, (record_id, events) in documents.items():
        closing[_apply_events(record_id, states.get(xero_id), known.get(record_id), result)] += events
    for (state, outcome), closed in closing.items():
        counted = _finish(closed, state, outcome)
        if state == Event.APPLIED:
            result.applied += counted
        else:
            result.ignored += counted


def sent_records(*, tenant_id, xero_ids) -> dict[uuid.UUID, int]:
    """The platform's sync records of these Xero documents in this organisation: Xero id → record id."""
    return dict(
        SyncRecord.objects.filter(
            tenant_id=tenant_id, xero_id__in=list(xero_ids), state=SyncRecord.State.SENT
        ).values_list("xero_id", "pk")
    )


def _apply_events(
    record_id: int, state: values.DocumentState | None, known: SyncRecord | None, result: Round
) -> tuple[str, str]:
    """Apply one document's read; return how its events close: (event state, outcome)."""
    if state is None:
        return Event.IGNORED, "Xero did not return this document when asked for it."
    if known is not None and _not_newer(known, state):
        return Event.APPLIED, UP_TO_DATE  # most repeated events end here, without a lock or a write
    applied = document_state_apply(record_id=record_id, state=state, source=Source.WEBHOOK)
    result.changed += applied.changed
    return (Event.IGNORED if applied.refused else Event.APPLIED), applied.note


def _known_states(record_ids: list[int]) -> dict[int, SyncRecord]:
    """What was last applied to these records, read in one query (document_state_apply checks again under a lock)."""
    fields = ("pk", "xero_updated_at", "xero_status", "amount_paid", "amount_due")
    return {record.pk: record for record in SyncRecord.objects.filter(pk__in=record_ids).only(*fields)}


def _not_newer(record: SyncRecord, state: values.DocumentState) -> bool:
    """An older read, or the same one again. Two different reads of the same millisecond: the later one wins."""
    if record.xero_updated_at is None:
        return False
    if state.updated_at is None or state.updated_at < record.xero_updated_at:
        return True
    same = (state.status, state.amount_paid, state.amount_due) == (
        record.xero_status,
        record.amount_paid,
        record.amount_due,
    )
    return state.updated_at == record.xero_updated_at and same


def _record_status(invoice: Invoice, state: values.DocumentState) -> tuple[bool, str]:
    """Whether the platform's status changed, or why billing refused the change ("" when it did not)."""
    status = STATUS_FROM_XERO.get(state.status)
    if status is None:
        return False, ""  # DRAFT or SUBMITTED: nothing the platform's statuses say
    try:
        changed = billing.invoice_record_accounting_status(
            invoice=invoice, status=status, amount_paid=state.amount_paid
        )
        return changed, ""
    except ValidationError as refusal:
        return False, " ".join(refusal.messages)


def _note(invoice: Invoice, state: values.DocumentState, changed: bool) -> str:
    # No amounts here: events of many documents share an outcome (the document's page shows the amounts).
    return f"{'Now' if changed else 'Still'} {invoice.get_status_display().lower()} ({state.status} in Xero)."


def _claim(now: datetime.datetime) -> list[WebhookEvent]:
    due = _due(now)
    candidates = list(WebhookEvent.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:ROUND_SIZE])
    if not candidates:
        return []
    token = uuid.uuid4().hex
    WebhookEvent.objects.filter(due, pk__in=candidates).update(
        state=Event.PROCESSING, claim_token=token, claimed_until=now + datetime.timedelta(seconds=CLAIM_SECONDS)
    )
    return list(WebhookEvent.objects.filter(claim_token=token, state=Event.PROCESSING))


def _due(now: datetime.datetime) -> Q:
    # Waiting events, and events whose worker died mid-round (their claim has lapsed).
    return Q(state=Event.PENDING) | Q(state=Event.PROCESSING, claimed_until__lt=now)


def _finish(events: list[WebhookEvent], state: str, outcome: str) -> int:
    """Close these events (only while this round's claim on them stands); return how many."""
    if not events:
        return 0
    return WebhookEvent.objects.filter(
        pk__in=[e.pk for e in events], claim_token=events[0].claim_token, state=Event.PROCESSING
    ).update(state=state, outcome=outcome[:255], processed_at=timezone.now(), claimed_until=None)


def _release(events: list[WebhookEvent]) -> None:
    """Back to waiting: those of these events this round has not closed yet."""
    WebhookEvent.objects.filter(
        pk__in=[e.pk for e in events], claim_token=events[0].claim_token, state=Event.PROCESSING
    ).update(state=Event.PENDING, claimed_until=None)
