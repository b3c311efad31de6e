"""The end of each organisation's day is kept for reading payments and voids back, and within its minute
sending goes first: every call has a purpose (`pacing.Purpose`). Pacing is DB-only: no Xero is called here."""

import datetime
import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.xero.api import pacing
from integrations.xero.api.errors import Paused
from integrations.xero.api.pacing import Purpose
from integrations.xero.api.values import DocumentOut, LineOut
from integrations.xero.api.xero_api import XeroApi
from integrations.xero.models import CallPace
from integrations.xero.tests.factories import XeroConnectionFactory

SEND, STATUS, BACKGROUND = Purpose.SEND, Purpose.STATUS, Purpose.BACKGROUND
SLOT = 60.0 / 600 * pacing.PACE_MARGIN  # seconds between calls at 600 a minute


@pytest.fixture
def tenant(settings, db) -> str:
    settings.XERO_DAY_RESERVE = 200
    settings.XERO_CALLS_PER_MINUTE = 600
    settings.XERO_APP_CALLS_PER_MINUTE = 60_000
    return str(uuid.uuid4())


def xero_said(tenant_id: str, remaining: int, *, ago: float = 0) -> None:
    """As though an answer of Xero's said this many calls were left of the organisation's day."""
    pacing.ensure_row(tenant_id)
    at = timezone.now() - datetime.timedelta(seconds=ago)
    CallPace.objects.filter(tenant_id=tenant_id).update(day_remaining=remaining, day_remaining_at=at)


def goes(tenant_id: str, purpose: Purpose, headers=None) -> bool:
    try:
        with pacing.call(tenant_id, purpose=purpose) as slot:
            slot.heard(headers or {})
    except Paused:
        return False
    return True


def held(tenant_id: str, purpose: Purpose) -> Paused:
    with pytest.raises(Paused) as refused, pacing.call(tenant_id, purpose=purpose):
        pass
    return refused.value


def pace(tenant_id: str) -> CallPace:
    return CallPace.objects.get(tenant_id=tenant_id)


# --- The day's reserve ------------------------------------------------------------------------------
def test_within_the_reserve_a_send_is_paused_with_the_reason_while_a_status_read_goes(tenant):
    xero_said(tenant, 150)
    before = pace(tenant)
    refusal = held(tenant, SEND)
    assert refusal.reason.startswith(
        "Xero's daily call limit for this organisation is nearly used up: the last 200 calls of the day are kept "
        "for reading payments and voids back; sending resumes when the limit resets"
    )
    assert f"asked again at {timezone.localtime(refusal.until):%H:%M:%S}" in refusal.reason
    assert abs((refusal.until - before.day_remaining_at).total_seconds() - pacing.DAY_LIMIT_PAUSE_SECONDS) < 1
    assert (pace(tenant).next_call_at, pace(tenant).in_flight) == (before.next_call_at, 0)  # no slot spent
    assert goes(tenant, STATUS)
    assert pacing.paused(tenant) is None  # not the organisation's pause: that would hold status reads too


def test_a_send_goes_until_xero_says_only_the_reserve_is_left(tenant):
    xero_said(tenant, 201)
    assert goes(tenant, SEND)
    xero_said(tenant, 200)
    assert not goes(tenant, SEND)


def test_background_reads_stop_at_twice_the_reserve(tenant):
    xero_said(tenant, 400)
    assert goes(tenant, SEND) and goes(tenant, STATUS)
    refusal = held(tenant, BACKGROUND)
    assert "the last 400 calls of the day are kept for sending and for reading payments and voids back" in (
        refusal.reason
    )
    assert "reconciliation and set-up reads resume when the limit resets" in refusal.reason
    xero_said(tenant, 401)
    assert goes(tenant, BACKGROUND)


def test_none_left_pauses_every_purpose_as_before(tenant):
    with pacing.call(tenant, purpose=STATUS) as slot:
        slot.heard({"X-DayLimit-Remaining": "0", "X-MinLimit-Remaining": "50"})
    for purpose in Purpose:
        assert held(tenant, purpose).reason == pacing.DAY_LIMIT_REASON
    assert pacing.paused(tenant).pause_reason == pacing.DAY_LIMIT_REASON  # the Add Ons page says so
    assert pace(tenant).day_remaining == 0


def test_the_hold_lapses_at_the_hours_recheck_so_that_the_next_call_asks_xero_again(tenant):
    xero_said(tenant, 10, ago=pacing.DAY_LIMIT_PAUSE_SECONDS + 1)
    assert goes(tenant, SEND) and goes(tenant, BACKGROUND)


def test_a_reserve_of_zero_holds_nothing_until_none_is_left(tenant, settings):
    settings.XERO_DAY_RESERVE = 0
    xero_said(tenant, 1)
    assert all(goes(tenant, purpose) for purpose in Purpose)


# --- What Xero said of the day, noted ----------------------------------------------------------------
def statements_of(tenant_id: str, purpose: Purpose, remaining: int | None) -> list[str]:
    headers = {"X-MinLimit-Remaining": "50"} | ({"X-DayLimit-Remaining": str(remaining)} if remaining else {})
    with CaptureQueriesContext(db) as queries:
        assert goes(tenant_id, purpose, headers)
    return [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_the_day_left_is_noted_once_as_it_crosses_each_threshold_and_never_on_an_ordinary_call(tenant):
    goes(tenant, SEND)  # the rows exist
    ordinary = ["SELECT", "UPDATE", "SELECT", "UPDATE", "UPDATE"]  # as before: the slots, then the count in flight
    assert statements_of(tenant, SEND, 4000) == ordinary
    assert statements_of(tenant, SEND, None) == ordinary
    assert pace(tenant).day_remaining is None
    assert statements_of(tenant, SEND, 400) == [*ordinary[:4], "UPDATE", "UPDATE"]  # crossed twice the reserve
    assert pace(tenant).day_remaining == 400
    assert statements_of(tenant, SEND, 399) == ordinary
    assert statements_of(tenant, SEND, 200) == [*ordinary[:4], "UPDATE", "UPDATE"]  # crossed the reserve
    assert statements_of(tenant, STATUS, 199) == ordinary
    assert pace(tenant).day_remaining == 200


def test_a_note_within_the_reserve_is_refreshed_once_its_recheck_has_come(tenant):
    xero_said(tenant, 150, ago=pacing.DAY_LIMIT_PAUSE_SECONDS + 1)
    assert goes(tenant, SEND, {"X-DayLimit-Remaining": "140"})  # the re-check: it went, and says what is left
    assert pace(tenant).day_remaining == 140
    assert not goes(tenant, SEND)


def test_a_day_that_rolls_back_above_the_reserve_lets_sending_resume_at_once(tenant):
    xero_said(tenant, 150)
    assert goes(tenant, STATUS, {"X-DayLimit-Remaining": "900"})  # calls of yesterday left Xero's window
    assert pace(tenant).day_remaining == 900
    assert goes(tenant, SEND)


# --- Within the minute: sending first --------------------------------------------------------------
def queued_ahead(tenant_id: str, slots: int) -> datetime.datetime:
    """As though calls already took the organisation's slots for the next `slots` intervals."""
    pacing.ensure_row(tenant_id)
    free_at = timezone.now() + datetime.timedelta(seconds=slots * SLOT)
    CallPace.objects.filter(tenant_id=tenant_id).update(next_call_at=free_at)
    return free_at


def test_a_background_read_takes_only_a_slot_free_now_and_waits_without_taking_one(tenant):
    free_at = queued_ahead(tenant, 3)
    wait = pacing._take_slot(pacing.Slot(tenant, BACKGROUND))
    assert 2 * SLOT < wait <= 3 * SLOT  # about 3 slots less the moment the test took (not a slot taken)
    assert (pace(tenant).next_call_at, pace(tenant).in_flight) == (free_at, 0)  # a send arriving now goes first


def test_a_status_read_takes_a_slot_at_most_one_interval_away(tenant):
    queued_ahead(tenant, 3)
    assert SLOT < pacing._take_slot(pacing.Slot(tenant, STATUS)) <= 2 * SLOT
    free_at = queued_ahead(tenant, 1)
    assert pacing._take_slot(pacing.Slot(tenant, STATUS)) is None  # taken; it waited for it
    assert pace(tenant).next_call_at == free_at + datetime.timedelta(seconds=SLOT)


def test_a_send_takes_the_next_slot_however_far_ahead(tenant):
    free_at = queued_ahead(tenant, 3)
    assert pacing._take_slot(pacing.Slot(tenant, SEND)) is None
    assert pace(tenant).next_call_at == free_at + datetime.timedelta(seconds=SLOT)


def test_a_read_that_gave_way_long_enough_queues_like_a_send(tenant):
    free_at = queued_ahead(tenant, 2)
    assert pacing._take_slot(pacing.Slot(tenant, BACKGROUND), give_way=False) is None
    assert pace(tenant).next_call_at == free_at + datetime.timedelta(seconds=SLOT)


def test_sends_that_arrive_while_a_background_read_waits_leave_before_it(tenant, monkeypatch):
    left, take = [], pacing._take_slot

    def two_sends_arrive_meanwhile(slot, **options):
        wait = take(slot, **options)
        if slot.purpose == BACKGROUND and wait is not None and not left:
            for _ in range(2):
                with pacing.call(tenant, purpose=SEND):
                    left.append("send")
        return wait

    queued_ahead(tenant, 1)
    monkeypatch.setattr(pacing, "_take_slot", two_sends_arrive_meanwhile)
    with pacing.call(tenant, purpose=BACKGROUND):  # it came first, but a slot was taken: it gives way
        left.append("background")
    assert left == ["send", "send", "background"]


# --- Each call of XeroApi names its purpose ----------------------------------------------------------
LINE = LineOut(description="Freight", quantity=Decimal("1"), unit_amount=Decimal("1"), account_code="200", tax_type="")
DOCUMENT = DocumentOut(
    credit_note=False,
    number="INV-1",
    contact_id=str(uuid.uuid4()),
    reference="",
    currency="NZD",
    date=datetime.date.today(),
    due_date=None,
    lines=(LINE,),
)
PURPOSES = [
    ("read_organisation", (), {}, BACKGROUND),
    ("read_accounts", (), {}, BACKGROUND),
    ("read_tax_rates", (), {}, BACKGROUND),
    ("read_currencies", (), {}, BACKGROUND),
    ("find_contacts_like", (), {"account_numbers": ["A1"], "names": ["A"], "spaced_numbers": False}, BACKGROUND),
    ("find_sales_numbers_from", ("INV-",), {"credit_notes": False}, BACKGROUND),
    ("read_modified_states", (), {"credit_notes": False, "modified_after": timezone.now(), "page": 1}, BACKGROUND),
    ("read_states", ("INVOICE", [str(uuid.uuid4())]), {}, STATUS),
    ("read_states", ("CREDITNOTE", [str(uuid.uuid4())]), {}, STATUS),
    ("create_documents", ([DOCUMENT],), {}, SEND),
    ("find_contacts", (["A1"],), {}, SEND),
    ("create_contacts", ([{"name": "A", "account_number": "A1"}],), {}, SEND),
    ("find_documents", (["INV-1"],), {"credit_notes": False}, SEND),
    ("credit_position", (), {"invoice_id": str(uuid.uuid4()), "credit_note_id": str(uuid.uuid4())}, SEND),
    (
        "allocate_credit_note",
        (),
        {"credit_note_id": "c", "invoice_id": "i", "amount": Decimal("1"), "date": datetime.date.today()},
        SEND,
    ),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "purpose"), PURPOSES, ids=[p[0] for p in PURPOSES])
def test_each_call_of_xero_api_is_paced_for_its_purpose(db, monkeypatch, method, args, kwargs, purpose):
    asked = []

    @contextmanager
    def call(tenant_id, *, purpose):
        asked.append(purpose)
        raise Paused(timezone.now(), "held here, before any request")
        yield

    monkeypatch.setattr(pacing, "call", call)
    api = XeroApi(XeroConnectionFactory())
    with pytest.raises(Paused):
        getattr(api, method)(*args, **kwargs)
    assert asked == [purpose]
    assert api._purpose == SEND  # back to the default once the method returns
