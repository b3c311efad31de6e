"""Credit notes and their allocations to invoices through the real SDK."""

from decimal import Decimal

import pytest
from xero_python.accounting import Allocation, Allocations, CreditNote, CreditNotes, Invoice
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from xero_sandbox import books
from xero_sandbox.models import Allocation as AllocationRow
from xero_sandbox.models import Document, WebhookEvent

from .books_factories import DAY, contact, document, line, sdk_credit_note, sdk_line


@pytest.fixture
def acme(linked):
    return contact(linked.orgs["NZ"], "ACME01")


def create(linked, *credit_notes, **options):
    options = {"summarize_errors": False} | options
    batch = CreditNotes(credit_notes=list(credit_notes))
    return linked.api.create_credit_notes(linked.tenant(), batch, **options).credit_notes


def allocate(linked, credit_note: Document, invoice: Document, amount, **options):
    allocation = Allocation(invoice=Invoice(invoice_id=str(invoice.document_id)), amount=amount, date=DAY)
    return linked.api.create_credit_note_allocation(
        linked.tenant(), str(credit_note.document_id), Allocations(allocations=[allocation]), **options
    ).allocations[0]


def refused_allocation(linked, credit_note: Document, invoice: Document, amount) -> list[str]:
    with pytest.raises(AccountingBadRequestException) as error:
        allocate(linked, credit_note, invoice, amount)
    return [e["Message"] for e in error.value.error_data["Elements"][0]["ValidationErrors"]]


def fetched(linked, credit_note: Document) -> CreditNote:
    return linked.api.get_credit_note(linked.tenant(), str(credit_note.document_id)).credit_notes[0]


def fetched_invoice(linked, invoice: Document) -> Invoice:
    return linked.api.get_invoice(linked.tenant(), str(invoice.document_id)).invoices[0]


# --- Creating and reading ------------------------------------------------------------------------
def test_a_credit_note_is_created_with_its_remaining_credit(linked, acme):
    created = create(linked, sdk_credit_note(acme, credit_note_number="CR-1", reference="Damaged"))[0]
    found = linked.api.get_credit_notes(linked.tenant(), where='CreditNoteNumber=="CR-1"').credit_notes[0]
    assert created.status_attribute_string == "OK"
    assert (found.credit_note_id, found.type, found.status, found.reference) == (
        created.credit_note_id,
        "ACCRECCREDIT",
        "AUTHORISED",
        "Damaged",
    )
    assert (found.sub_total, found.total_tax, found.total, found.remaining_credit) == (100, 15, 115, 115)
    announced = WebhookEvent.objects.filter(category="CREDITNOTE", event_type="CREATE")
    assert [str(e.resource_id) for e in announced] == [created.credit_note_id]


def test_credit_notes_are_checked_as_invoices_are(linked, acme):
    create(linked, sdk_credit_note(acme, credit_note_number="CR-1"))
    refused = create(
        linked,
        sdk_credit_note(acme, credit_note_number="CR-1"),
        sdk_credit_note(acme, type="ACCPAYCREDIT"),
        sdk_credit_note(acme, lines=[sdk_line(account_code="610")]),
    )
    assert [[m.message for m in r.validation_errors] for r in refused] == [
        ["Credit Note # must be unique."],
        # A supplier's credit note is checked as a bill is: its tax type must be one for expenses.
        ["The TaxType code OUTPUT2 does not exist or cannot be used for this type of transaction."],
        ["Account code '610' is not a valid code for this document."],
    ]


def test_credit_notes_are_found_by_a_where_chain_of_their_ids(linked, acme):
    first, second, third = (document(acme, type=Document.CREDIT_NOTE, number=f"CW-{n}") for n in range(3))
    chain = " OR ".join(f'CreditNoteID==Guid("{c.document_id}")' for c in (first, third))
    found = linked.api.get_credit_notes(linked.tenant(), where=chain).credit_notes
    assert sorted(c.credit_note_number for c in found) == ["CW-0", "CW-2"]


def test_credit_notes_answer_if_modified_since_and_pages(linked, acme):
    for n in range(101):
        document(acme, type=Document.CREDIT_NOTE, number=f"CP-{n:03d}")
    api, tenant = linked.api, linked.tenant()
    assert [len(api.get_credit_notes(tenant, page=p).credit_notes) for p in (1, 2)] == [100, 1]
    seen = api.get_credit_notes(tenant, page=2).credit_notes[0].updated_date_utc
    assert api.get_credit_notes(tenant, if_modified_since=seen).credit_notes == []
    changed = Document.objects.get(number="CP-007")
    books.document_void(document=changed)
    assert [c.credit_note_number for c in api.get_credit_notes(tenant, if_modified_since=seen).credit_notes] == [
        "CP-007"
    ]


def test_a_credit_note_is_read_by_its_number_and_an_unknown_one_is_not_found(linked, acme):
    credit_note = document(acme, type=Document.CREDIT_NOTE, number="CN-77")
    found = linked.api.get_credit_note(linked.tenant(), "CN-77").credit_notes[0]
    assert found.credit_note_id == str(credit_note.document_id)
    with pytest.raises(NotFoundException):
        linked.api.get_credit_note(linked.tenant(), "00000000-0000-0000-0000-000000000000")


# --- Allocating ----------------------------------------------------------------------------------
def test_a_part_allocation_reduces_what_the_invoice_owes_and_the_credit_left(linked, acme):
    invoice, credit_note = document(acme), document(acme, type=Document.CREDIT_NOTE, lines=[line("40")])
    allocation = allocate(linked, credit_note, invoice, 20)
    assert (allocation.amount, allocation.invoice.invoice_id, allocation.date) == (20, str(invoice.document_id), DAY)
    owed, credit = fetched_invoice(linked, invoice), fetched(linked, credit_note)
    assert (owed.status, owed.amount_due, owed.amount_credited) == ("AUTHORISED", 95, 20)
    assert owed.credit_notes[0].applied_amount == 20
    assert (credit.status, credit.remaining_credit, credit.allocations[0].amount) == ("AUTHORISED", 26, 20)


def test_allocations_that_clear_the_invoice_or_the_credit_make_them_paid(linked, acme):
    invoice, credit_note = (
        document(acme, lines=[line("20")]),
        document(acme, type=Document.CREDIT_NOTE, lines=[line("40")]),
    )
    allocate(linked, credit_note, invoice, 23)  # the whole invoice
    other = document(acme, lines=[line("100")])
    allocate(linked, credit_note, other, 23)  # the rest of the credit (46 in all)
    assert (fetched_invoice(linked, invoice).status, fetched_invoice(linked, invoice).fully_paid_on_date) == (
        "PAID",
        DAY,
    )
    assert (fetched(linked, credit_note).status, fetched(linked, credit_note).remaining_credit) == ("PAID", 0)
    assert fetched_invoice(linked, other).amount_due == 92


@pytest.mark.parametrize(
    "situation, expected",
    [
        ("draft credit note", "Only AUTHORISED credit notes can be allocated"),
        ("draft invoice", "Credit notes can only be allocated to AUTHORISED invoices"),
        ("paid invoice", "The invoice you are trying to allocate to has already been paid off"),
        ("other contact", "The credit note and the invoice must be for the same contact"),
        ("more than the credit", "Credit Note cannot be allocated as amount is greater than remaining credit"),
        ("more than the invoice owes", "Credit Note cannot be allocated as amount is greater than amount outstanding"),
    ],
)
def test_allocations_xero_would_refuse_are_refused(linked, acme, situation, expected):
    invoice = document(acme, status="DRAFT" if situation == "draft invoice" else "AUTHORISED", lines=[line("10")])
    credit_status = "DRAFT" if situation == "draft credit note" else "AUTHORISED"
    credit_note = document(acme, type=Document.CREDIT_NOTE, status=credit_status)
    amount = {"more than the credit": 116, "more than the invoice owes": 12}.get(situation, 5)
    if situation == "paid invoice":
        books.document_pay(document=invoice, amount=invoice.total)
    if situation == "other contact":
        credit_note = document(contact(linked.orgs["NZ"], "HARB-7"), type=Document.CREDIT_NOTE)
    if situation == "more than the credit":
        invoice = document(acme, lines=[line("500")])
    assert refused_allocation(linked, credit_note, invoice, amount) == [expected]
    assert not AllocationRow.objects.exists()


def test_a_mixed_allocation_batch_with_summarize_errors_false_keeps_the_good_one(linked, acme):
    invoice, credit_note = document(acme), document(acme, type=Document.CREDIT_NOTE)
    good = Allocation(invoice=Invoice(invoice_id=str(invoice.document_id)), amount=10, date=DAY)
    bad = Allocation(invoice=Invoice(invoice_id="00000000-0000-0000-0000-000000000000"), amount=10, date=DAY)
    answered = linked.api.create_credit_note_allocation(
        linked.tenant(), str(credit_note.document_id), Allocations(allocations=[good, bad]), summarize_errors=False
    ).allocations
    assert [a.status_attribute_string for a in answered] == ["OK", "ERROR"]
    assert answered[1].validation_errors[0].message == "Invoice 00000000-0000-0000-0000-000000000000 could not be found"
    assert AllocationRow.objects.get().amount == 10


def test_deleting_an_allocation_gives_the_credit_back(linked, acme):
    invoice, credit_note = (
        document(acme, lines=[line("20")]),
        document(acme, type=Document.CREDIT_NOTE, lines=[line("20")]),
    )
    allocation = allocate(linked, credit_note, invoice, 23)
    deleted = linked.api.delete_credit_note_allocations(
        linked.tenant(), str(credit_note.document_id), allocation.allocation_id
    )
    assert deleted.is_deleted is True
    assert (fetched_invoice(linked, invoice).status, fetched(linked, credit_note).remaining_credit) == (
        "AUTHORISED",
        23,
    )


def test_an_allocation_announces_both_documents(linked, acme):
    invoice, credit_note = document(acme), document(acme, type=Document.CREDIT_NOTE)
    allocate(linked, credit_note, invoice, 5)
    updates = WebhookEvent.objects.filter(event_type="UPDATE")
    assert sorted((e.category, str(e.resource_id)) for e in updates) == sorted(
        [("INVOICE", str(invoice.document_id)), ("CREDITNOTE", str(credit_note.document_id))]
    )


def test_an_allocated_credit_note_cannot_be_voided(linked, acme):
    invoice, credit_note = document(acme), document(acme, type=Document.CREDIT_NOTE)
    allocate(linked, credit_note, invoice, 5)
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.update_credit_note(
            linked.tenant(), str(credit_note.document_id), CreditNotes(credit_notes=[CreditNote(status="VOIDED")])
        )
    assert error.value.reason == books.SETTLED


def test_an_unallocated_credit_note_is_voided(linked, acme):
    credit_note = document(acme, type=Document.CREDIT_NOTE)
    voided = linked.api.update_credit_note(
        linked.tenant(), str(credit_note.document_id), CreditNotes(credit_notes=[CreditNote(status="VOIDED")])
    ).credit_notes[0]
    assert voided.status == "VOIDED"
    assert Decimal(voided.total) == 115
