"""The document page offers a payment only where Xero would take one: an approved document with
something still due."""

from decimal import Decimal

from xero_sandbox import books

from .test_pages import doc_url, document, page

FULL_PAYMENT = "Record full payment"


def test_an_approved_invoice_with_an_amount_due_offers_both_payments(staff, orgs):
    html = page(staff.get(doc_url("document_detail", document(orgs["NZ"]))))
    assert f"{FULL_PAYMENT} (115.00)" in html and "Record part payment" in html
    assert 'data-testid="no-payment"' not in html


def test_a_paid_invoice_offers_no_payment_of_nothing(staff, orgs):
    invoice = document(orgs["NZ"])
    books.document_pay(document=invoice, amount=invoice.amount_due)
    html = page(staff.get(doc_url("document_detail", invoice)))
    assert FULL_PAYMENT not in html and "(0.00)" not in html and "Record part payment" not in html
    assert "No payment can be recorded: Xero takes payments only on an approved (AUTHORISED) invoice" in html


def test_an_approved_invoice_with_nothing_left_due_says_so(staff, orgs):
    invoice = document(orgs["NZ"])
    invoice.amount_credited = Decimal("115.00")  # credited in full, still AUTHORISED
    invoice.save(update_fields=["amount_credited"])
    html = page(staff.get(doc_url("document_detail", invoice)))
    assert FULL_PAYMENT not in html and "No payment can be recorded: nothing is due." in html


def test_a_draft_or_voided_invoice_offers_no_payment(staff, orgs):
    for number, status in (("INV-0002", "DRAFT"), ("INV-0003", "VOIDED")):
        html = page(staff.get(doc_url("document_detail", document(orgs["NZ"], number=number, status=status))))
        assert FULL_PAYMENT not in html and f"and this one is {status}." in html
