import pytest

from billing.tests.factories import RateFactory
from integrations.xero.conftest import issued, state_of
from integrations.xero.outbound import sending


@pytest.fixture
def synced(linked, codes):
    """Three invoices sent to the sandbox's NZ organisation, and one held back (its revenue account code is
    not in Xero's chart)."""
    sent = [issued(codes) for _ in range(3)]
    held = issued(codes, rate=RateFactory(label="Air", revenue_account_code="AIR|999"))
    while sending.sync_round_push():
        pass
    assert [state_of(invoice).state for invoice in sent] == ["sent"] * 3
    assert state_of(held).state == "failed"
    return linked
