"""Organisations with work take turns: a company with a big backlog never holds back another company's few
documents; an organisation whose next call slot is taken, or that is paused, waits its turn while another's
slot is free. On the in-memory Xero."""

import datetime

from django.urls import reverse
from django.utils import timezone

from billing.tests.factories import RateFactory
from integrations.xero.api import pacing
from integrations.xero.conftest import issued, state_of
from integrations.xero.models import CallPace
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
