"""Near the end of an organisation's day, over HTTP against the sandbox (its DAY_LIMIT set small): sending
stops with the reason on the document's Xero panel and on the Add Ons page, the organisation takes no more turns
to send, while payments are still read back."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from billing.tests.factories import BillingAccountFactory
from integrations.xero.api import pacing
from integrations.xero.conftest import issued, state_of
from integrations.xero.inbound import inbox
from integrations.xero.models import CallPace, SyncAttempt
from integrations.xero.outbound import sending
from xero_sandbox import books
from xero_sandbox.models import Document, RequestLog

KEPT = "nearly used up: the last 3 calls of the day are kept for reading payments and voids back"


def calls_to(connection) -> int:
    """What the sandbox counts against the organisation's day (its refusals aside)."""
    return RequestLog.objects.filter(organisation__tenant_id=connection.tenant_id).exclude(status_code=429).count()


def paid_in_xero(invoice) -> None:
    books.document_pay(document=Document.objects.get(document_id=state_of(invoice).xero_id), amount=Decimal("287.50"))


def test_near_the_days_end_sending_waits_with_the_reason_while_payments_are_still_read_back(
    linked, codes, settings, admin_client
):
    settings.XERO_DAY_RESERVE = 3
    account = BillingAccountFactory(code="ACME01")
    first, second = issued(codes, account=account), issued(codes, account=account)
    sending.sync_round_push()  # both in one batch, with the day's calls to spare
    assert [state_of(i).state for i in (first, second)] == ["sent", "sent"]
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "DAY_LIMIT": calls_to(linked) + 4}

    third = issued(codes, account=BillingAccountFactory(code="GLOBEX01"))  # a customer Xero does not know yet
    calls_before = calls_to(linked)
    sending.sync_round_push()  # its contact is looked up (Xero: 3 calls left), then creating it is held
    assert calls_to(linked) == calls_before + 1
    assert CallPace.objects.get(tenant_id=linked.tenant_id).day_remaining == 3
    held = state_of(third)
    assert held.state == "waiting" and KEPT in held.error
    assert (held.next_attempt_at - timezone.now()).total_seconds() > pacing.DAY_LIMIT_PAUSE_SECONDS - 60  # no spin
    assert SyncAttempt.objects.get(record=held).outcome == SyncAttempt.Outcome.DEFERRED

    fourth = issued(codes, account=account)  # due now, but its organisation takes no turn while held
    assert sending.sync_round_push() == 0 and calls_to(linked) == calls_before + 1
    assert (state_of(fourth).state, state_of(fourth).attempts) == ("waiting", 0)
    card = admin_client.get("/addons/").content.decode()
    assert 'data-testid="xero-day-reserve">Sending is held until ' in card and KEPT in card

    paid_in_xero(first)
    assert inbox.document_states_read_back(record_ids=[state_of(first).pk]) == 1  # a status read still goes
    assert state_of(first).xero_status == "PAID"
    assert CallPace.objects.get(tenant_id=linked.tenant_id).day_remaining == 3  # 2 left: no threshold crossed
    assert not RequestLog.objects.filter(status_code=429).exists()

    get_user_model().objects.get(username="admin").user_permissions.add(Permission.objects.get(codename="view_invoice"))
    panel = admin_client.get(third.get_absolute_url()).content.decode()
    assert panel.count(KEPT) == 2  # why it waits, and its attempt's line
    assert "Put off" in panel
