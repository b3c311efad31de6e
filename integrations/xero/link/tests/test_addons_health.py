"""The Add Ons page says when the configured Xero does not answer, from what the calls recorded (the page
itself never calls Xero), instead of a plain "Linked"; and when the day's reserve holds sending, from what
Xero last said of the organisation's day."""

import datetime

import pytest
from django.template.defaultfilters import time as time_shown
from django.utils import timezone

from integrations.xero.api import pacing, transport
from integrations.xero.api.errors import XeroError
from integrations.xero.api.xero_api import XeroApi
from integrations.xero.conftest import make_admin
from integrations.xero.models import CallPace, XeroConnection
from integrations.xero.tests.factories import XeroConnectionFactory

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
NO_ANSWER = "Xero could not be reached (connection refused); it will be tried again."


@pytest.fixture
def admin(client, db, settings):
    settings.XERO_ENABLED = True
    client.force_login(make_admin())
    return client


def addons_page(client) -> str:
    return client.get("/addons/").content.decode()


def ago(minutes: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=minutes)


def test_a_link_whose_calls_are_answered_says_linked(admin):
    XeroConnectionFactory(last_success_at=ago(1))
    page = addons_page(admin)
    assert 'data-testid="xero-link-state">Linked</span>' in page and "not answering" not in page


def test_it_says_xero_is_not_answering_when_the_last_call_got_no_answer(admin, settings):
    settings.XERO_API_URL = "http://127.0.0.1:8000/xero-sandbox"
    XeroConnectionFactory(last_success_at=ago(30), last_error=NO_ANSWER, last_error_at=ago(2))
    page = addons_page(admin)
    assert 'data-testid="xero-link-state">Linked, Xero not answering</span>' in page
    assert "Xero is not answering." in page and "The last call to http://127.0.0.1:8000/xero-sandbox, at " in page
    assert "(connection refused)" in page and "Documents issued meanwhile wait and are sent when it answers" in page


def test_an_answer_after_the_failure_makes_it_linked_again(admin):
    XeroConnectionFactory(last_error=NO_ANSWER, last_error_at=ago(5), last_success_at=ago(1))
    page = addons_page(admin)
    assert 'data-testid="xero-link-state">Linked</span>' in page and "Xero is not answering" not in page


def test_a_refusal_is_an_answer_not_silence(admin):
    XeroConnectionFactory(last_error="Xero answered HTTP 500; it will be tried again.", last_error_at=ago(1))
    page = addons_page(admin)
    assert "Xero is not answering" not in page and "Xero answered HTTP 500" in page  # under Last error


def test_a_call_xero_does_not_answer_is_recorded_and_shown(admin, settings):
    settings.XERO_API_URL = NOWHERE
    connection = XeroConnectionFactory(last_success_at=ago(30))
    with pytest.raises(XeroError) as failure:
        XeroApi(connection).read_accounts()
    assert failure.value.status == 0  # what the attempt history shows as "no connection"
    connection.refresh_from_db()
    assert connection.last_error == NO_ANSWER and connection.last_error_at > connection.last_success_at
    assert "Xero is not answering." in addons_page(admin)


def test_the_sign_in_service_not_answering_a_refresh_is_recorded_too(admin, settings):
    settings.XERO_IDENTITY_URL = NOWHERE
    connection = XeroConnectionFactory(access_token_expires_at=ago(1))  # the next call refreshes first
    with pytest.raises(XeroError):
        XeroApi(connection).read_accounts()
    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.ACTIVE
    assert connection.last_error == "Xero's sign-in service could not be reached (connection refused)."
    assert "Xero is not answering." in addons_page(admin)


def test_the_next_answered_call_clears_it(admin, monkeypatch):
    connection = XeroConnectionFactory(last_error=NO_ANSWER, last_error_at=ago(1), last_success_at=ago(30))
    monkeypatch.setattr(transport, "answer", lambda *args, **options: {"Accounts": []})  # Xero answers
    assert XeroApi(connection).read_accounts() == []
    connection.refresh_from_db()
    assert connection.last_success_at > connection.last_error_at
    assert 'data-testid="xero-link-state">Linked</span>' in addons_page(admin)


def test_sandbox_urls_with_the_sandbox_switched_off_are_pointed_out(admin, settings):
    addons_page(admin)  # the URLconf is imported once per process: with the sandbox on, as the other tests need
    settings.XERO_API_URL, settings.XERO_SANDBOX_ENABLED = "http://127.0.0.1:8000/xero-sandbox", False
    assert "the sandbox is switched off (XERO_SANDBOX_ENABLED is not set)" in addons_page(admin)


# --- The day's reserve -------------------------------------------------------------------------------
def xero_said(connection, remaining: int, *, ago_seconds: float = 0) -> datetime.datetime:
    """As though Xero's last answer for the organisation said this many calls were left of its day; when."""
    pacing.ensure_row(str(connection.tenant_id))
    at = timezone.now() - datetime.timedelta(seconds=ago_seconds)
    CallPace.objects.filter(tenant_id=connection.tenant_id).update(day_remaining=remaining, day_remaining_at=at)
    return at


@pytest.fixture
def no_call_to_xero(monkeypatch):
    def answer(*args, **options):
        raise AssertionError("the Add Ons page called Xero")

    monkeypatch.setattr(transport, "answer", answer)


def test_the_card_says_the_days_reserve_holds_sending_and_until_when(admin, settings, no_call_to_xero):
    settings.XERO_DAY_RESERVE = 200
    connection = XeroConnectionFactory(last_success_at=ago(1))
    until = xero_said(connection, 150) + pacing.RECHECK
    page = addons_page(admin)
    assert f'data-testid="xero-day-reserve">Sending is held until {time_shown(timezone.localtime(until))}: ' in page
    assert "nearly used up: the last 200 calls of the day are kept for reading payments and voids back; " in page
    assert f"sending resumes when the limit resets (Xero is asked again at {timezone.localtime(until):%H:%M:%S}" in page
    assert 'data-testid="xero-paused"' not in page  # not the organisation's pause: status reads go on
    assert 'data-testid="xero-link-state">Linked</span>' in page


@pytest.mark.parametrize(
    ("remaining", "ago_seconds"),
    [(201, 0), (150, pacing.DAY_LIMIT_PAUSE_SECONDS + 1), (None, 0)],
    ids=["more-than-the-reserve-left", "the-note-due-its-recheck", "nothing-noted"],
)
def test_the_card_says_nothing_of_the_reserve_while_sending_may_go(
    admin, settings, no_call_to_xero, remaining, ago_seconds
):
    settings.XERO_DAY_RESERVE = 200
    connection = XeroConnectionFactory(last_success_at=ago(1))
    xero_said(connection, remaining, ago_seconds=ago_seconds)
    page = addons_page(admin)
    assert 'data-testid="xero-day-reserve"' not in page and "Sending is held" not in page


def test_a_pause_that_lasts_longer_is_shown_alone(admin, settings, no_call_to_xero):
    settings.XERO_DAY_RESERVE = 200
    connection = XeroConnectionFactory(last_success_at=ago(1))
    xero_said(connection, 150)
    pacing.pause(tenant_id=str(connection.tenant_id), seconds=2 * pacing.DAY_LIMIT_PAUSE_SECONDS, reason="Held.")
    page = addons_page(admin)
    assert 'data-testid="xero-paused"' in page and 'data-testid="xero-day-reserve"' not in page
