"""Organisations with work take turns: a company with a big backlog never holds back another company's few
documents; an organisation whose next call slot is taken, or that is paused, waits its turn while another's
slot is free; one whose sends the day's reserve holds (pacing.py) takes no turn until Xero's day has room again.
On the in-memory Xero."""

import datetime

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.tests.factories import RateFactory
from integrations.xero.api import pacing
from integrations.xero.api.errors import Paused
from integrations.xero.api.pacing import Purpose
from integrations.xero.conftest import issued, state_of
from integrations.xero.models import CallPace, SyncRecord
from integrations.xero.outbound import sending
from integrations.xero.outbound.tests.companies import au_company, issued_by


def served_by_round(fake_xero, other, rounds: int) -> list[str]:
    """Which organisation each round sent to: "ours" (the default company's) or "theirs"."""
    served = []
    for _ in range(rounds):
        before = (len(fake_xero.org.documents), len(other.org.documents))
        sending.sync_round_push()
        after = (len(fake_xero.org.documents), len(other.org.documents))
        served.append("ours" if after[0] > before[0] else "theirs" if after[1] > before[1] else "none")
    return served


def test_a_big_backlog_takes_turns_with_a_company_that_issued_later(fake_xero, codes):
    backlog = [issued(codes) for _ in range(sending.BATCH_SIZE * 3)]  # three batches, issued first
    au = au_company()
    few = [issued_by(au, codes) for _ in range(3)]
    assert served_by_round(fake_xero, au, 3) == ["ours", "theirs", "ours"]
    assert all(state_of(document).state == "sent" for document in few)
    assert sum(state_of(document).state == "sent" for document in backlog) == 2 * sending.BATCH_SIZE


def test_an_organisation_whose_next_slot_is_taken_waits_while_another_is_free(fake_xero, codes):
    au = au_company()
    ours, theirs = issued(codes), issued_by(au, codes)
    pacing.ensure_row(str(fake_xero.connection.tenant_id))
    later = timezone.now() + datetime.timedelta(seconds=30)
    CallPace.objects.filter(tenant_id=fake_xero.connection.tenant_id).update(next_call_at=later)
    sending.sync_round_push()
    assert (state_of(ours).state, state_of(theirs).state) == ("waiting", "sent")


def test_a_paused_organisation_takes_no_turn_and_its_documents_wait(fake_xero, codes):
    au = au_company()
    ours, theirs = issued(codes), issued_by(au, codes)
    pacing.pause(tenant_id=str(fake_xero.connection.tenant_id), seconds=600, reason="Xero's daily call limit")
    assert sending.sync_round_push() == 1
    assert sending.sync_round_push() == 0
    assert (state_of(ours).state, state_of(ours).attempts, state_of(theirs).state) == ("waiting", 0, "sent")


def xero_said(connection, remaining: int, *, ago: float = 0) -> None:
    """As though Xero's last answer for the organisation said this many calls were left of its day."""
    pacing.ensure_row(str(connection.tenant_id))
    at = timezone.now() - datetime.timedelta(seconds=ago)
    CallPace.objects.filter(tenant_id=connection.tenant_id).update(day_remaining=remaining, day_remaining_at=at)


def test_an_organisation_whose_day_reserve_holds_sending_takes_no_turn_while_another_has_work(
    fake_xero, codes, settings
):
    settings.XERO_DAY_RESERVE = 200
    au = au_company()
    ours, theirs = issued(codes), issued_by(au, codes)  # ours would go first: issued first, its link the older
    xero_said(fake_xero.connection, 200)
    due = SyncRecord.objects.filter(state=SyncRecord.State.WAITING)
    with CaptureQueriesContext(db) as queries:
        assert sending._next_turn(due, timezone.now()) == au.connection
    assert len(queries) == 1  # still one query
    assert served_by_round(fake_xero, au, 2) == ["theirs", "none"]
    assert (state_of(ours).state, state_of(ours).attempts, state_of(theirs).state) == ("waiting", 0, "sent")


def test_a_day_with_one_call_more_than_the_reserve_left_still_takes_its_turn(fake_xero, codes, settings):
    settings.XERO_DAY_RESERVE = 200
    xero_said(fake_xero.connection, 201)
    ours = issued(codes)
    assert sending.sync_round_push() == 1 and state_of(ours).state == "sent"


def test_a_held_organisation_takes_its_turn_again_once_xero_says_its_day_has_room(fake_xero, codes, settings):
    settings.XERO_DAY_RESERVE = 200
    tenant_id = str(fake_xero.connection.tenant_id)
    xero_said(fake_xero.connection, 150)
    ours = issued(codes)
    assert sending.sync_round_push() == 0 and state_of(ours).attempts == 0
    with pacing.call(tenant_id, purpose=Purpose.STATUS) as slot:  # a status read goes on within the reserve
        slot.heard({"X-DayLimit-Remaining": "900"})  # yesterday's calls left Xero's window
    assert sending.sync_round_push() == 1 and state_of(ours).state == "sent"


def test_a_held_organisation_takes_its_turn_again_once_its_note_of_the_day_is_due_its_recheck(
    fake_xero, codes, settings
):
    settings.XERO_DAY_RESERVE = 200
    xero_said(fake_xero.connection, 150)
    ours = issued(codes)
    assert sending.sync_round_push() == 0
    recheck = CallPace.objects.get(tenant_id=fake_xero.connection.tenant_id).day_remaining_at + pacing.RECHECK
    assert sending.sync_round_push(now=recheck) == 1  # its first call asks Xero how much of the day is left
    assert state_of(ours).state == "sent"


def test_a_reserve_of_zero_holds_no_turn(fake_xero, codes, settings):
    settings.XERO_DAY_RESERVE = 0
    xero_said(fake_xero.connection, 1)
    ours = issued(codes)
    assert sending.sync_round_push() == 1 and state_of(ours).state == "sent"


@pytest.mark.parametrize(
    ("reserve", "remaining", "ago"),
    [
        (200, 200, 0),
        (200, 201, 0),
        (200, 0, 0),
        (200, 150, pacing.DAY_LIMIT_PAUSE_SECONDS - 60),
        (200, 150, pacing.DAY_LIMIT_PAUSE_SECONDS + 1),
        (200, None, 0),
        (0, 1, 0),
    ],
)
def test_an_organisation_takes_its_turn_exactly_when_a_send_to_it_would_go(
    fake_xero, codes, settings, reserve, remaining, ago
):
    settings.XERO_DAY_RESERVE = reserve
    issued(codes)
    xero_said(fake_xero.connection, remaining, ago=ago)
    due = SyncRecord.objects.filter(state=SyncRecord.State.WAITING)
    takes_turn = sending._next_turn(due, timezone.now()) is not None
    try:
        with pacing.call(str(fake_xero.connection.tenant_id), purpose=Purpose.SEND):
            goes = True
    except Paused:
        goes = False
    assert takes_turn == goes


def test_sync_exceptions_show_and_filter_by_company_once_there_are_several(fake_xero, codes, admin_client):
    au = au_company()
    broken = RateFactory(label="Air", revenue_account_code="999")  # no such account in either organisation
    ours, theirs = issued(codes, rate=broken), issued_by(au, codes, rate=broken)
    while sending.sync_round_push():
        pass
    assert (state_of(ours).state, state_of(theirs).state) == ("failed", "failed")
    page = admin_client.get(reverse("xero:sync_exceptions"), {"company": au.company.pk}).content.decode()
    assert f">{theirs.number}<" in page and f">{ours.number}<" not in page
    assert "<th>Company</th>" in page and 'data-testid="company-filter"' in page
    everyone = admin_client.get(reverse("xero:sync_exceptions")).content.decode()
    assert f">{theirs.number}<" in everyone and f">{ours.number}<" in everyone
