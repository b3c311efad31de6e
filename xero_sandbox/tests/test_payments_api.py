"""Payments through the real SDK: part and full payments, refusals, deleting a payment."""

from decimal import Decimal

import pytest
from xero_python.accounting import Account, CreditNote, Invoice, Payment, PaymentDelete, Payments
from xero_python.exceptions import AccountingBadRequestException

from xero_sandbox.models import Document
from xero_sandbox.models import Payment as PaymentRow

from .books_factories import DAY, at_once, contact, document, raw_put

# The seeded charts have no bank account; the sandbox takes any active account but a system one.
INTO = Account(code="260")


@pytest.fixture
def acme(linked):
    return contact(linked.orgs["NZ"], "ACME01")


def pay(linked, invoice: Document, amount, **fields):
    payment = Payment(
        invoice=Invoice(invoice_id=str(invoice.document_id)), account=INTO, amount=amount, date=DAY, **fields
    )
    return linked.api.create_payment(linked.tenant(), payment).payments[0]


def refused_payment(linked, payment: Payment) -> list[str]:
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_payment(linked.tenant(), payment)
    return [e["Message"] for e in error.value.error_data["Elements"][0]["ValidationErrors"]]


def fetched(linked, invoice: Document) -> Invoice:
    return linked.api.get_invoice(linked.tenant(), str(invoice.document_id)).invoices[0]


def test_a_part_payment_leaves_the_invoice_authorised_with_less_due(linked, acme):
    invoice = document(acme)
    paid = pay(linked, invoice, 40, reference="Cheque 12")
    assert (paid.amount, paid.status, paid.payment_type) == (40, "AUTHORISED", "ACCRECPAYMENT")
    assert paid.invoice.invoice_id == str(invoice.document_id)
    assert paid.account.code == "260"
    found = fetched(linked, invoice)
    assert (found.status, found.amount_due, found.amount_paid, found.fully_paid_on_date) == ("AUTHORISED", 75, 40, None)
    assert [(p.payment_id, p.amount) for p in found.payments] == [(paid.payment_id, 40)]


def test_payments_covering_the_total_make_the_invoice_paid(linked, acme):
    invoice = document(acme)
    pay(linked, invoice, 100)
    pay(linked, invoice, Decimal("15.00"))
    found = fetched(linked, invoice)
    assert (found.status, found.amount_due, found.amount_paid, found.fully_paid_on_date) == ("PAID", 0, 115, DAY)


def test_an_overpayment_is_refused(linked, acme):
    invoice = document(acme)
    payment = Payment(invoice=Invoice(invoice_id=str(invoice.document_id)), account=INTO, amount=115.01, date=DAY)
    assert refused_payment(linked, payment) == ["Payment amount exceeds the amount outstanding on this document"]
    assert not PaymentRow.objects.exists()


def test_a_draft_cannot_be_paid(linked, acme):
    draft = document(acme, status="DRAFT")
    payment = Payment(invoice=Invoice(invoice_id=str(draft.document_id)), account=INTO, amount=10, date=DAY)
    assert refused_payment(linked, payment) == [
        "Payments can only be made against Authorised documents",
        "Payment amount exceeds the amount outstanding on this document",
    ]


@pytest.mark.parametrize(
    "account, expected",
    [
        (None, "An Account must be specified for a payment"),
        (Account(code="610"), "Account code '610' is not a valid code for this document."),
        (Account(code="250"), "Account code '250' has been archived, or has been deleted."),
    ],
)
def test_a_payment_needs_an_account_that_can_take_it(linked, acme, account, expected):
    payment = Payment(invoice=Invoice(invoice_id=str(document(acme).document_id)), account=account, amount=10, date=DAY)
    assert refused_payment(linked, payment) == [expected]


def test_a_payment_batch_with_summarize_errors_false_keeps_the_good_ones(linked, acme):
    invoice = document(acme)
    good = Payment(invoice=Invoice(invoice_number=invoice.number), account=INTO, amount=15, date=DAY)
    unknown = Payment(invoice=Invoice(invoice_number="NOPE-1"), account=INTO, amount=15, date=DAY)
    batch = Payments(payments=[good, unknown])
    answered = linked.api.create_payments(linked.tenant(), batch, summarize_errors=False).payments
    assert [(p.status_attribute_string, p.has_validation_errors) for p in answered] == [("OK", False), ("ERROR", True)]
    assert answered[1].validation_errors[0].message == "Invoice NOPE-1 could not be found"
    assert PaymentRow.objects.get().amount == 15


def test_deleting_the_payment_of_a_paid_invoice_makes_it_authorised_again(linked, acme):
    invoice = document(acme)
    paid = pay(linked, invoice, 115)
    deleted = linked.api.delete_payment(linked.tenant(), paid.payment_id, PaymentDelete()).payments[0]
    assert deleted.status == "DELETED"
    found = fetched(linked, invoice)
    assert (found.status, found.amount_due, found.payments, found.fully_paid_on_date) == ("AUTHORISED", 115, [], None)
    assert linked.api.get_payment(linked.tenant(), paid.payment_id).payments[0].status == "DELETED"


def test_a_credit_note_is_refunded_by_a_payment(linked, acme):
    credit_note = document(acme, type=Document.CREDIT_NOTE)
    refund = Payment(
        credit_note=CreditNote(credit_note_id=str(credit_note.document_id)), account=INTO, amount=115, date=DAY
    )
    paid = linked.api.create_payment(linked.tenant(), refund).payments[0]
    assert (paid.payment_type, paid.credit_note.credit_note_id) == ("ARCREDITPAYMENT", str(credit_note.document_id))
    found = linked.api.get_credit_note(linked.tenant(), str(credit_note.document_id)).credit_notes[0]
    assert (found.status, found.remaining_credit) == ("PAID", 0)


def test_payments_are_listed_and_filtered(linked, acme):
    first, second = document(acme), document(acme)
    pay(linked, first, 10)
    pay(linked, second, 20)
    found = linked.api.get_payments(linked.tenant(), where=f'Invoice.InvoiceID==Guid("{second.document_id}")').payments
    assert [p.amount for p in found] == [20]
    assert len(linked.api.get_payments(linked.tenant()).payments) == 2


@pytest.mark.postgres
def test_two_full_payments_at_the_same_time_cannot_both_be_taken(linked, sandbox_url, acme):
    invoice = document(acme)
    body = {"Invoice": {"InvoiceID": str(invoice.document_id)}, "Account": {"Code": "260"}, "Amount": 115}
    statuses = at_once(3, lambda n: raw_put(linked, sandbox_url, "/Payments", body))
    assert sorted(statuses) == [200, 400, 400]
    assert PaymentRow.objects.get().amount == 115
