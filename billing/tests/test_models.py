import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from billing.models import Invoice, InvoiceLine, Rate

from .factories import BillingAccountFactory, InvoiceFactory, RateFactory, TaxRateFactory

pytestmark = pytest.mark.django_db


def test_the_accounting_code_is_the_part_after_the_pipe():
    rate = Rate(label="Sea freight", revenue_account_code="SEA|200", cost_account_code="310")
    assert rate.revenue_accounting_code == "200"
    assert rate.cost_accounting_code == "310"


def test_a_rate_needs_at_least_one_code():
    rate = Rate(label="Nothing", cost_account_code="", revenue_account_code="")
    with pytest.raises(ValidationError, match="cost account code, a revenue account code, or both"):
        rate.full_clean()
    with pytest.raises(IntegrityError):
        rate.save()


def test_a_rate_with_only_a_cost_code_is_valid():
    rate = Rate(label="Trucking cost", cost_account_code="310", revenue_account_code="")
    rate.full_clean()  # raises if the rule were "both codes required"
    rate.save()
    assert Rate.objects.get(pk=rate.pk).revenue_accounting_code == ""


def test_cost_and_revenue_codes_must_differ():
    with pytest.raises(IntegrityError):
        Rate.objects.create(label="Same", cost_account_code="200", revenue_account_code="200")


def test_cost_and_revenue_codes_must_not_post_to_the_same_account_through_prefixes():
    rate = Rate(label="Same account", cost_account_code="AIR|200", revenue_account_code="SEA|200")
    with pytest.raises(ValidationError, match="both post to account 200"):
        rate.full_clean()


def test_each_code_is_unique_among_its_kind():
    RateFactory(revenue_account_code="SEA|200", cost_account_code="310")
    duplicate = Rate(label="Other", revenue_account_code="SEA|200", cost_account_code="311")
    with pytest.raises(ValidationError, match="Another rate already uses this revenue account code"):
        duplicate.full_clean()
    with pytest.raises(IntegrityError):
        duplicate.save()


def test_many_rates_may_leave_the_same_kind_of_code_empty():
    Rate.objects.create(label="Cost only A", cost_account_code="310", revenue_account_code="")
    Rate.objects.create(label="Cost only B", cost_account_code="311", revenue_account_code="")
    assert Rate.objects.filter(revenue_account_code="").count() == 2


@pytest.mark.parametrize("code", ["SEA|", "|200", "A|B|200", "SEA 200"])
def test_malformed_codes_are_rejected_with_the_expected_form(code):
    with pytest.raises(ValidationError) as error:
        Rate(label="Bad", revenue_account_code=code).full_clean()
    assert "revenue_account_code" in error.value.message_dict


def test_billing_account_codes_are_unique():
    BillingAccountFactory(code="ACME01")
    with pytest.raises(IntegrityError):
        BillingAccountFactory(code="ACME01")


def test_billing_account_codes_are_at_most_50_characters_like_xero_account_numbers():
    account = BillingAccountFactory.build(code="X" * 51)
    with pytest.raises(ValidationError) as error:
        account.full_clean()
    assert "code" in error.value.message_dict


def test_billing_account_codes_keep_no_surrounding_spaces():
    with pytest.raises(ValidationError, match="Remove the spaces"):
        BillingAccountFactory.build(code=" ACME01").full_clean()


def test_billing_account_currency_must_be_an_iso_4217_code():
    with pytest.raises(ValidationError) as error:
        BillingAccountFactory.build(currency="XYZ").full_clean()
    assert "currency" in error.value.message_dict


@pytest.mark.parametrize("percent", ["-1", "100.0001"])
def test_a_tax_rate_is_a_percentage(percent):
    with pytest.raises(IntegrityError):
        TaxRateFactory(rate=percent)


def test_only_a_credit_note_names_a_credited_invoice():
    invoice = InvoiceFactory()
    with pytest.raises(IntegrityError):
        InvoiceFactory(kind=Invoice.Kind.INVOICE, credited_invoice=invoice)


def test_a_draft_has_no_number_and_an_issued_document_has_one():
    with pytest.raises(IntegrityError):
        InvoiceFactory(status=Invoice.Status.ISSUED, number=None)


def test_a_credit_notes_total_shows_as_negative():
    credit_note = Invoice(kind=Invoice.Kind.CREDIT_NOTE, total=Decimal("115.00"))
    invoice = Invoice(kind=Invoice.Kind.INVOICE, total=Decimal("115.00"))
    assert (credit_note.signed_total, invoice.signed_total) == (Decimal("-115.00"), Decimal("115.00"))


def test_an_issued_document_has_both_its_dates():
    with pytest.raises(IntegrityError):
        InvoiceFactory(status=Invoice.Status.ISSUED, number="INV-000009", issue_date=datetime.date(2026, 11, 27))


def test_an_issued_documents_total_is_never_negative():
    with pytest.raises(IntegrityError):
        InvoiceFactory(
            status=Invoice.Status.ISSUED,
            number="INV-000009",
            total=Decimal("-1.00"),
            issue_date=datetime.date(2026, 11, 27),
            due_date=datetime.date(2026, 12, 27),
        )


def test_a_line_always_has_a_description():
    with pytest.raises(IntegrityError):
        InvoiceLine.objects.create(
            invoice=InvoiceFactory(),
            rate=RateFactory(),
            tax_rate=TaxRateFactory(),
            description="",
            quantity=Decimal("1"),
            unit_price=Decimal("1"),
        )


def test_the_largest_quantity_and_unit_price_come_back_exactly():
    # 15 digits: what every supported database, SQLite included, stores without rounding.
    largest = Decimal("99999999999.9999")
    line = InvoiceLine.objects.create(
        invoice=InvoiceFactory(),
        rate=RateFactory(),
        tax_rate=TaxRateFactory(),
        description="Bulk",
        quantity=largest,
        unit_price=-largest,
    )
    line.refresh_from_db()
    assert (line.quantity, line.unit_price) == (largest, -largest)
    with pytest.raises(ValidationError) as error:
        InvoiceLine(quantity=Decimal("999999999999.9999")).clean_fields(exclude=["invoice", "rate", "tax_rate"])
    assert "quantity" in error.value.message_dict
