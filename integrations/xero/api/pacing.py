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
"""

import datetime
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Subquery
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


class Slot:
    """A call's turn in its organisation's pace; it hears the answer's headers."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id

    def heard(self, headers) -> None:
        limits = ReportedLimits.from_headers(headers)
        _heed_reported_limits(self.tenant_id, limits)
        if limits.app_minute_remaining == 0:
            # Spent by calls this pace does not see (another deployment of the same app, a consent's read).
            _skip_a_slot(APP, _app_slot_interval())


@contextmanager
def call(tenant_id: str):
    """Wait for this organisation's next slot, then the app's, make the call, and note a 429's lesson."""
    _wait_for_slot(tenant_id)
    try:
        _wait_for_app_slot()
        yield Slot(tenant_id)
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


def _heed_reported_limits(tenant_id: str, limits: ReportedLimits) -> None:
    if limits.day_remaining == 0:
        pause(tenant_id=tenant_id, seconds=DAY_LIMIT_PAUSE_SECONDS, reason=DAY_LIMIT_REASON)
    elif limits.minute_remaining == 0:
        # The minute's budget is spent (perhaps by calls this pace does not see, from another app on
        # the same organisation): skip a slot rather than have the next call meet a 429.
        _skip_a_slot(tenant_id, _slot_interval())


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


def _wait_for_slot(tenant_id: str) -> None:
    while True:
        wait = _take_slot(tenant_id)
        if wait is None:
            return
        time.sleep(wait)


def _take_slot(tenant_id: str) -> float | None:
    """None when a slot was taken and its time has come; else seconds to wait before trying again.
    A pause of the organisation's or of the app's raises `Paused` before any slot is spent."""
    interval = _slot_interval()
    with transaction.atomic():
        # The app's pause is read in the same query, without locking the app's row (a subquery is not locked).
        app_pause = CallPace.objects.filter(tenant_id=APP).values("paused_until")[:1]
        pace = _locked(tenant_id, CallPace.objects.annotate(app_paused_until=Subquery(app_pause)))
        now = timezone.now()
        if pace.paused_until and pace.paused_until > now:
            raise Paused(pace.paused_until, pace.pause_reason)
        if pace.app_paused_until and pace.app_paused_until > now:
            raise Paused(pace.app_paused_until, app_limit_reason(pace.app_paused_until))
        if pace.in_flight and pace.in_flight_since and now - pace.in_flight_since > STALE_IN_FLIGHT:
            pace.in_flight = 0
        if pace.in_flight >= settings.XERO_CONCURRENT_CALLS:
            return 0.05
        slot = max(pace.next_call_at or now, now)
        pace.next_call_at = slot + interval
        pace.in_flight += 1
        pace.in_flight_since = now
        pace.save(update_fields=["next_call_at", "in_flight", "in_flight_since"])
    delay = (slot - now).total_seconds()
    if delay > 0:
        time.sleep(delay)
    return None


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
