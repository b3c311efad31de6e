"""Calls to one Xero organisation, spaced evenly across all workers.

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
"""

import datetime
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.xero.api.errors import Paused, XeroRateLimited
from integrations.xero.api.values import ReportedLimits
from integrations.xero.models import CallPace

STALE_IN_FLIGHT = datetime.timedelta(minutes=2)  # counts left by killed workers stop counting after this
PACE_MARGIN = 1.03  # 97% of the minute limit: room for network jitter, costing 3% of the ceiling
DAY_LIMIT_PAUSE_SECONDS = 3600  # Xero's day window rolls; look again in an hour
DAY_LIMIT_REASON = "Xero's daily call limit for this organisation is used up; sending resumes when it resets."


class Slot:
    """A call's turn in its organisation's pace; it hears the answer's headers."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id

    def heard(self, headers) -> None:
        _heed_reported_limits(self.tenant_id, ReportedLimits.from_headers(headers))


@contextmanager
def call(tenant_id: str):
    """Wait for this organisation's next slot, make the call, and note a 429's lesson."""
    _wait_for_slot(tenant_id)
    try:
        yield Slot(tenant_id)
    except XeroRateLimited as error:
        if error.problem == "day":
            pause(tenant_id=tenant_id, seconds=error.retry_after, reason=DAY_LIMIT_REASON)
        else:
            _push_back(tenant_id, error.retry_after)
        raise
    finally:
        CallPace.objects.filter(tenant_id=tenant_id, in_flight__gt=0).update(in_flight=F("in_flight") - 1)


def pause(*, tenant_id: str, seconds: float, reason: str) -> None:
    until = timezone.now() + datetime.timedelta(seconds=seconds)
    ensure_row(tenant_id)
    CallPace.objects.filter(tenant_id=tenant_id).update(paused_until=until, pause_reason=reason)


def paused(tenant_id: str) -> CallPace | None:
    return CallPace.objects.filter(tenant_id=tenant_id, paused_until__gt=timezone.now()).first()


def ensure_row(tenant_id: str) -> None:
    if not CallPace.objects.filter(tenant_id=tenant_id).exists():
        try:
            with transaction.atomic():
                CallPace.objects.create(tenant_id=tenant_id)
        except IntegrityError:
            pass  # another worker created it first


def _slot_interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=60.0 / settings.XERO_CALLS_PER_MINUTE * PACE_MARGIN)


def _heed_reported_limits(tenant_id: str, limits: ReportedLimits) -> None:
    if limits.day_remaining == 0:
        pause(tenant_id=tenant_id, seconds=DAY_LIMIT_PAUSE_SECONDS, reason=DAY_LIMIT_REASON)
    elif limits.minute_remaining == 0:
        # The minute's budget is spent (perhaps by calls this pace does not see, from another app on
        # the same organisation): skip a slot rather than have the next call meet a 429.
        later = timezone.now() + 2 * _slot_interval()
        CallPace.objects.filter(tenant_id=tenant_id, next_call_at__lt=later).update(next_call_at=later)


def _wait_for_slot(tenant_id: str) -> None:
    while True:
        wait = _take_slot(tenant_id)
        if wait is None:
            return
        time.sleep(wait)


def _take_slot(tenant_id: str) -> float | None:
    """None when a slot was taken and its time has come; else seconds to wait before trying again."""
    interval = _slot_interval()
    ensure_row(tenant_id)
    with transaction.atomic():
        pace = CallPace.objects.select_for_update().get(tenant_id=tenant_id)
        now = timezone.now()
        if pace.paused_until and pace.paused_until > now:
            raise Paused(pace.paused_until, pace.pause_reason)
        if pace.in_flight and pace.in_flight_since and now - pace.in_flight_since > STALE_IN_FLIGHT:
            pace.in_flight = 0
        if pace.in_flight >= settings.XERO_CONCURRENT_CALLS:
            return 0.05
        slot = max(pace.next_call_at or now, now)
        pace.next_call_at = slot + interval
        pace.in_flight += 1
        pace.in_flight_since = now
        pace.save()
    delay = (slot - now).total_seconds()
    if delay > 0:
        time.sleep(delay)
    return None


def _push_back(tenant_id: str, seconds: float) -> None:
    later = timezone.now() + datetime.timedelta(seconds=seconds)
    CallPace.objects.filter(tenant_id=tenant_id).update(next_call_at=later)
