"""One Xero app serves every organisation: calls to all of them share the app's pace (Xero's app-wide limit
of calls a minute), and an app-wide 429 holds them all. Pacing is DB-only: no Xero is called here."""

import datetime
import threading
import time
import uuid

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.xero.api import pacing
from integrations.xero.api.errors import Paused, XeroRateLimited
from integrations.xero.api.values import ReportedLimits
from integrations.xero.models import CallPace

SLOT = 60.0 / 600 * pacing.PACE_MARGIN  # seconds between calls at 600 a minute


@pytest.fixture
def two_orgs(settings, db) -> tuple[str, str]:
    settings.XERO_CALLS_PER_MINUTE = 600  # each organisation alone: a call every SLOT
    settings.XERO_APP_CALLS_PER_MINUTE = 600  # both together: no more, so the app's pace binds
    return str(uuid.uuid4()), str(uuid.uuid4())


def departures(tenants: list[str]) -> list[float]:
    """When each call, made one after the other, was let go."""
    left = []
    for tenant_id in tenants:
        with pacing.call(tenant_id):
            left.append(time.monotonic())
    return left


def refused(tenant_id: str, *, problem: str, retry_after: int = 30) -> None:
    with pytest.raises(XeroRateLimited), pacing.call(tenant_id):
        raise XeroRateLimited(retry_after=retry_after, problem=problem)


def app_slots(tenants: list[str]) -> list[datetime.datetime]:
    """The app-wide slot each call, made one after the other, was given (read from the shared row: the next
    free slot is the call's own plus one interval). Slots, not wall-clock departures: a loaded machine makes
    calls leave late, never their slots closer."""
    slots = []
    for tenant_id in tenants:
        with pacing.call(tenant_id):
            following = CallPace.objects.get(tenant_id=CallPace.APP_TENANT_ID).next_call_at
            slots.append(following - datetime.timedelta(seconds=60.0 / 600 * pacing.PACE_MARGIN))
    return slots


def test_calls_to_two_organisations_are_spaced_by_the_apps_pace_when_it_binds(two_orgs):
    slots = app_slots(list(two_orgs) * 4)  # each organisation's own pace would let them go in pairs
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(slots, slots[1:], strict=False)]
    assert min(gaps) >= SLOT - 1e-6


@pytest.mark.parametrize("problem", ["appminute", "AppMinute"])
def test_an_app_wide_429_pauses_every_organisation_until_its_retry_after(two_orgs, problem):
    ours, other = two_orgs
    departures([other])  # the other organisation has a pace of its own, with nothing in flight
    other_pace = CallPace.objects.get(tenant_id=other)
    refused(ours, problem=problem, retry_after=30)
    with pytest.raises(Paused) as held, pacing.call(other):
        pass
    assert 29 <= (held.value.until - timezone.now()).total_seconds() <= 30
    assert "all organisations of this app" in held.value.reason
    assert f"sending resumes at {timezone.localtime(held.value.until):%H:%M:%S}" in held.value.reason
    assert CallPace.objects.get(tenant_id=other).next_call_at == other_pace.next_call_at  # no slot spent
    assert CallPace.objects.get(tenant_id=other).in_flight == 0
    assert pacing.paused(other).pause_reason == held.value.reason  # what the Add Ons page shows
    with pytest.raises(Paused), pacing.call(ours):
        pass


def test_after_the_app_wide_retry_after_every_organisation_calls_again(two_orgs):
    ours, other = two_orgs
    refused(ours, problem="appminute", retry_after=30)
    CallPace.objects.filter(tenant_id=CallPace.APP_TENANT_ID).update(
        paused_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert len(departures([other, ours])) == 2
    assert pacing.paused(other) is None


def test_an_organisations_own_minute_429_holds_back_only_that_organisation(two_orgs):
    ours, other = two_orgs
    refused(ours, problem="minute", retry_after=30)
    started = time.monotonic()
    departures([other])
    assert time.monotonic() - started < 2 * SLOT  # the app's next slot at most, not the 30 s
    assert pacing.paused(other) is None and pacing.app_paused() is None
    held_until = CallPace.objects.get(tenant_id=ours).next_call_at
    assert (held_until - timezone.now()).total_seconds() > 29


def test_an_app_minute_xero_reports_spent_skips_the_apps_next_slot(two_orgs):
    ours, other = two_orgs
    before = timezone.now()
    with pacing.call(ours) as slot:
        slot.heard({"X-MinLimit-Remaining": "50", "X-AppMinLimit-Remaining": "0"})
        answered = timezone.now()
    app = CallPace.objects.get(tenant_id=CallPace.APP_TENANT_ID)
    assert (app.next_call_at - before).total_seconds() >= 2 * SLOT  # two slots from when it was heard, not one
    assert CallPace.objects.get(tenant_id=ours).next_call_at - answered < datetime.timedelta(seconds=SLOT)
    started = time.monotonic()
    departures([other])  # the other organisation's first call waits for the skipped slot
    assert time.monotonic() - started > 1.5 * SLOT - 0.02


def test_an_app_minute_with_calls_left_skips_nothing(two_orgs):
    ours, _ = two_orgs
    with pacing.call(ours) as slot:
        slot.heard({"X-MinLimit-Remaining": "50", "X-AppMinLimit-Remaining": "1"})
        answered = timezone.now()
    app = CallPace.objects.get(tenant_id=CallPace.APP_TENANT_ID)
    assert (app.next_call_at - answered).total_seconds() < SLOT


def test_xeros_headers_say_what_is_left_of_the_apps_minute():
    assert ReportedLimits.from_headers({"X-AppMinLimit-Remaining": "0"}).app_minute_remaining == 0
    assert ReportedLimits.from_headers({"X-MinLimit-Remaining": "5"}).app_minute_remaining is None
    assert ReportedLimits.from_headers(None) == ReportedLimits(None, None, None)


def test_a_paced_call_costs_five_queries_once_its_rows_exist(two_orgs):
    ours, _ = two_orgs
    departures([ours])
    with CaptureQueriesContext(db) as queries:
        departures([ours])
    statements = [query["sql"].split()[0] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    # The organisation's row (locked, reading the app's pause in the same query), then the app's, and
    # the count of calls in flight after the call.
    assert statements == ["SELECT", "UPDATE", "SELECT", "UPDATE", "UPDATE"]


def test_an_organisation_waiting_for_its_own_slot_does_not_hold_back_another(settings, transactional_db):
    settings.XERO_CALLS_PER_MINUTE = 60  # a slot a second (and a little)
    settings.XERO_APP_CALLS_PER_MINUTE = 600
    busy, free = str(uuid.uuid4()), str(uuid.uuid4())
    departures([busy])  # its next slot is a second away

    def next_call_to_busy():
        departures([busy])
        db.close()

    waiting = threading.Thread(target=next_call_to_busy)
    waiting.start()
    time.sleep(0.1)  # it has taken its organisation's slot and sleeps
    started = time.monotonic()
    departures([free])
    assert time.monotonic() - started < 0.5  # not held until the busy organisation's slot
    waiting.join(timeout=10)
