"""Documents in a foreign currency through the real SDK: only the organisation's enabled currencies, Xero's
daily rate unless one is sent (a base-currency document's rate is always 1), payments in the document's
currency at the payment day's rate, and no allocation across currencies."""

import datetime
from decimal import Decimal

import pytest
from xero_python.accounting import Account, Allocation, Allocations, CurrencyCode, Invoice, Invoices, Payment
from xero_python.exceptions import AccountingBadRequestException

from xero_sandbox.models import Document, ExchangeRate

from .books_factories import DAY, contact, document, sdk_invoice

# Units of USD to one NZD, as XE.com quotes them on three days around DAY.
RATES = {DAY - datetime.timedelta(days=3): "0.601000", DAY: "0.598200", DAY + datetime.timedelta(days=10): "0.612500"}


@pytest.fixture
def acme(nz):
    return contact(nz, "ACME01")


@pytest.fixture
def usd_rates(nz):
    ExchangeRate.objects.filter(organisation=nz, currency_code="USD").delete()
    ExchangeRate.objects.bulk_create(
        ExchangeRate(organisation=nz, currency_code="USD", date=day, rate=Decimal(rate)) for day, rate in RATES.items()
    )


def create(linked, *invoices):
    return linked.api.create_invoices(
        linked.tenant(), Invoices(invoices=list(invoices)), summarize_errors=False
    ).invoices


def refusal(linked, invoice) -> list[str]:
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_invoices(linked.tenant(), Invoices(invoices=[invoice]))
    return [e["Message"] for e in error.value.error_data["Elements"][0]["ValidationErrors"]]


def test_a_usd_invoice_sent_without_a_rate_takes_xeros_rate_for_its_date(linked, acme, usd_rates):
    on_the_day, between = create(
        linked,
        sdk_invoice(acme, currency_code=CurrencyCode.USD),
        sdk_invoice(acme, currency_code=CurrencyCode.USD, date=DAY + datetime.timedelta(days=4)),
    )
    assert (on_the_day.currency_code, on_the_day.currency_rate, on_the_day.total) == (
        CurrencyCode.USD,
        Decimal("0.5982"),
        115,
    )
    assert between.currency_rate == Decimal("0.5982")  # no rate that day: the latest before it


def test_a_rate_sent_with_the_invoice_is_kept_to_six_places(linked, acme, usd_rates):
    (sent,) = create(linked, sdk_invoice(acme, currency_code=CurrencyCode.USD, currency_rate=0.61234567))
    assert sent.currency_rate == Decimal("0.612346")
    assert Document.objects.get(document_id=sent.invoice_id).currency_rate == Decimal("0.612346")


def test_a_base_currency_invoice_has_a_rate_of_one_whatever_is_sent(linked, acme):
    (sent,) = create(linked, sdk_invoice(acme, currency_code=CurrencyCode.NZD, currency_rate=2.5))
    assert sent.currency_rate == 1


@pytest.mark.parametrize(("rate", "as_sent"), [(0, "0.0"), (-0.5, "-0.5")])  # the SDK sends a float
def test_a_rate_of_zero_or_less_is_refused(linked, acme, rate, as_sent):
    assert refusal(linked, sdk_invoice(acme, currency_code=CurrencyCode.USD, currency_rate=rate)) == [
        f"The CurrencyRate '{as_sent}' must be a number greater than zero."
    ]


def test_a_currency_the_organisation_has_not_enabled_is_refused_with_xeros_message(linked, acme):
    assert refusal(linked, sdk_invoice(acme, currency_code=CurrencyCode.GBP)) == [
        "Organisation is not subscribed to currency GBP"
    ]


def test_payments_on_a_usd_invoice_are_in_usd_at_the_payment_days_rate(linked, acme, usd_rates):
    invoice = document(acme, currency_code="USD")
    later = DAY + datetime.timedelta(days=12)
    part = Payment(
        invoice=Invoice(invoice_id=str(invoice.document_id)), account=Account(code="260"), amount=40, date=later
    )
    paid = linked.api.create_payment(linked.tenant(), part).payments[0]
    assert (paid.amount, paid.currency_rate) == (40, Decimal("0.6125"))
    found = linked.api.get_invoice(linked.tenant(), str(invoice.document_id)).invoices[0]
    assert (found.currency_code, found.currency_rate, found.amount_paid, found.amount_due) == (
        CurrencyCode.USD,
        Decimal("0.5982"),
        40,
        75,
    )
    assert [p.currency_rate for p in found.payments] == [Decimal("0.6125")]


def test_a_credit_note_cannot_be_allocated_to_an_invoice_in_another_currency(linked, acme, usd_rates):
    invoice = document(acme, currency_code="USD")
    credit_note = document(acme, type=Document.CREDIT_NOTE)  # in NZD
    allocation = Allocation(invoice=Invoice(invoice_id=str(invoice.document_id)), amount=10, date=DAY)
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_credit_note_allocation(
            linked.tenant(), str(credit_note.document_id), Allocations(allocations=[allocation])
        )
    messages = [e["Message"] for e in error.value.error_data["Elements"][0]["ValidationErrors"]]
    assert messages == ["The credit note and the invoice must be in the same currency"]
    invoice.refresh_from_db()
    assert invoice.amount_due == 115
