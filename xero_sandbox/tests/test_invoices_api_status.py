"""Invoices' status rules through the real SDK: deleting, voiding, approving and editing, what a
payment or a credit note allocation forbids, and the events every change raises."""

from decimal import Decimal

import pytest
from xero_python.accounting import Contact as SdkContact
from xero_python.accounting import Invoice, Invoices
from xero_python.exceptions import AccountingBadRequestException

from xero_sandbox import books
from xero_sandbox.models import Document

from .books_factories import DAY, document, line, sdk_invoice, sdk_line
from .test_invoices_api import NOT_VALID_STATUS, create, events, refusal


# --- Changing status -----------------------------------------------------------------------------
def update(linked, invoice: Document, **fields):
    changes = Invoices(invoices=[Invoice(**fields)])
    return linked.api.update_invoice(linked.tenant(), str(invoice.document_id), changes).invoices[0]


def refused_update(linked, invoice: Document, **fields) -> list[str]:
    with pytest.raises(AccountingBadRequestException) as error:
        update(linked, invoice, **fields)
    return refusal(error)[0]


def test_a_draft_or_submitted_invoice_can_be_deleted_but_not_an_authorised_one(linked, acme):
    draft, submitted, authorised = document(acme, status="DRAFT"), document(acme, status="SUBMITTED"), document(acme)
    assert update(linked, draft, status="DELETED").status == "DELETED"
    assert update(linked, submitted, status="DELETED").status == "DELETED"
    assert refused_update(linked, authorised, status="DELETED") == ["Invoice not of valid status for modification"]


def test_an_authorised_invoice_can_be_voided_until_something_is_paid_or_credited(linked, acme):
    plain, paid, credited = document(acme), document(acme), document(acme)
    books.document_pay(document=paid, amount=Decimal("10"))
    credit_note = document(acme, type=Document.CREDIT_NOTE)
    books.credit_note_allocate(credit_note=credit_note, invoice=credited, amount=Decimal("5"))
    assert update(linked, plain, status="VOIDED").status == "VOIDED"
    assert refused_update(linked, paid, status="VOIDED") == [books.SETTLED]
    assert refused_update(linked, credited, status="VOIDED") == [books.SETTLED]
    assert refused_update(linked, document(acme, status="DRAFT"), status="VOIDED") == [NOT_VALID_STATUS]


def test_a_draft_is_edited_and_approved_in_one_update(linked, acme):
    draft = document(acme, status="DRAFT")
    lines = [sdk_line(unit_amount=40, quantity=2)]
    updated = update(linked, draft, status="AUTHORISED", reference="Changed", line_items=lines)
    assert (updated.status, updated.reference, updated.total, len(updated.line_items)) == (
        "AUTHORISED",
        "Changed",
        92,
        1,
    )
    assert events() == [(str(draft.document_id), "CREATE"), (str(draft.document_id), "UPDATE")]


def test_an_invoice_of_a_since_archived_contact_can_still_be_voided(linked, acme):
    invoice = document(acme)
    acme.status = "ARCHIVED"
    acme.save()
    voided = update(linked, invoice, status="VOIDED", contact=SdkContact(contact_id=str(acme.contact_id)))
    assert voided.status == "VOIDED"


def test_a_paid_invoice_cannot_be_edited_and_an_approved_one_not_sent_back_to_draft(linked, acme):
    paid = document(acme)
    books.document_pay(document=paid, amount=paid.total)
    assert refused_update(linked, paid, reference="New") == [books.SETTLED]
    assert refused_update(linked, document(acme), status="DRAFT") == ["Invoice not of valid status for modification"]


def test_a_zero_total_invoice_is_paid_as_soon_as_it_is_approved(linked, acme):
    created = create(linked, sdk_invoice(acme, lines=[sdk_line(unit_amount=0)]))[0]
    assert (created.status, created.fully_paid_on_date) == ("PAID", DAY)


def test_every_create_and_change_is_announced_as_an_invoice_event(linked, acme):
    created = create(linked, sdk_invoice(acme, status="DRAFT"))[0]
    invoice = Document.objects.get(document_id=created.invoice_id)
    update(linked, invoice, status="AUTHORISED")
    books.document_pay(document=invoice, amount=Decimal("1"))
    assert events() == [(created.invoice_id, "CREATE"), (created.invoice_id, "UPDATE"), (created.invoice_id, "UPDATE")]


def test_a_refused_change_announces_nothing(linked, acme):
    authorised = document(acme)
    refused_update(linked, authorised, status="DELETED")
    assert events(event_type="UPDATE") == []


def test_lines_are_kept_by_their_ids_when_an_update_sends_them_back(linked, acme):
    draft = document(acme, status="DRAFT", lines=[line("10"), line("20")])
    first, second = draft.lines.all()
    kept = sdk_line(line_item_id=str(second.line_item_id), unit_amount=25)
    updated = update(linked, draft, line_items=[kept, sdk_line(unit_amount=5)])
    assert updated.line_items[0].line_item_id == str(second.line_item_id)
    assert updated.line_items[1].line_item_id not in (str(first.line_item_id), str(second.line_item_id))
