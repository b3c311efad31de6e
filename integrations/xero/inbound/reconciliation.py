"""The reconciliation: statuses arrive even when webhooks were missed, delayed or disabled.

Every XERO_RECONCILE_MINUTES a periodic task asks Xero for the invoices and the credit notes it changed
since the last read (`If-Modified-Since`), oldest change first, and applies them as the webhooks' reads
are applied (`inbox.document_state_apply`). How far it has read is kept per organisation and kind; each run
starts a little before (XERO_RECONCILE_OVERLAP_SECONDS), since a change may become visible in Xero
slightly after the moment it carries. Re-reading a document costs nothing: it is not newer.

Only organisations where something can still change are read: every run those with a sent document still
open in Xero (not paid, voided or deleted); every XERO_RECONCILE_QUIET_HOURS those whose documents are all
paid (a payment removed in Xero opens one again); never those with nothing sent, or only voided and deleted
documents (Xero changes neither again). So a thousand idle links cost the periodic task one query, not two
thousand calls. A read never starts before the oldest sent document that can still change: an organisation
left alone for months is not paged through for changes that cannot be the platform's.

Paging walks the changes by their time rather than by page number: after a full page the next read
starts at that page's last change, so documents changed meanwhile (which move to the end) are never
skipped. Only when a whole page shares one millisecond does it turn to the next page.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from integrations.xero.api import values
from integrations.xero.api.errors import XeroError
from integrations.xero.api.xero_api import XeroApi, xero_api_for
from integrations.xero.inbound import inbox
from integrations.xero.models import Reconciliation, SyncRecord, XeroConnection
from integrations.xero.monitoring import tallies

ONE_MS = datetime.timedelta(milliseconds=1)
MAX_PAGES = 200  # per kind and run: 20,000 changed documents; a longer backlog continues next run
RUN_LEASE = datetime.timedelta(minutes=10)
# Xero changes a voided or deleted document no more; a paid one opens again when its payment is removed.
FINAL_STATUSES = ("VOIDED", "DELETED")
PAID_STATUS = "PAID"


@dataclass
class Tally:
    checked: int = 0  # documents the platform sent, read back
    changed: int = 0  # of which the platform's status changed
    ignored: int = 0  # documents the platform did not send


def reconciliation_run_periodic() -> list[Reconciliation]:
    """The periodic task: read back what changed in each linked organisation in turn, apply waiting webhook
    events, forget old ones (and old minutes of calls). Returns the rows of the organisations read."""
    inbox.webhook_events_prune()
    tallies.call_minutes_forget()
    rows = [reconciliation_run(connection=connection) for connection in connections_due()]
    if inbox.webhook_events_waiting():
        inbox.webhook_events_process()  # e.g. events whose processing task was lost with the broker
    return [row for row in rows if row is not None]


def connections_due(now: datetime.datetime | None = None) -> QuerySet[XeroConnection]:
    """The active links whose organisation the periodic run reads now (see the module's note), in one query."""
    now = now or timezone.now()
    changeable = _changeable_records().filter(tenant_id=OuterRef("tenant_id"))
    last_run = Reconciliation.objects.filter(tenant_id=OuterRef("tenant_id")).values("last_run_at")
    quiet_due = now - datetime.timedelta(hours=settings.XERO_RECONCILE_QUIET_HOURS)
    quiet_and_due = Q(has_paid=True) & (Q(reconciled_at__isnull=True) | Q(reconciled_at__lte=quiet_due))
    return (
        XeroConnection.objects.active()
        .annotate(
            has_open=Exists(changeable.exclude(xero_status=PAID_STATUS)),
            has_paid=Exists(changeable),
            reconciled_at=Subquery(last_run),
        )
        .filter(Q(has_open=True) | quiet_and_due)
    )


def _changeable_records() -> QuerySet[SyncRecord]:
    return SyncRecord.objects.filter(state=SyncRecord.State.SENT).exclude(xero_status__in=FINAL_STATUSES)


def reconciliation_run(
    *,
    connection: XeroConnection | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> Reconciliation | None:
    """Read back the documents Xero changed in the organisation of `connection` (default: the default
    company's link) after `since` (default: where its last run stopped) and up to `until` (default: now), and
    apply them. An explicit range leaves the periodic run's place alone. Returns the organisation's
    reconciliation row, or None when not linked (or waiting for a re-link) or another run is reading it."""
    connection = connection or XeroConnection.objects.current()
    if connection is None or connection.status != XeroConnection.Status.ACTIVE:
        return None
    row, _ = Reconciliation.objects.get_or_create(tenant_id=connection.tenant_id)
    if not _take_lease(row):
        return None
    tally, error = Tally(), ""
    try:
        api = xero_api_for(connection)
        for credit_notes in (False, True):
            start = since or _resume_from(row, connection, credit_notes)
            _read_kind(api, credit_notes, start, until, tally, row=None if since else row)
    except XeroError as failure:
        error = failure.message
    _finish(row, tally, error)
    row.refresh_from_db()
    return row


def _resume_from(row: Reconciliation, connection: XeroConnection, credit_notes: bool) -> datetime.datetime:
    read_to = row.credit_notes_read_to if credit_notes else row.invoices_read_to
    # Never read before: documents are only sent once linked, so nothing earlier matters. Nor do changes
    # before the oldest sent document that can still change (Xero dates each change after the sending).
    oldest_open = _changeable_records().filter(tenant_id=connection.tenant_id).aggregate(at=Min("sent_at"))["at"]
    start = max(moment for moment in (read_to or connection.linked_at, oldest_open) if moment is not None)
    return start - datetime.timedelta(seconds=settings.XERO_RECONCILE_OVERLAP_SECONDS)


def _read_kind(api: XeroApi, credit_notes: bool, after: datetime.datetime, until, tally: Tally, *, row) -> None:
    page = 1
    for _ in range(MAX_PAGES):
        states = api.read_modified_states(credit_notes=credit_notes, modified_after=after, page=page)
        in_range = [s for s in states if until is None or (s.updated_at and s.updated_at <= until)]
        _apply(api.connection, in_range, tally)
        if len(states) < values.MODIFIED_PAGE_SIZE or len(in_range) < len(states):
            _note_read_to(row, credit_notes, max((s.updated_at for s in in_range if s.updated_at), default=None))
            return
        # The next read starts just before this page's last change: others of that millisecond may follow.
        next_after = (states[-1].updated_at or after) - ONE_MS
        after, page = (next_after, 1) if next_after > after else (after, page + 1)
        _note_read_to(row, credit_notes, after)


def _apply(connection: XeroConnection, states: list[values.DocumentState], tally: Tally) -> None:
    records = inbox.sent_records(tenant_id=connection.tenant_id, xero_ids={uuid.UUID(s.xero_id) for s in states})
    for state in states:
        record_id = records.get(uuid.UUID(state.xero_id))
        if record_id is None:
            tally.ignored += 1  # typed into Xero, or sent by another system
            continue
        applied = inbox.document_state_apply(
            record_id=record_id, state=state, source=SyncRecord.StatusSource.RECONCILIATION
        )
        tally.checked += 1
        tally.changed += applied.changed


def _note_read_to(row: Reconciliation | None, credit_notes: bool, moment: datetime.datetime | None) -> None:
    """Move the periodic run's place forward (never back), so a run that fails half-way keeps its progress."""
    if row is None or moment is None:
        return
    field = "credit_notes_read_to" if credit_notes else "invoices_read_to"
    Reconciliation.objects.filter(Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": moment}), pk=row.pk).update(
        **{field: moment}
    )


def _take_lease(row: Reconciliation) -> bool:
    now = timezone.now()
    free = Q(running_until__isnull=True) | Q(running_until__lt=now)
    return Reconciliation.objects.filter(free, pk=row.pk).update(running_until=now + RUN_LEASE) == 1


def _finish(row: Reconciliation, tally: Tally, error: str) -> None:
    now = timezone.now()
    fields = {
        "running_until": None,
        "last_run_at": now,
        "last_error": error,
        "last_checked": tally.checked,
        "last_changed": tally.changed,
        "last_ignored": tally.ignored,
    }
    if not error:
        fields["last_success_at"] = now
    Reconciliation.objects.filter(pk=row.pk).update(**fields)
