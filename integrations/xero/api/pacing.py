"""Calls to Xero, spaced evenly across all workers: per organisation, and across the whole app.

Xero allows 60 calls a minute and 5 at once per organisation (and 5,000 a day). Rather than meet
429s, every call takes the next free slot, one every 60/limit seconds, from a row shared by all
workers (a short transaction; no lock is held during the call itself), and waits for its time.
Slots are a little wider than 60/limit (PACE_MARGIN): calls leave on time but reach Xero with some
jitter, and a 429 costs far more than the margin (Xero's Retry-After for the minute limit is up to a
minute, for every worker). The slot hears each answer's headers, where Xero reports what is left
(X-MinLimit-Remaining, X-DayLimit-Remaining): a minute budget used up skips a slot; a day budget used
up pauses the organisation before a 429 has to say so.
A 429 still waits its Retry-After (the caller releases its documents until then); a daily-limit 429
pauses the organisation until the limit resets, and says so on the Add Ons page.

One Xero app serves every linked organisation, and Xero also limits the app: 10,000 calls a minute
across all of them (XERO_APP_CALLS_PER_MINUTE). So once its organisation's slot has come, a call also
takes the app's next slot (the row `CallPace.APP_TENANT_ID`), less the same margin, and waits for it.
The app's slot is taken second, in its own short transaction, only when the call is ready to leave:
taken together with the organisation's, a slot reserved seconds ahead for one busy organisation would
push the app's pace as far ahead, and hold back every other organisation meanwhile. An answer saying
the app's minute is spent (X-AppMinLimit-Remaining: 0) skips the app's slot; an app-wide 429
(`X-Rate-Limit-Problem: appminute`) pauses every organisation until its Retry-After.

Every call has a purpose (`Purpose`): sending issued documents, reading their states back, or background
reads (reconciliation, reference data, the set-up check). They differ twice:
- The day. Of the organisation's daily calls the last XERO_DAY_RESERVE are kept for status reads, so that a
  month-end backlog cannot spend the day and leave payments and voids unread: once Xero has said that few
  are left, a send raises `Paused` before taking a slot, a background read already at twice as many, while
  status reads go on until none is left (then the organisation pauses, as before). What Xero said is noted on
  the pace's row only when it crosses one of those thresholds (or, within them, once the hour's re-check has
  come), so an ordinary call writes nothing more; the hold lasts until that re-check (DAY_LIMIT_PAUSE_SECONDS
  after the note), when the next call asks Xero again. It is not the organisation's pause: that would hold
  status reads too. The rule is written once, as SQL (`day_reserve_until`): a call reads it with its pace's
  row, sending leaves held organisations out when it picks whose turn it is, and the Add Ons page shows it.
- The minute. A send takes the organisation's next slot however far ahead it is. A status read takes one
  only when it starts within one interval (no call holds a slot later than the one now running), a
  background read only one free now; otherwise they take nothing, and look again when that would change,
  so that sends arriving meanwhile take the slots first. What is promised: of the slots queued ahead of a
  send, at most one is a status read's and one a background read's; ahead of a status read, at most one a
  background read's. Nothing more: calls waiting for a place among the 5 in flight are not ordered, and a
  call stops giving way after YIELD_AT_MOST_SECONDS (then queues like a send), so that a steady stream of
  sends cannot hold status reads back for ever. A send costs what it did; a read that gives way costs one
  more locked SELECT (no write) each time it looks again, about once a slot interval.
"""

import dataclasses
import datetime
import enum
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Subquery, Value, When
from django.utils import timezone

from integrations.xero.api.errors import Paused, XeroRateLimited
from integrations.xero.api.values import ReportedLimits
from integrations.xero.models import CallPace

STALE_IN_FLIGHT = datetime.timedelta(minutes=2)  # counts left by killed workers stop counting after this
PACE_MARGIN = 1.03  # 97% of the minute limit: room for network jitter, costing 3% of the ceiling
DAY_LIMIT_PAUSE_SECONDS = 3600  # Xero's day window rolls; look again in an hour
DAY_LIMIT_REASON = "Xero's daily call limit for this organisation is used up; sending resumes when it resets."
APP_LIMIT_PROBLEM = "appminute"  # X-Rate-Limit-Problem of a 429 for the app's limit, across organisations
APP = CallPace.APP_TENANT_ID
RECHECK = datetime.timedelta(seconds=DAY_LIMIT_PAUSE_SECONDS)  # how long a note of the day's calls left holds
YIELD_AT_MOST_SECONDS = 10.0  # a status or background read gives way to others' calls no longer than this
YIELD_POLL_SECONDS = 0.02  # the least a call giving way waits before it looks again


class Purpose(enum.IntEnum):
    """What a call is for, the most urgent first."""

    SEND = 0  # issued documents, their contacts and allocations, and the look-ups sending makes
    STATUS = 1  # documents' states read back (after webhooks): payments, voids and deletions
    BACKGROUND = 2  # reconciliation, reference data, the set-up check


# Of a status read, at most this many slot intervals may be queued before it; none of a background read's.
LOOKAHEAD = {Purpose.STATUS: 1, Purpose.BACKGROUND: 0}


class Slot:
    """A call's turn in its organisation's pace; it hears the answer's headers. It keeps what the pace's row
    said of the day when the slot was taken, so that hearing an answer that changes nothing writes nothing."""

    def __init__(self, tenant_id: str, purpose: Purpose = Purpose.SEND):
        self.tenant_id, self.purpose = tenant_id, purpose
        self.day_remaining: int | None = None
        self.day_remaining_at: datetime.datetime | None = None

    def heard(self, headers) -> None:
        limits = ReportedLimits.from_headers(headers)
        _heed_reported_limits(self, limits)
        if limits.app_minute_remaining == 0:
            # Spent by calls this pace does not see (another deployment of the same app, a consent's read).
            _skip_a_slot(APP, _app_slot_interval())


@contextmanager
def call(tenant_id: str, *, purpose: Purpose = Purpose.SEND):
    """Wait for this organisation's next slot for a call of this purpose, then the app's, make the call, and
    note a 429's lesson."""
    slot = Slot(tenant_id, purpose)
    _wait_for_slot(slot)
    try:
        _wait_for_app_slot()
        yield slot
    except XeroRateLimited as error:
        _heed_refusal(tenant_id, error)
        raise
    finally:
        CallPace.objects.filter(tenant_id=tenant_id, in_flight__gt=0).update(in_flight=F("in_flight") - 1)


def pause(*, tenant_id: str, seconds: float, reason: str) -> None:
    until = timezone.now() + datetime.timedelta(seconds=seconds)
    _pause_until(tenant_id, until, reason)


def paused(tenant_id: str) -> CallPace | None:
    """What holds the organisation's calls now: its own pause or the app's, whichever ends later."""
    pauses = CallPace.objects.filter(tenant_id__in=(tenant_id, APP), paused_until__gt=timezone.now())
    return pauses.order_by("-paused_until").first()


def app_paused() -> CallPace | None:
    """The app's pause (it holds every organisation's calls), if one is on now."""
    return CallPace.objects.filter(tenant_id=APP, paused_until__gt=timezone.now()).first()


def app_limit_reason(until: datetime.datetime) -> str:
    return (
        "Xero's limit on calls a minute for all organisations of this app was reached; "
        f"sending resumes at {timezone.localtime(until):%H:%M:%S %Z}."
    )


def day_reserve_reason(purpose: Purpose, until: datetime.datetime) -> str:
    reserve, when = settings.XERO_DAY_RESERVE, f"{timezone.localtime(until):%H:%M:%S %Z}"
    if purpose == Purpose.SEND:
        kept = f"the last {reserve} calls of the day are kept for reading payments and voids back"
        resumes = "sending resumes"
    else:
        kept = f"the last {2 * reserve} calls of the day are kept for sending and for reading payments and voids back"
        resumes = "reconciliation and set-up reads resume"
    return (
        f"Xero's daily call limit for this organisation is nearly used up: {kept}; {resumes} when the limit "
        f"resets (Xero is asked again at {when})."
    )


@dataclasses.dataclass(frozen=True)
class Hold:
    """Calls of one purpose held until `until`, and why, in the words shown for it."""

    until: datetime.datetime
    reason: str


def day_reserve_until(purpose: Purpose):
    """The rule of the day's reserve, for CallPace rows, as an SQL expression: until when it holds calls of this
    purpose (the note's re-check, `day_remaining_at` + RECHECK: Xero's day rolls, and the next call asks it again),
    when Xero last said that no more than the calls kept from them are left of the organisation's day (the
    reserve for a send, twice it for a background read; nothing is kept from a status read); NULL otherwise.
    It holds while that moment is still to come, like `paused_until`. Read with the pace's row where a call
    takes its slot (`_take_slot`), and in the query that picks whose turn it is to send (`sending._next_turn`)."""
    kept = _day_kept(purpose)
    if not kept:
        return Value(None, output_field=DateTimeField())
    return Case(
        When(day_remaining__lte=kept, then=F("day_remaining_at") + Value(RECHECK)), output_field=DateTimeField()
    )


def day_reserve_hold(tenant_id: str) -> Hold | None:
    """The day's reserve holding the organisation's sends now, with its end and reason, read from its pace's row
    as sending reads it: what the Add Ons page shows, without asking Xero."""
    now = timezone.now()
    rows = CallPace.objects.filter(tenant_id=tenant_id).annotate(held_until=day_reserve_until(Purpose.SEND))
    until = rows.filter(held_until__gt=now).values_list("held_until", flat=True).first()
    return Hold(until, day_reserve_reason(Purpose.SEND, until)) if until else None


def ensure_row(tenant_id: str) -> None:
    if not CallPace.objects.filter(tenant_id=tenant_id).exists():
        try:
            with transaction.atomic():
                CallPace.objects.create(tenant_id=tenant_id)
        except IntegrityError:
            pass  # another worker created it first


def _slot_interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=60.0 / settings.XERO_CALLS_PER_MINUTE * PACE_MARGIN)


def _app_slot_interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=60.0 / settings.XERO_APP_CALLS_PER_MINUTE * PACE_MARGIN)


def _heed_reported_limits(slot: Slot, limits: ReportedLimits) -> None:
    """The day's calls left, when worth noting, and the pause when none is left, in one UPDATE (none on an
    ordinary answer); a spent minute skips a slot."""
    fields = _day_noted(slot, limits.day_remaining)
    if limits.day_remaining == 0:
        until = timezone.now() + datetime.timedelta(seconds=DAY_LIMIT_PAUSE_SECONDS)
        fields |= {"paused_until": until, "pause_reason": DAY_LIMIT_REASON}
    elif limits.minute_remaining == 0:
        # The minute's budget is spent (perhaps by calls this pace does not see, from another app on
        # the same organisation): skip a slot rather than have the next call meet a 429.
        _skip_a_slot(slot.tenant_id, _slot_interval())
    if fields:
        CallPace.objects.filter(tenant_id=slot.tenant_id).update(**fields)


def _day_noted(slot: Slot, remaining: int | None) -> dict:
    """The day's calls left, to write when they crossed a threshold since the slot's row was read, or when
    the note within the thresholds is due its re-check; nothing otherwise (nearly every call)."""
    if remaining is None:
        return {}
    now, band = timezone.now(), _day_band(remaining)
    fresh = slot.day_remaining_at is not None and now - slot.day_remaining_at < RECHECK
    if band == _day_band(slot.day_remaining) and (band == _day_band(None) or fresh):
        return {}
    return {"day_remaining": remaining, "day_remaining_at": now}


def _day_kept(purpose: Purpose) -> int:
    """How many of the day's last calls are kept from calls of this purpose (0: none, they may take them all)."""
    reserve = max(settings.XERO_DAY_RESERVE, 0)
    return {Purpose.SEND: reserve, Purpose.BACKGROUND: 2 * reserve}.get(purpose, 0)


def _day_band(remaining: int | None) -> int:
    """0: none left; 1: within the reserve (sending holds); 2: within twice it (background holds); 3: plenty."""
    if remaining is None:
        return 3
    reserve = settings.XERO_DAY_RESERVE
    return sum(remaining > most for most in (0, reserve, 2 * reserve))


def _heed_refusal(tenant_id: str, error: XeroRateLimited) -> None:
    problem = (error.problem or "").lower()  # the transport lower-cases it already; Xero's case varies
    if problem == "day":
        pause(tenant_id=tenant_id, seconds=error.retry_after, reason=DAY_LIMIT_REASON)
    elif problem == APP_LIMIT_PROBLEM:
        until = timezone.now() + datetime.timedelta(seconds=error.retry_after)
        _pause_until(APP, until, app_limit_reason(until))
    else:
        _push_back(tenant_id, error.retry_after)


def _pause_until(tenant_id, until: datetime.datetime, reason: str) -> None:
    ensure_row(tenant_id)
    CallPace.objects.filter(tenant_id=tenant_id).update(paused_until=until, pause_reason=reason)


def _skip_a_slot(tenant_id, interval: datetime.timedelta) -> None:
    later = timezone.now() + 2 * interval
    CallPace.objects.filter(tenant_id=tenant_id, next_call_at__lt=later).update(next_call_at=later)


def _wait_for_slot(slot: Slot) -> None:
    giving_way_until = time.monotonic() + YIELD_AT_MOST_SECONDS
    while True:
        wait = _take_slot(slot, give_way=time.monotonic() < giving_way_until)
        if wait is None:
            return
        time.sleep(wait)


def _take_slot(slot: Slot, *, give_way: bool = True) -> float | None:
    """None when a slot was taken and its time has come; else seconds to wait before trying again.
    A pause of the organisation's or of the app's, or the day's reserve, raises `Paused` before any slot is
    spent. `give_way`: a status or background read takes only a slot near enough (LOOKAHEAD)."""
    interval = _slot_interval()
    with transaction.atomic():
        # The app's pause is read in the same query, without locking the app's row (a subquery is not locked).
        app_pause = CallPace.objects.filter(tenant_id=APP).values("paused_until")[:1]
        rows = CallPace.objects.annotate(
            app_paused_until=Subquery(app_pause), day_reserve_until=day_reserve_until(slot.purpose)
        )
        pace = _locked(slot.tenant_id, rows)
        now = timezone.now()
        if pace.paused_until and pace.paused_until > now:
            raise Paused(pace.paused_until, pace.pause_reason)
        if pace.app_paused_until and pace.app_paused_until > now:
            raise Paused(pace.app_paused_until, app_limit_reason(pace.app_paused_until))
        _hold_for_day_reserve(pace, slot.purpose, now)
        if pace.in_flight and pace.in_flight_since and now - pace.in_flight_since > STALE_IN_FLIGHT:
            pace.in_flight = 0
        if pace.in_flight >= settings.XERO_CONCURRENT_CALLS:
            return 0.05
        start = max(pace.next_call_at or now, now)
        early = (start - now - LOOKAHEAD.get(slot.purpose, 0) * interval).total_seconds()
        if give_way and slot.purpose != Purpose.SEND and early > 0:
            return max(early, YIELD_POLL_SECONDS)  # nothing taken: sends arriving meanwhile go first
        pace.next_call_at = start + interval
        pace.in_flight += 1
        pace.in_flight_since = now
        pace.save(update_fields=["next_call_at", "in_flight", "in_flight_since"])
    slot.day_remaining, slot.day_remaining_at = pace.day_remaining, pace.day_remaining_at
    delay = (start - now).total_seconds()
    if delay > 0:
        time.sleep(delay)
    return None


def _hold_for_day_reserve(pace: CallPace, purpose: Purpose, now: datetime.datetime) -> None:
    """Raise `Paused` for a send when Xero last said the organisation has no more than the reserve left of
    its day, for a background read at twice it; a status read goes on. The note holds until its re-check.
    `pace` was read with `day_reserve_until` for this purpose (the rule, written once)."""
    until = pace.day_reserve_until
    if until is not None and until > now:
        raise Paused(until, day_reserve_reason(purpose, until))


def _wait_for_app_slot() -> None:
    delay = _take_app_slot()
    if delay > 0:
        time.sleep(delay)


def _take_app_slot() -> float:
    """Take the app's next slot (the call is ready to leave); return the seconds until it comes."""
    with transaction.atomic():
        pace = _locked(APP, CallPace.objects)
        now = timezone.now()
        if pace.paused_until and pace.paused_until > now:
            raise Paused(pace.paused_until, pace.pause_reason)
        slot = max(pace.next_call_at or now, now)
        pace.next_call_at = slot + _app_slot_interval()
        pace.save(update_fields=["next_call_at"])
    return (slot - now).total_seconds()


def _locked(tenant_id, rows) -> CallPace:
    """The pace's row, locked until the transaction ends; created first when missing (an organisation's
    first call), so that a call that finds it, as nearly all do, costs one query here."""
    pace = rows.select_for_update().filter(tenant_id=tenant_id).first()
    if pace is None:
        ensure_row(tenant_id)  # in a savepoint: a row another worker made meanwhile is waited for, then kept
        pace = rows.select_for_update().get(tenant_id=tenant_id)
    return pace


def _push_back(tenant_id: str, seconds: float) -> None:
    later = timezone.now() + datetime.timedelta(seconds=seconds)
    CallPace.objects.filter(tenant_id=tenant_id).update(next_call_at=later)
