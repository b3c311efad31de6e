"""Invoices through the real SDK: creating in batches with Xero's checks and totals, and reading with
Xero's filters (the status rules are in test_invoices_api_status.py)."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models.signals import pre_save
from xero_python.accounting import Contact as SdkContact
from xero_python.accounting import CurrencyCode, Invoice, Invoices, LineAmountTypes
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from xero_sandbox import books
from xero_sandbox.api_support import parse_timestamp
from xero_sandbox.models import Document, WebhookEvent

from .books_factories import DAY, at_once, contact, document, raw_put, sdk_invoice, sdk_line

ARCHIVED_CONTACT = (
    "The contact with the specified contact details has been archived. "
    "The contact must be un-archived before creating new invoices or credit notes."
)
NOT_VALID = "Account code '{}' is not a valid code for this document."
ARCHIVED_ACCOUNT = (
    "Account code '250' has been archived, or has been deleted. Each line item must reference a valid account"
)
BAD_TAX = "The TaxType code {} does not exist or cannot be used for this type of transaction."
UNKNOWN_CONTACT = "The contact with the specified contact details could not be found."
NOT_VALID_STATUS = "Invoice not of valid status for modification"


@pytest.fixture
def bluefin(nz):
    return contact(nz, "BLUEFIN")


def create(linked, *invoices, **options):
    options = {"summarize_errors": False, "unitdp": 4} | options
    return linked.api.create_invoices(linked.tenant(), Invoices(invoices=list(invoices)), **options).invoices


def refusal(error) -> list[list[str]]:
    """Each refused element's messages, from a 400 answer."""
    return [[e["Message"] for e in element["ValidationErrors"]] for element in error.value.error_data["Elements"]]


def messages(element) -> list[str]:
    return [e.message for e in element.validation_errors or []]


def decimals(*texts: str) -> list[Decimal]:
    return [Decimal(text) for text in texts]


def events(category="INVOICE", event_type=None) -> list[tuple]:
    rows = WebhookEvent.objects.filter(category=category)
    rows = rows.filter(event_type=event_type) if event_type else rows
    return [(str(e.resource_id), e.event_type) for e in rows.order_by("pk")]


# --- Creating ------------------------------------------------------------------------------------
def test_an_authorised_invoice_is_created_and_read_back_as_xero_shows_it(linked, acme):
    created = create(linked, sdk_invoice(acme, invoice_number="FR-1001", reference="Job 7"))[0]
    found = linked.api.get_invoice(linked.tenant(), created.invoice_id).invoices[0]
    assert created.status_attribute_string == "OK" and created.has_errors is False
    assert (found.invoice_number, found.reference, found.status, found.contact.contact_id) == (
        "FR-1001",
        "Job 7",
        "AUTHORISED",
        str(acme.contact_id),
    )
    assert (found.sub_total, found.total_tax, found.total, found.amount_due) == (100, 15, 115, 115)
    assert (found.date, found.due_date, found.currency_code.value) == (DAY, DAY + datetime.timedelta(days=20), "NZD")
    assert found.line_items[0].line_item_id and found.line_items[0].tax_amount == 15


def test_totals_add_up_lines_each_rounded_half_away_from_zero(linked, acme):
    lines = [
        sdk_line(quantity=3.3333, unit_amount=1.005),  # 3.3499665 -> 3.35, tax 0.5025 -> 0.50
        sdk_line(quantity=1, unit_amount=0.025),  # 0.025 -> 0.03 (half to even would give 0.02)
        *[sdk_line(quantity=2, unit_amount=0.15)] * 3,  # 0.30, tax 0.045 -> 0.05 on each line
        sdk_line(quantity=1.5, unit_amount=12.3456),  # 18.5184 -> 18.52, tax 2.778 -> 2.78
    ]
    created = create(linked, sdk_invoice(acme, lines=lines))[0]
    assert [i.line_amount for i in created.line_items] == decimals("3.35", "0.03", "0.3", "0.3", "0.3", "18.52")
    assert [i.tax_amount for i in created.line_items] == decimals("0.5", "0", "0.05", "0.05", "0.05", "2.78")
    # Tax on the document's subtotal would be 22.80 x 15% = 3.42: Xero adds the rounded line taxes.
    assert [created.sub_total, created.total_tax, created.total] == decimals("22.8", "3.43", "26.23")


def test_unit_amounts_keep_four_places_only_with_unitdp_4(linked, acme):
    four = create(linked, sdk_invoice(acme, lines=[sdk_line(quantity=1.5, unit_amount=12.3456)]))[0]
    two = create(linked, sdk_invoice(acme, lines=[sdk_line(quantity=1.5, unit_amount=12.3456)]), unitdp=2)[0]
    assert (four.line_items[0].unit_amount, four.line_items[0].line_amount) == (Decimal("12.3456"), Decimal("18.52"))
    assert (two.line_items[0].unit_amount, two.line_items[0].line_amount) == (Decimal("12.35"), Decimal("18.53"))
    shown_by_default = linked.api.get_invoice(linked.tenant(), four.invoice_id).invoices[0]
    assert shown_by_default.line_items[0].unit_amount == Decimal("12.35")
    shown_with_unitdp_4 = linked.api.get_invoice(linked.tenant(), four.invoice_id, unitdp=4).invoices[0]
    assert shown_with_unitdp_4.line_items[0].unit_amount == Decimal("12.3456")


def test_inclusive_lines_carry_their_tax_inside_and_no_tax_lines_none(linked, acme):
    lines = [sdk_line(unit_amount=115), sdk_line(unit_amount=10)]
    inclusive = sdk_invoice(acme, line_amount_types=LineAmountTypes.INCLUSIVE, lines=lines)
    untaxed = sdk_invoice(acme, line_amount_types=LineAmountTypes.NOTAX, lines=[sdk_line(unit_amount=115)])
    inclusive, untaxed = create(linked, inclusive, untaxed)
    assert [i.tax_amount for i in inclusive.line_items] == [15, Decimal("1.3")]
    assert (inclusive.sub_total, inclusive.total_tax, inclusive.total) == (Decimal("108.7"), Decimal("16.3"), 125)
    assert (untaxed.sub_total, untaxed.total_tax, untaxed.total) == (115, 0, 115)


def test_a_missing_number_is_taken_from_the_organisations_sequence(linked, acme):
    first, second = create(linked, sdk_invoice(acme), sdk_invoice(acme))
    assert (first.invoice_number, second.invoice_number) == ("INV-0001", "INV-0002")


def test_dates_are_read_as_text_as_well_as_in_the_sdks_ms_format(linked, acme, sandbox_url):
    body = {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": str(acme.contact_id)},
                "Date": "2024-05-06",
                "DueDate": "2024-06-01T00:00:00",
                "LineItems": [
                    {"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200", "TaxType": "OUTPUT2"}
                ],
            }
        ]
    }
    assert raw_put(linked, sandbox_url, "/Invoices", body) == 200
    saved = Document.objects.get()
    assert (saved.date, saved.due_date, saved.status) == (datetime.date(2024, 5, 6), datetime.date(2024, 6, 1), "DRAFT")


# --- Validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, expected",
    [
        ({"contact": "BLUEFIN"}, [ARCHIVED_CONTACT]),
        ({"contact_id": "00000000-0000-0000-0000-000000000001"}, [UNKNOWN_CONTACT]),
        ({"account_code": "999"}, [NOT_VALID.format("999")]),
        ({"account_code": "250"}, [ARCHIVED_ACCOUNT]),
        ({"account_code": "610"}, [NOT_VALID.format("610")]),  # Accounts Receivable, a system account
        ({"account_code": "310"}, [NOT_VALID.format("310")]),  # an expense account
        ({"tax_type": "INPUT2"}, [BAD_TAX.format("INPUT2")]),  # for expenses only
        ({"tax_type": "GST99"}, [BAD_TAX.format("GST99")]),
        ({"currency_code": CurrencyCode.GBP}, ["Organisation is not subscribed to currency GBP"]),
        ({"type": "ACCRECCREDIT"}, ["Type must be ACCREC or ACCPAY."]),  # a credit note type, on /Invoices
        ({"type": "ACCPAY"}, [BAD_TAX.format("OUTPUT2")]),  # a bill's tax must be one for expenses
        ({"status": "PAID"}, ["A new invoice can only be created as DRAFT, SUBMITTED or AUTHORISED."]),
        ({"account_code": "250", "tax_type": "INPUT2"}, [ARCHIVED_ACCOUNT, BAD_TAX.format("INPUT2")]),
    ],
)
def test_each_check_refuses_the_invoice_with_xeros_message(linked, nz, acme, change, expected):
    customer = contact(nz, change.pop("contact", "ACME01"))
    if "contact_id" in change:
        change["contact"] = SdkContact(contact_id=change.pop("contact_id"))
    line_fields = {k: change.pop(k) for k in ("account_code", "tax_type") if k in change}
    invoice = sdk_invoice(customer, lines=[sdk_line(**line_fields)], **change)
    refused = create(linked, invoice)[0]
    assert (refused.has_errors, refused.status_attribute_string, messages(refused)) == (True, "ERROR", expected)
    assert not Document.objects.exists()


def bad_and_good_batch(acme, bluefin) -> tuple[list[Invoice], dict[int, list[str]]]:
    """Fifty invoices, twelve of them wrong in a known way."""
    invoices = [sdk_invoice(acme, invoice_number=f"B-{i:03d}") for i in range(50)]
    wrong = {
        3: ({"contact": SdkContact(contact_id=str(bluefin.contact_id))}, [ARCHIVED_CONTACT]),
        7: ({"line_items": [sdk_line(account_code="999")]}, [NOT_VALID.format("999")]),
        11: ({"line_items": [sdk_line(account_code="250")]}, [ARCHIVED_ACCOUNT]),
        15: ({"line_items": [sdk_line(account_code="610")]}, [NOT_VALID.format("610")]),
        19: ({"line_items": [sdk_line(account_code="310")]}, [NOT_VALID.format("310")]),
        23: ({"line_items": [sdk_line(tax_type="INPUT2")]}, [BAD_TAX.format("INPUT2")]),
        27: ({"line_items": [sdk_line(tax_type="NOPE")]}, [BAD_TAX.format("NOPE")]),
        31: ({"invoice_number": "EXISTING-1"}, ["Invoice # must be unique."]),
        35: ({"invoice_number": "B-034"}, ["Invoice # must be unique."]),  # the same number earlier in this batch
        39: ({"contact": SdkContact(contact_id="00000000-0000-0000-0000-000000000009")}, [UNKNOWN_CONTACT]),
        43: ({"currency_code": CurrencyCode.GBP}, ["Organisation is not subscribed to currency GBP"]),
        47: (
            {"line_items": [sdk_line(account_code="250", tax_type="INPUT2")]},
            [ARCHIVED_ACCOUNT, BAD_TAX.format("INPUT2")],
        ),
    }
    for index, (fields, _) in wrong.items():
        invoices[index] = sdk_invoice(acme, **({"invoice_number": f"B-{index:03d}"} | fields))
    return invoices, {index: expected for index, (_, expected) in wrong.items()}


def test_a_mixed_batch_with_summarize_errors_false_keeps_the_good_and_explains_the_bad(linked, acme, bluefin):
    document(acme, number="EXISTING-1")
    invoices, wrong = bad_and_good_batch(acme, bluefin)
    answered = create(linked, *invoices)
    assert len(answered) == 50
    assert {i: messages(a) for i, a in enumerate(answered) if a.has_errors} == wrong
    assert all(a.status_attribute_string == "OK" and a.invoice_id for i, a in enumerate(answered) if i not in wrong)
    written = set(Document.objects.exclude(number="EXISTING-1").values_list("number", flat=True))
    assert written == {f"B-{i:03d}" for i in range(50) if i not in wrong}
    assert len(events(event_type="CREATE")) == 1 + 38


def test_the_same_batch_without_summarize_errors_is_refused_whole(linked, acme, bluefin):
    document(acme, number="EXISTING-1")
    invoices, wrong = bad_and_good_batch(acme, bluefin)
    with pytest.raises(AccountingBadRequestException) as error:
        linked.api.create_invoices(linked.tenant(), Invoices(invoices=invoices))
    assert error.value.status == 400
    assert error.value.error_data["Type"] == "ValidationException"
    assert refusal(error) == list(wrong.values())
    assert list(Document.objects.values_list("number", flat=True)) == ["EXISTING-1"]
    assert len(events()) == 1


def test_numbers_of_voided_and_deleted_invoices_stay_taken(linked, acme):
    books.document_void(document=document(acme, number="V-1"))
    books.document_delete(document=document(acme, number="D-1", status="DRAFT"))
    refused = create(linked, sdk_invoice(acme, invoice_number="V-1"), sdk_invoice(acme, invoice_number="D-1"))
    assert [messages(r) for r in refused] == [["Invoice # must be unique."]] * 2


def test_a_put_never_updates_but_a_post_with_a_known_number_does(linked, acme):
    create(linked, sdk_invoice(acme, invoice_number="P-1", status="DRAFT"))
    again = sdk_invoice(acme, invoice_number="P-1", status="DRAFT", lines=[sdk_line(unit_amount=200)])
    assert messages(create(linked, again)[0]) == ["Invoice # must be unique."]
    posted = linked.api.update_or_create_invoices(linked.tenant(), Invoices(invoices=[again]), summarize_errors=False)
    updated = posted.invoices[0]
    assert (updated.has_errors, updated.total, Document.objects.count()) == (False, 230, 1)


# --- Reading -------------------------------------------------------------------------------------
def test_invoices_are_found_by_ids_numbers_statuses_and_contacts(linked, acme, nz):
    harbour = contact(nz, "HARB-7")
    first, second = document(acme, number="F-1"), document(acme, number="F-2", status="DRAFT")
    third = document(harbour, number="F-3")
    api, tenant = linked.api, linked.tenant()

    def numbers(**filters):
        return sorted(i.invoice_number for i in api.get_invoices(tenant, **filters).invoices)

    assert numbers(i_ds=[str(first.document_id), str(third.document_id)]) == ["F-1", "F-3"]
    assert numbers(invoice_numbers=["F-2", "F-3"]) == ["F-2", "F-3"]
    assert numbers(statuses=["DRAFT"]) == ["F-2"]
    assert numbers(contact_i_ds=[str(harbour.contact_id)]) == ["F-3"]
    assert numbers(where=f'Status=="AUTHORISED" AND Contact.ContactID==Guid("{acme.contact_id}")') == ["F-1"]
    assert api.get_invoice(tenant, "F-2").invoices[0].invoice_id == str(second.document_id)


def test_a_lookup_by_numbers_ignores_case_and_reads_only_the_documents_holding_them(linked, acme, monkeypatch):
    from xero_sandbox import api_documents

    for n in range(30):
        document(acme, number=f"BULK-{n:03d}")
    serialised = []
    element = api_documents.document_element
    monkeypatch.setattr(api_documents, "document_element", lambda d, **kw: serialised.append(d) or element(d, **kw))
    where = 'InvoiceNumber=="bulk-007" OR InvoiceNumber=="BULK-011" OR InvoiceNumber=="NONE-1"'
    found = linked.api.get_invoices(linked.tenant(), where=where).invoices
    assert sorted(i.invoice_number for i in found) == ["BULK-007", "BULK-011"]
    assert len(serialised) == 2  # not the organisation's 30 and more


def test_a_list_shows_lines_only_when_paged_as_xeros_does(linked, acme):
    invoice = document(acme)
    api, tenant = linked.api, linked.tenant()
    assert api.get_invoices(tenant, i_ds=[str(invoice.document_id)]).invoices[0].line_items == []
    assert len(api.get_invoices(tenant, i_ds=[str(invoice.document_id)], page=1).invoices[0].line_items) == 1
    assert len(api.get_invoice(tenant, str(invoice.document_id)).invoices[0].line_items) == 1


def test_an_unknown_invoice_is_not_found(linked):
    with pytest.raises(NotFoundException):
        linked.api.get_invoice(linked.tenant(), "00000000-0000-0000-0000-000000000000")


def test_if_modified_since_answers_only_what_changed_strictly_after(linked, acme):
    older, newer = document(acme, number="M-1"), document(acme, number="M-2")
    api, tenant = linked.api, linked.tenant()
    seen = api.get_invoice(tenant, str(newer.document_id)).invoices[0].updated_date_utc
    assert api.get_invoices(tenant, if_modified_since=seen).invoices == []
    books.document_void(document=older)
    assert [i.invoice_number for i in api.get_invoices(tenant, if_modified_since=seen).invoices] == ["M-1"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01T10:00:00", datetime.datetime(2024, 3, 1, 10, tzinfo=datetime.UTC)),  # the SDK, naive
        ("2024-03-01T10:00:00+13:00", datetime.datetime(2024, 2, 29, 21, tzinfo=datetime.UTC)),
        ("Fri, 01 Mar 2024 10:00:00 GMT", datetime.datetime(2024, 3, 1, 10, tzinfo=datetime.UTC)),
        ("/Date(1709287200000+0000)/", datetime.datetime(2024, 3, 1, 10, tzinfo=datetime.UTC)),
    ],
)
def test_if_modified_since_is_read_in_the_formats_clients_send(text, expected):
    assert parse_timestamp(text) == expected


def test_invoices_come_a_hundred_to_a_page(linked, acme):
    for n in range(105):
        document(acme, number=f"PG-{n:03d}")
    api, tenant = linked.api, linked.tenant()
    first, second = api.get_invoices(tenant, page=1), api.get_invoices(tenant, page=2)
    assert (len(first.invoices), len(second.invoices), len(api.get_invoices(tenant, page=3).invoices)) == (100, 5, 0)
    assert first.invoices[0].invoice_number == "PG-000" and second.invoices[-1].invoice_number == "PG-104"
    assert (first.pagination.item_count, first.pagination.page_count) == (105, 2)


# --- At the same time ----------------------------------------------------------------------------
@pytest.fixture
def slow_document_writes():
    """Widen the gap between checking a number and writing the document, where a race would slip in."""

    def pause(sender, **kwargs):
        time.sleep(0.1)

    pre_save.connect(pause, sender=Document)
    yield
    pre_save.disconnect(pause, sender=Document)


@pytest.mark.postgres
def test_batches_sent_at_the_same_time_cannot_both_take_one_invoice_number(
    linked, sandbox_url, acme, slow_document_writes
):
    body = {
        "Invoices": [
            {
                "Type": "ACCREC",
                "InvoiceNumber": "RACE-1",
                "Contact": {"ContactID": str(acme.contact_id)},
                "LineItems": [{"UnitAmount": 10, "AccountCode": "200"}],
            }
        ]
    }
    statuses = at_once(4, lambda n: raw_put(linked, sandbox_url, "/Invoices", body))
    assert sorted(statuses) == [200, 400, 400, 400]
    assert Document.objects.filter(number="RACE-1").count() == 1


@pytest.mark.postgres
def test_a_call_writing_one_number_does_not_hold_back_a_call_writing_another(acme):
    """Xero takes an organisation's five concurrent calls in parallel: only calls writing the same number wait
    for each other (until the first one's transaction ends)."""
    written, finish = threading.Event(), threading.Event()

    def first_call():
        try:
            with transaction.atomic():
                document(acme, number="PAR-1")
                written.set()
                finish.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=first_call)
    thread.start()
    try:
        assert written.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            document(acme, number="PAR-2")  # an organisation-wide lock made this wait for the first call
            with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
                document(acme, number="par-1")  # the same number (Xero ignores case) still waits
    finally:
        finish.set()
        thread.join(10)
    assert sorted(Document.objects.filter(number__istartswith="PAR-").values_list("number", flat=True)) == [
        "PAR-1",
        "PAR-2",
    ]
