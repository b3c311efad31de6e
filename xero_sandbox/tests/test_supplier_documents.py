"""Suppliers' bills (ACCPAY) and credit notes (ACCPAYCREDIT) beside the sales documents, as Xero keeps
them: in the same collections, with numbers the supplier typed (so not unique), paid and announced as
sales invoices are (xero-api.md §10)."""

import datetime
from decimal import Decimal

import pytest
from xero_python.accounting import Account, Allocation, Allocations, CreditNotes, Invoice, Invoices, Payment
from xero_python.exceptions import AccountingBadRequestException

from xero_sandbox import books
from xero_sandbox.models import Document, WebhookEvent

from .books_factories import DAY, contact, document, outside, sdk_bill, sdk_credit_note, sdk_invoice, sdk_line

BAD_TAX = "The TaxType code {} does not exist or cannot be used for this type of transaction."


@pytest.fixture
def acme(nz):
    return contact(nz, "ACME01")


@pytest.fixture
def supplier(nz):
    return nz.contacts.get(name="Office Supplies Co")


def create(linked, *invoices):
    return linked.api.create_invoices(
        linked.tenant(), Invoices(invoices=list(invoices)), summarize_errors=False
    ).invoices


def messages(element) -> list[str]:
    return [e.message for e in element.validation_errors or []]


def numbered(linked, **filters) -> list[tuple[str, str]]:
    found = linked.api.get_invoices(linked.tenant(), **filters).invoices
    return sorted((i.invoice_number, i.type) for i in found)


# --- Creating ------------------------------------------------------------------------------------
def test_a_bill_is_created_with_an_expense_account_and_makes_its_contact_a_supplier(linked, supplier):
    created = create(linked, sdk_bill(supplier, invoice_number="SUP-4411"))[0]
    assert (created.status_attribute_string, created.type, created.invoice_number) == ("OK", "ACCPAY", "SUP-4411")
    assert (created.total, created.amount_due) == (115, 115)
    supplier.refresh_from_db()
    assert (supplier.is_supplier, supplier.is_customer) == (True, False)


def test_bills_may_repeat_a_number_and_share_one_with_a_sales_invoice(linked, acme, supplier):
    document(acme, number="INV-0007")
    first, second = create(
        linked, sdk_bill(supplier, invoice_number="INV-0007"), sdk_bill(supplier, invoice_number="INV-0007")
    )
    assert (first.has_errors, second.has_errors) == (False, False)
    assert Document.objects.filter(number="INV-0007", type="ACCPAY").count() == 2
    # Sales numbers stay unique among sales invoices.
    assert messages(create(linked, sdk_invoice(acme, invoice_number="INV-0007"))[0]) == ["Invoice # must be unique."]


def test_a_bill_is_checked_by_the_rules_for_purchases(linked, supplier):
    refused, system, revenue = create(
        linked,
        sdk_bill(supplier, lines=[sdk_line(account_code="429", tax_type="OUTPUT2")]),  # a tax on income
        sdk_bill(supplier, lines=[sdk_line(account_code="800", tax_type="INPUT2")]),  # Accounts Payable
        sdk_bill(supplier, lines=[sdk_line(account_code="200", tax_type="NONE")]),  # lenient: any other account
    )
    assert messages(refused) == [BAD_TAX.format("OUTPUT2")]
    assert messages(system) == ["Account code '800' is not a valid code for this document."]
    assert revenue.has_errors is False


def test_a_bill_without_a_number_is_left_without_one(linked, supplier):
    created = create(linked, sdk_bill(supplier))[0]
    assert created.invoice_number in (None, "")
    assert create(linked, sdk_invoice(contact(supplier.organisation, "ACME01")))[0].invoice_number == "INV-0001"


def test_a_post_with_a_number_never_updates_a_bill(linked, acme, nz):
    bill = outside(nz, "ACCPAY", "INV-0042")
    posted = linked.api.update_or_create_invoices(
        linked.tenant(), Invoices(invoices=[sdk_invoice(acme, invoice_number="INV-0042")]), summarize_errors=False
    ).invoices[0]
    assert (posted.has_errors, posted.type) == (False, "ACCREC")
    assert posted.invoice_id != str(bill.document_id)
    bill.refresh_from_db()
    assert (bill.type, bill.total) == ("ACCPAY", Decimal("287.50"))


# --- Reading -------------------------------------------------------------------------------------
def test_a_number_search_answers_the_sales_invoice_and_the_bill_each_with_its_type(linked, acme, nz):
    ours = document(acme, number="INV-0100")
    bill = outside(nz, "ACCPAY", "INV-0100")
    both = [("INV-0100", "ACCPAY"), ("INV-0100", "ACCREC")]
    assert numbered(linked, invoice_numbers=["INV-0100"]) == both
    assert numbered(linked, where='InvoiceNumber=="INV-0100"') == both
    assert numbered(linked, i_ds=[str(ours.document_id), str(bill.document_id)]) == both
    assert ("INV-0100", "ACCPAY") in numbered(linked)
    assert numbered(linked, if_modified_since=datetime.datetime(2000, 1, 1)) == both


def test_a_bill_is_read_by_its_id(linked, nz):
    bill = outside(nz, "ACCPAY", "SUP-1")
    found = linked.api.get_invoice(linked.tenant(), str(bill.document_id)).invoices[0]
    assert (found.type, found.invoice_number, found.total, found.contact.name) == (
        "ACCPAY",
        "SUP-1",
        Decimal("287.5"),
        "Outside Supplier Ltd",
    )


def test_a_credit_note_number_search_answers_supplier_credit_notes_too(linked, acme, nz):
    document(acme, type=Document.CREDIT_NOTE, number="CN-0009")
    outside(nz, "ACCPAYCREDIT", "CN-0009")
    found = linked.api.get_credit_notes(linked.tenant(), where='CreditNoteNumber=="CN-0009"').credit_notes
    assert sorted(c.type for c in found) == ["ACCPAYCREDIT", "ACCRECCREDIT"]
    assert len(linked.api.get_credit_notes(linked.tenant()).credit_notes) == 2


def test_a_supplier_credit_note_is_created_through_the_api(linked, supplier):
    note = sdk_credit_note(
        supplier,
        type="ACCPAYCREDIT",
        credit_note_number="SCN-1",
        lines=[sdk_line(account_code="429", tax_type="INPUT2")],
    )
    created = linked.api.create_credit_notes(linked.tenant(), CreditNotes(credit_notes=[note]), summarize_errors=False)
    assert (created.credit_notes[0].type, created.credit_notes[0].remaining_credit) == ("ACCPAYCREDIT", 115)


# --- Paying and allocating -----------------------------------------------------------------------
def test_paying_a_bill_makes_it_paid_and_is_announced_as_an_invoice_event(linked, nz):
    bill = outside(nz, "ACCPAY", "INV-0001")
    WebhookEvent.objects.all().delete()
    payment = Payment(
        invoice=Invoice(invoice_id=str(bill.document_id)),
        account=Account(code="260"),
        amount=Decimal("287.50"),
        date=DAY,
    )
    paid = linked.api.create_payment(linked.tenant(), payment).payments[0]
    assert (paid.payment_type, paid.invoice.invoice_id) == ("ACCPAYPAYMENT", str(bill.document_id))
    assert linked.api.get_invoice(linked.tenant(), str(bill.document_id)).invoices[0].status == "PAID"
    events = WebhookEvent.objects.values_list("category", "event_type", "resource_id")
    assert list(events) == [("INVOICE", "UPDATE", bill.document_id)]


def allocate(linked, credit_note: Document, invoice: Document):
    allocation = Allocation(invoice=Invoice(invoice_id=str(invoice.document_id)), amount=10, date=DAY)
    return linked.api.create_credit_note_allocation(
        linked.tenant(), str(credit_note.document_id), Allocations(allocations=[allocation])
    ).allocations[0]


def test_a_supplier_credit_note_is_allocated_to_a_bill_of_the_same_supplier(linked, nz):
    bill, note = outside(nz, "ACCPAY", "B-1"), outside(nz, "ACCPAYCREDIT", "SCN-1", total="20.00")
    allocate(linked, note, bill)
    bill.refresh_from_db()
    assert (bill.amount_credited, bill.amount_due) == (10, Decimal("277.50"))


@pytest.mark.parametrize(
    "credit_type, invoice_type, expected",
    [
        (
            "ACCPAYCREDIT",
            "ACCREC",
            "A credit note of type ACCPAYCREDIT can only be allocated to an invoice of type ACCPAY",
        ),
        (
            "ACCRECCREDIT",
            "ACCPAY",
            "A credit note of type ACCRECCREDIT can only be allocated to an invoice of type ACCREC",
        ),
    ],
)
def test_a_credit_note_is_never_allocated_across_sales_and_purchases(linked, nz, credit_type, invoice_type, expected):
    invoice = outside(nz, invoice_type, "X-1", contact_name="Both Sides Ltd")
    note = outside(nz, credit_type, "XC-1", contact_name="Both Sides Ltd", total="20.00")
    with pytest.raises(AccountingBadRequestException) as error:
        allocate(linked, note, invoice)
    assert error.value.reason == expected


def test_both_kinds_of_credit_note_are_credit_notes():
    kinds = {type: Document(type=type) for type in ("ACCREC", "ACCPAY", "ACCRECCREDIT", "ACCPAYCREDIT")}
    assert {t: d.is_credit_note for t, d in kinds.items()} == {
        "ACCREC": False,
        "ACCPAY": False,
        "ACCRECCREDIT": True,
        "ACCPAYCREDIT": True,
    }
    assert {t: d.is_purchase for t, d in kinds.items()} == {
        "ACCREC": False,
        "ACCPAY": True,
        "ACCRECCREDIT": False,
        "ACCPAYCREDIT": True,
    }


# --- Documents typed in from outside -------------------------------------------------------------
def test_an_outside_document_is_made_for_the_named_contact_in_the_status_asked(linked, nz, acme):
    older = outside(
        nz, "ACCREC", "INV-0001", contact_name="acme imports ltd", total="99.00", date=datetime.date(2025, 3, 1)
    )
    assert (older.contact, older.total, older.date, older.status) == (
        acme,
        Decimal("99.00"),
        datetime.date(2025, 3, 1),
        "AUTHORISED",
    )
    assert outside(nz, "ACCPAY", "B-7", status="PAID").status == "PAID"
    assert outside(nz, "ACCREC", "INV-0002", contact_name="Voided Namesake Ltd", status="VOIDED").status == "VOIDED"
    assert outside(nz, "ACCPAYCREDIT", "SCN-7", status="DRAFT").status == "DRAFT"
    assert nz.contacts.get(name="Outside Supplier Ltd").is_supplier is True
    assert WebhookEvent.objects.filter(category="CONTACT", event_type="CREATE").count() == 2


def test_an_outside_bill_posts_to_an_expense_account_and_a_sale_to_revenue(nz):
    bill, sale = outside(nz, "ACCPAY", "B-8"), outside(nz, "ACCREC", "S-8", contact_name="Acme Imports Ltd")
    assert (bill.lines.get().account_code, sale.lines.get().account_code) == ("310", "200")
    assert (bill.total_tax, bill.total) == (0, Decimal("287.50"))


def test_the_services_refuse_a_second_sales_number_but_not_a_second_bill_number(nz):
    outside(nz, "ACCREC", "INV-0009", contact_name="Acme Imports Ltd")
    outside(nz, "ACCPAY", "INV-0009")
    outside(nz, "ACCPAY", "INV-0009")
    with pytest.raises(books.RuleBroken, match="Invoice # must be unique"):
        outside(nz, "ACCREC", "INV-0009", contact_name="Acme Imports Ltd")
