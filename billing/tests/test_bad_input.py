"""Bad input on the billing screens gets a clear message and changes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import DocumentSequence, Invoice, InvoiceLine, Rate

from .factories import BillingAccountFactory, InvoiceFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from .test_views import invoice_post, line_data

pytestmark = pytest.mark.django_db

LARGEST_FIGURE = "99999999999.9999"  # 15 digits: the most a quantity or unit price keeps


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def books():
    """A billing account, a rate and a tax rate to write lines with."""
    return BillingAccountFactory(currency="NZD"), RateFactory(label="Sea freight"), TaxRateFactory()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("quantity", "-1", "Ensure this value is greater than or equal to 0.0001."),
        ("quantity", "0", "Ensure this value is greater than or equal to 0.0001."),
        ("quantity", "1.00001", "Ensure that there are no more than 4 decimal places."),
        ("quantity", "   ", "Enter a number."),
        ("quantity", "NaN", "Enter a number."),
        ("unit_price", "1e30", "Ensure that there are no more than 15 digits in total."),
        ("unit_price", "99999999999999.9999", "Ensure that there are no more than 15 digits in total."),
        ("rate", "999999", "Select a valid choice."),
    ],
)
def test_a_bad_line_value_is_refused_with_a_message_and_nothing_is_saved(staff, books, field, value, message):
    account, rate, gst = books
    bad_line = {**line_data(rate, gst), field: value}
    response = staff.post(reverse("billing:invoice_create"), invoice_post(account, bad_line))
    assert response.status_code == 200
    assert message in page(response)
    assert not Invoice.objects.exists()


def test_a_line_amount_too_large_for_a_document_is_refused_with_a_message_and_nothing_is_saved(staff, books):
    account, rate, gst = books
    huge = line_data(rate, gst, quantity=LARGEST_FIGURE, unit_price=LARGEST_FIGURE)
    response = staff.post(reverse("billing:invoice_create"), invoice_post(account, huge))
    assert response.status_code == 200
    assert "Line 1: " in page(response)
    assert "is more than a document can hold (at most 999,999,999,999.99)" in page(response)
    assert not Invoice.objects.exists()
    assert not InvoiceLine.objects.exists()


def test_a_too_large_line_leaves_an_existing_draft_as_it_was(staff, books):
    account, rate, gst = books
    draft = draft_with_lines(line(rate=rate, tax_rate=gst, unit_price="10"), billing_account=account)
    huge = line_data(rate, gst, quantity=LARGEST_FIGURE, unit_price="20")
    response = staff.post(reverse("billing:invoice_edit", args=[draft.pk]), invoice_post(account, huge))
    assert "is more than a document can hold" in page(response)
    draft.refresh_from_db()
    assert draft.total == Decimal("11.50")
    assert [line.unit_price for line in draft.lines.all()] == [Decimal("10")]


def test_an_unknown_currency_is_refused_with_a_message(staff, books):
    account, rate, gst = books
    data = invoice_post(account, line_data(rate, gst), currency="XYZ")
    response = staff.post(reverse("billing:invoice_create"), data)
    assert "Select a valid choice. XYZ is not one of the available choices." in page(response)
    assert not Invoice.objects.exists()


def test_a_partly_filled_line_is_an_error_not_silently_dropped(staff, books):
    account, rate, gst = books
    only_a_quantity = {"quantity": "3"}
    response = staff.post(
        reverse("billing:invoice_create"), invoice_post(account, line_data(rate, gst), only_a_quantity)
    )
    assert response.status_code == 200
    assert page(response).count("This field is required.") == 3  # rate, unit price and tax rate
    assert not Invoice.objects.exists()


def test_an_untouched_extra_line_is_ignored(staff, books):
    account, rate, gst = books
    blank_line = {"rate": "", "description": "   ", "quantity": "", "unit_price": "", "tax_rate": ""}
    staff.post(reverse("billing:invoice_create"), invoice_post(account, line_data(rate, gst), blank_line))
    assert Invoice.objects.get().lines.count() == 1


@pytest.mark.parametrize("description", ["", "   "])
def test_a_line_without_a_description_takes_its_rates_label(staff, books, description):
    account, rate, gst = books
    data = invoice_post(account, {**line_data(rate, gst), "description": description})
    staff.post(reverse("billing:invoice_create"), data)
    assert Invoice.objects.get().lines.get().description == "Sea freight"


def test_a_credit_note_crediting_another_accounts_invoice_is_refused_when_saved(staff, books):
    account, rate, gst = books
    others = services.invoice_issue(invoice=draft_with_lines())
    data = {**invoice_post(account, line_data(rate, gst)), "credited_invoice": others.pk}
    response = staff.post(reverse("billing:invoice_create") + "?kind=credit_note", data)
    assert f"{others} was raised to another billing account" in page(response)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_posting_an_edit_to_an_issued_invoice_changes_nothing(staff, books):
    account, rate, gst = books
    issued = services.invoice_issue(invoice=draft_with_lines())
    edit = invoice_post(account, line_data(rate, gst, quantity="7"), reference="CHANGED")
    response = staff.post(reverse("billing:invoice_edit", args=[issued.pk]), edit, follow=True)
    assert f"{issued} is issued and can no longer be edited." in page(response)
    after = Invoice.objects.get(pk=issued.pk)
    assert (after.billing_account_id, after.reference, after.total) == (
        issued.billing_account_id,
        issued.reference,
        issued.total,
    )
    assert [line.quantity for line in after.lines.all()] == [Decimal("1")]


def test_deleting_an_issued_invoice_is_refused_and_it_stays(staff):
    issued = services.invoice_issue(invoice=draft_with_lines())
    response = staff.post(reverse("billing:invoice_delete", args=[issued.pk]), follow=True)
    assert "an issued document cannot be changed. Correct it with a credit note." in page(response)
    assert Invoice.objects.get(pk=issued.pk).status == Invoice.Status.ISSUED


def test_issuing_twice_in_a_row_gives_one_number_and_says_why(staff):
    draft = draft_with_lines()
    staff.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"})
    response = staff.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"}, follow=True)
    assert "INV-000001 is issued: an issued document cannot be changed." in page(response)
    assert Invoice.objects.get(pk=draft.pk).number == "INV-000001"
    assert DocumentSequence.objects.get(kind=Invoice.Kind.INVOICE).last_number == 1


def test_an_issue_date_too_late_to_add_the_payment_terms_to_is_refused_with_a_message(staff):
    draft = draft_with_lines(issue_date=datetime.date(9999, 12, 31))
    response = staff.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"}, follow=True)
    assert "The issue date 9999-12-31 leaves no room for the payment terms" in page(response)
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (Invoice.Status.DRAFT, None)


def test_the_invoice_list_pages_keep_the_filters(staff):
    account, other = BillingAccountFactory(), BillingAccountFactory()
    InvoiceFactory.create_batch(51, billing_account=account, reference="MINE")
    InvoiceFactory(billing_account=other, reference="THEIRS")
    filters = {"billing_account": account.pk, "status": "draft"}
    first = staff.get(reverse("billing:invoice_list"), filters)
    assert f"?billing_account={account.pk}&amp;status=draft&amp;page=2" in page(first)
    second = staff.get(reverse("billing:invoice_list"), {**filters, "page": 2})
    assert page(second).count(">MINE<") == 1  # one row (the reference is also in its title, for hover)
    assert "THEIRS" not in page(second)
    assert f'<option value="{account.pk}" selected>' in page(second)  # the filter still shows on page 2


def test_an_unknown_filter_value_is_reported_and_the_valid_filters_still_apply(staff):
    draft_with_lines(reference="AN-INVOICE")
    draft_with_lines(kind=Invoice.Kind.CREDIT_NOTE, reference="A-CREDIT-NOTE")
    response = staff.get(reverse("billing:invoice_list"), {"status": "bogus", "kind": "credit_note"})
    assert "Status: Select a valid choice. bogus is not one of the available choices." in page(response)
    assert "A-CREDIT-NOTE" in page(response) and "AN-INVOICE" not in page(response)


def test_a_rate_whose_two_codes_are_the_same_is_told_so_once(staff):
    response = staff.post(
        reverse("billing:rate_create"),
        {"label": "Same", "category": "freight", "cost_account_code": "200", "revenue_account_code": "200"},
    )
    assert page(response).count("must differ") == 1
    assert not Rate.objects.exists()
