"""A document in another currency than its company's may carry the exchange rate to use for it; left empty, the
accounting system's rate for the day applies (never 1 by default)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services
from billing.models import Invoice

from .factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from .test_views import invoice_post, line_data

pytestmark = pytest.mark.django_db


def test_a_usd_draft_keeps_the_exchange_rate_entered_and_its_page_shows_it(staff):
    account, rate, gst = BillingAccountFactory(currency="USD"), RateFactory(), TaxRateFactory()
    data = invoice_post(account, line_data(rate, gst), currency="USD") | {"exchange_rate": "0.5895"}
    staff.post(reverse("billing:invoice_create"), data)
    invoice = Invoice.objects.get()
    assert invoice.exchange_rate == Decimal("0.5895")
    page = staff.get(invoice.get_absolute_url()).content.decode()
    assert 'data-testid="exchange-rate">0.5895 USD to 1 NZD<' in page


def test_a_draft_without_an_exchange_rate_has_none_not_one(staff):
    account, rate, gst = BillingAccountFactory(currency="USD"), RateFactory(), TaxRateFactory()
    staff.post(reverse("billing:invoice_create"), invoice_post(account, line_data(rate, gst), currency="USD"))
    invoice = Invoice.objects.get()
    assert invoice.exchange_rate is None
    assert 'data-testid="exchange-rate"' not in staff.get(invoice.get_absolute_url()).content.decode()


@pytest.mark.parametrize("entered", ["0", "-1.2"])
def test_an_exchange_rate_of_zero_or_less_is_refused_and_nothing_is_saved(staff, entered):
    account, rate, gst = BillingAccountFactory(currency="USD"), RateFactory(), TaxRateFactory()
    data = invoice_post(account, line_data(rate, gst), currency="USD") | {"exchange_rate": entered}
    page = staff.post(reverse("billing:invoice_create"), data).content.decode()
    assert "Ensure this value is greater than or equal to 0.000001." in page
    assert not Invoice.objects.exists()


def test_a_document_in_the_companys_base_currency_takes_no_exchange_rate(staff):
    account, rate, gst = BillingAccountFactory(currency="NZD"), RateFactory(), TaxRateFactory()
    data = invoice_post(account, line_data(rate, gst), currency="NZD") | {"exchange_rate": "1.1"}
    page = staff.post(reverse("billing:invoice_create"), data).content.decode()
    assert "NZD is Cocoon Freight Ltd&#x27;s base currency: a document in it takes no exchange rate." in page
    assert not Invoice.objects.exists()


def test_the_services_refuse_an_exchange_rate_on_a_base_currency_document():
    with pytest.raises(ValidationError) as refused:
        draft_with_lines(line(), billing_account=BillingAccountFactory(currency="NZD"), exchange_rate=Decimal("2"))
    assert "exchange_rate" in refused.value.message_dict
    assert not Invoice.objects.exists()


def test_an_issued_document_keeps_its_exchange_rate(staff):
    draft = draft_with_lines(
        line(), billing_account=BillingAccountFactory(currency="AUD"), currency="AUD", exchange_rate=Decimal("0.9123")
    )
    assert services.invoice_issue(invoice=draft).exchange_rate == Decimal("0.9123")
