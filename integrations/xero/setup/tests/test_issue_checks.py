"""Issuing asks first, and says what Xero would refuse: a currency the linked organisation has not
enabled stops the issue (the document would be locked and never sent); codes Xero would refuse allow
"Issue anyway" (they can be fixed before the document is sent again). On the in-memory Xero's link."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from billing.models import Invoice
from billing.tests.factories import BillingAccountFactory, RateFactory, draft_with_lines, line
from integrations.xero.models import XeroConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(client):
    client.force_login(get_user_model().objects.create_superuser("finance", password="pw"))
    return client


def test_a_draft_in_a_currency_the_organisation_lacks_cannot_be_issued_and_says_why(fake_xero, codes, finance):
    draft = draft_with_lines(
        line(rate=codes["rate"], tax_rate=codes["tax"]), billing_account=BillingAccountFactory(currency="GBP")
    )
    page = finance.get(reverse("billing:invoice_issue", args=[draft.pk])).content.decode()
    assert "its currency GBP is not enabled in the Xero organisation Fake Freight NZ Ltd, which has NZD" in page
    assert 'data-testid="issue-now"' not in page
    answer = finance.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"}, follow=True)
    assert "Not issued: Xero would refuse it: its currency GBP" in answer.content.decode()
    assert Invoice.objects.get(pk=draft.pk).is_draft


def test_a_draft_whose_code_xero_lacks_may_be_issued_anyway(fake_xero, codes, finance):
    draft = draft_with_lines(line(rate=RateFactory(label="Air", revenue_account_code="999"), tax_rate=codes["tax"]))
    page = finance.get(reverse("billing:invoice_issue", args=[draft.pk])).content.decode()
    assert "Xero would refuse it: the rate “Air”" in page and "Issue anyway" in page
    finance.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"})
    assert not Invoice.objects.get(pk=draft.pk).is_draft


def test_a_draft_xero_would_take_is_confirmed_with_what_happens_next(fake_xero, codes, finance):
    draft = draft_with_lines(line(rate=codes["rate"], tax_rate=codes["tax"]))
    page = finance.get(reverse("billing:invoice_issue", args=[draft.pk])).content.decode()
    assert "It is numbered <strong>INV-000001</strong> and dated today" in page
    assert "It is locked: it can no longer be edited or deleted" in page and "Issue now" in page
    assert "The Xero add-on sends it to Fake Freight NZ Ltd in Xero, as an approved (AUTHORISED) invoice" in page
    assert 'data-testid="issue-concerns"' not in page
    assert finance.post(reverse("billing:invoice_issue", args=[draft.pk])).url.endswith("/issue/")  # not confirmed
    assert Invoice.objects.get(pk=draft.pk).is_draft
    finance.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"})
    assert Invoice.objects.get(pk=draft.pk).number == "INV-000001"


def test_the_confirmation_says_a_document_waits_while_xero_needs_linking_again(fake_xero, codes, finance):
    fake_xero.connection.status = XeroConnection.Status.NEEDS_RELINK
    fake_xero.connection.save()
    draft = draft_with_lines(line(rate=codes["rate"], tax_rate=codes["tax"]), kind="credit_note")
    page = finance.get(reverse("billing:invoice_issue", args=[draft.pk])).content.decode()
    assert "It is numbered <strong>CN-000001</strong>" in page
    assert "The Xero add-on sends it once Xero is linked again (Add Ons: Needs re-link)." in page
