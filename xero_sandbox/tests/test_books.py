"""The ledger services as the staff pages call them: document_pay, payment_delete, document_void,
document_delete (and allocations), each refusing with Xero's words and announcing what it changed."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from xero_sandbox import books, books_totals
from xero_sandbox.models import Document, Payment, WebhookEvent

from .books_factories import DAY, contact, document, line
from .conftest import connect


@pytest.fixture
def acme(orgs):
    connect(orgs)  # a connected app with a webhook URL, so that events are recorded
    return contact(orgs["NZ"], "ACME01")


def updates() -> list[tuple]:
    return [(e.category, e.resource_id) for e in WebhookEvent.objects.filter(event_type="UPDATE").order_by("pk")]


@pytest.mark.parametrize(
    "quantity, unit_amount, line_amount_types, expected",
    [
        ("1", "0.025", "Exclusive", ("0.03", "0.00")),  # half away from zero, not half to even
        ("2", "0.15", "Exclusive", ("0.30", "0.05")),  # tax 0.045 -> 0.05
        ("-1", "0.025", "Exclusive", ("-0.03", "0.00")),
        ("1", "10.00", "Inclusive", ("10.00", "1.30")),
        ("3.3333", "1.0050", "NoTax", ("3.35", "0.00")),
    ],
)
def test_line_amounts_are_rounded_line_by_line_half_away_from_zero(quantity, unit_amount, line_amount_types, expected):
    amounts = books_totals.line_amounts(line(unit_amount, quantity), line_amount_types)
    assert amounts == tuple(Decimal(x) for x in expected)


def test_a_part_payment_reduces_what_is_due(acme):
    invoice = document(acme)
    payment = books.document_pay(document=invoice, amount=Decimal("15.00"), date=DAY, reference="Cash")
    assert (payment.amount, payment.date, payment.reference, payment.status) == (
        Decimal("15.00"),
        DAY,
        "Cash",
        "AUTHORISED",
    )
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("AUTHORISED", 15, 100)
    assert updates() == [("INVOICE", invoice.document_id)]


def test_paying_what_is_due_makes_the_invoice_paid_on_that_day(acme):
    invoice = document(acme)
    books.document_pay(document=invoice, amount=invoice.amount_due, date=datetime.date(2024, 4, 2))
    assert (invoice.status, invoice.fully_paid_on, invoice.amount_due) == ("PAID", datetime.date(2024, 4, 2), 0)


def test_a_payment_without_a_date_is_made_today(acme):
    payment = books.document_pay(document=document(acme), amount=Decimal("1"))
    assert payment.date == timezone.localdate()


@pytest.mark.parametrize(
    "status, amount, expected",
    [
        ("AUTHORISED", "115.01", [books.OVERPAYMENT]),
        ("AUTHORISED", "0", ["Payment amount must be greater than zero"]),
        ("DRAFT", "10", [books.PAY_AUTHORISED_ONLY, books.OVERPAYMENT]),
        ("VOIDED", "10", [books.PAY_AUTHORISED_ONLY, books.OVERPAYMENT]),
    ],
)
def test_payments_xero_would_refuse_change_nothing(acme, status, amount, expected):
    invoice = document(acme, status="AUTHORISED" if status == "VOIDED" else status)
    if status == "VOIDED":
        books.document_void(document=invoice)
    with pytest.raises(books.RuleBroken) as refusal:
        books.document_pay(document=invoice, amount=Decimal(amount))
    assert refusal.value.messages == expected and str(refusal.value) == expected[0]
    assert isinstance(refusal.value, ValueError)
    assert not Payment.objects.exists() and updates() == (
        [("INVOICE", invoice.document_id)] if status == "VOIDED" else []
    )


def test_deleting_the_payment_of_a_paid_invoice_makes_it_authorised_again(acme):
    invoice = document(acme)
    payment = books.document_pay(document=invoice, amount=invoice.total)
    books.payment_delete(payment=payment)
    invoice.refresh_from_db()
    assert payment.status == "DELETED"
    assert (invoice.status, invoice.amount_due, invoice.fully_paid_on) == ("AUTHORISED", 115, None)
    assert updates() == [("INVOICE", invoice.document_id)] * 2
    with pytest.raises(books.RuleBroken):
        books.payment_delete(payment=payment)


def test_an_authorised_invoice_without_payments_is_voided(acme):
    invoice = document(acme)
    books.document_void(document=invoice)
    assert invoice.status == "VOIDED"
    assert updates() == [("INVOICE", invoice.document_id)]


@pytest.mark.parametrize(
    "setup, expected",
    [
        ("paid in part", books.SETTLED),
        ("credited", books.SETTLED),
        ("draft", "Invoice not of valid status for modification"),
        ("deleted", "Invoice not of valid status for modification"),
    ],
)
def test_an_invoice_is_not_voided_when_xero_would_refuse(acme, setup, expected):
    invoice = document(acme, status="DRAFT" if setup in ("draft", "deleted") else "AUTHORISED")
    if setup == "paid in part":
        books.document_pay(document=invoice, amount=Decimal("1"))
    if setup == "credited":
        credit_note = document(acme, type=Document.CREDIT_NOTE)
        books.credit_note_allocate(credit_note=credit_note, invoice=invoice, amount=Decimal("1"))
    if setup == "deleted":
        books.document_delete(document=invoice)
    with pytest.raises(books.RuleBroken, match=expected):
        books.document_void(document=invoice)


def test_only_drafts_and_submitted_documents_are_deleted(acme):
    draft, submitted, authorised = document(acme, status="DRAFT"), document(acme, status="SUBMITTED"), document(acme)
    books.document_delete(document=draft)
    books.document_delete(document=submitted)
    with pytest.raises(books.RuleBroken, match="Invoice not of valid status for modification"):
        books.document_delete(document=authorised)
    assert (draft.status, submitted.status) == ("DELETED", "DELETED")
    assert Document.objects.get(pk=authorised.pk).status == "AUTHORISED"


def test_a_credit_note_is_voided_and_announced_as_a_credit_note(acme):
    credit_note = document(acme, type=Document.CREDIT_NOTE)
    books.document_void(document=credit_note)
    assert updates() == [("CREDITNOTE", credit_note.document_id)]


def test_a_credit_note_refund_uses_up_its_credit(acme):
    credit_note = document(acme, type=Document.CREDIT_NOTE)
    books.document_pay(document=credit_note, amount=credit_note.amount_due)
    assert (credit_note.status, credit_note.amount_due) == ("PAID", 0)
    with pytest.raises(books.RuleBroken, match="Credit note not of valid status for modification"):
        books.document_delete(document=credit_note)


def test_allocations_add_up_and_clear_both_documents(acme):
    invoice, credit_note = (
        document(acme, lines=[line("50")]),
        document(acme, type=Document.CREDIT_NOTE, lines=[line("50")]),
    )
    books.credit_note_allocate(credit_note=credit_note, invoice=invoice, amount=Decimal("20"), date=DAY)
    allocation = books.credit_note_allocate(credit_note=credit_note, invoice=invoice, amount=Decimal("37.50"), date=DAY)
    invoice.refresh_from_db()
    credit_note.refresh_from_db()
    assert (invoice.status, invoice.amount_credited) == ("PAID", Decimal("57.50"))
    assert (credit_note.status, credit_note.amount_due) == ("PAID", 0)
    books.allocation_delete(allocation=allocation)
    invoice.refresh_from_db()
    credit_note.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("AUTHORISED", Decimal("37.50"))
    assert (credit_note.status, credit_note.amount_due) == ("AUTHORISED", Decimal("37.50"))


def test_a_zero_total_document_is_paid_once_approved(acme):
    invoice = document(acme, lines=[line("0")])
    assert (invoice.status, invoice.fully_paid_on) == ("PAID", DAY)


def test_an_approved_line_needs_an_account_code(acme):
    with pytest.raises(books.RuleBroken, match="must have an account code"):
        document(acme, lines=[line(account_code="")])
    assert document(acme, status="DRAFT", lines=[line(account_code="")]).status == "DRAFT"
