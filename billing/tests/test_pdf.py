"""Issued invoices and credit notes as PDF documents (billing/pdf.py), and their download from the document's page."""

import re
from decimal import Decimal
from io import BytesIO

import pypdf
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import pdf, services
from billing.models import Company, Invoice
from billing.pdf import DocumentNotIssued, DocumentPdfError, document_pdf, document_pdf_filename

from .factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line

pytestmark = pytest.mark.django_db


def issued(*lines, **fields) -> Invoice:
    return services.invoice_issue(invoice=draft_with_lines(*lines, **fields))


def lines_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(data)).pages)


def text_of(data: bytes) -> str:
    """The document's text with each run of white space as one space (table cells come out on lines of their own)."""
    return " ".join(lines_of(data).split())


def download(client, invoice: Invoice):
    return client.get(reverse("billing:invoice_pdf", args=[invoice.pk]))


def is_pdf_named(response, filename: str) -> bool:
    return (
        response.status_code == 200
        and response["Content-Type"] == "application/pdf"
        and response["Content-Disposition"] == f'attachment; filename="{filename}"'
        and response.content.startswith(b"%PDF-")
    )


# --- The download ------------------------------------------------------------------------------
def test_an_issued_invoice_downloads_as_a_pdf_named_by_its_number(staff):
    invoice = issued()
    assert invoice.number == "INV-000001"
    assert is_pdf_named(download(staff, invoice), "INV-000001.pdf")


def test_an_issued_credit_note_downloads_as_a_pdf_named_by_its_number(staff):
    note = issued(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.number == "CN-000001"
    assert is_pdf_named(download(staff, note), "CN-000001.pdf")


def test_a_paid_voided_or_deleted_document_still_downloads(staff):
    for status in (Invoice.Status.PAID, Invoice.Status.VOIDED, Invoice.Status.DELETED):
        invoice = issued()
        services.invoice_record_accounting_status(invoice=invoice, status=status)
        assert is_pdf_named(download(staff, invoice), f"{invoice.number}.pdf"), status


def test_a_draft_has_no_pdf_to_download(staff):
    assert download(staff, draft_with_lines()).status_code == 404


def test_a_document_that_does_not_exist_has_no_pdf(staff):
    assert staff.get(reverse("billing:invoice_pdf", args=[999999])).status_code == 404


def test_a_user_without_the_view_permission_is_refused_the_pdf(client):
    invoice = issued()
    client.force_login(get_user_model().objects.create_user("clerk", password="pw", is_staff=True))
    assert download(client, invoice).status_code == 403


def test_a_user_with_only_the_view_permission_downloads_the_pdf(client):
    invoice = issued()
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_invoice", content_type__app_label="billing"))
    client.force_login(user)
    assert is_pdf_named(download(client, invoice), "INV-000001.pdf")


def test_an_anonymous_visitor_is_sent_to_sign_in_for_the_pdf(client):
    response = download(client, issued())
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_download_link_is_on_an_issued_documents_page_and_not_on_a_drafts(staff):
    invoice, draft = issued(), draft_with_lines()
    page = staff.get(invoice.get_absolute_url()).content.decode()
    assert 'data-testid="download-pdf"' in page
    assert reverse("billing:invoice_pdf", args=[invoice.pk]) in page
    assert 'data-testid="download-pdf"' not in staff.get(draft.get_absolute_url()).content.decode()


# --- What the document says --------------------------------------------------------------------
def test_the_pdf_states_number_customer_line_and_totals_as_the_page_formats_them():
    account = BillingAccountFactory(
        name="Harbour Imports Ltd",
        code="HARB01",
        address_line1="Unit 4, 88 Quay Street",
        city="Wellington",
        postal_code="6011",
        country="New Zealand",
        email="accounts@harbour.example",
    )
    invoice = issued(
        line(description="Sea freight FCL 40ft Shanghai to Auckland", quantity="2", unit_price="1850.5"),
        line(description="Handling", quantity="12.375", unit_price="3.1275"),
        billing_account=account,
        reference="CONS-55512",
    )
    text = text_of(document_pdf(invoice))
    for expected in (
        "Tax invoice",
        "INV-000001",
        "Harbour Imports Ltd",
        "HARB01",
        "Unit 4, 88 Quay Street",
        "Wellington 6011",
        "accounts@harbour.example",
        "CONS-55512",
        "Sea freight FCL 40ft Shanghai to Auckland",
        "1,850.50",  # the unit price, two places
        "3.1275",  # the unit price, four places when it has them
        "12.375",
        "3,701.00",  # a line's amount
        f"{invoice.subtotal:,}",
        f"{invoice.tax_total:,}",
        f"{invoice.total:,}",
        "Total NZD",
        "Due date",
    ):
        assert expected in text, expected
    assert "VOID" not in text
    assert "Exchange rate" not in text


def test_the_pdf_names_the_issuing_company_with_its_address_and_tax_registration_number():
    company = Company.objects.default()
    company.tax_registration = "123-456-789"
    company.address_line1 = "12 Wharf Road"
    company.city, company.postal_code = "Auckland", "1010"
    company.save()
    text = text_of(document_pdf(issued()))
    for expected in (company.name, "12 Wharf Road", "Auckland 1010", "New Zealand", "GST number: 123-456-789"):
        assert expected in text, expected


def test_a_credit_note_pdf_is_titled_so_and_names_the_invoice_it_credits():
    invoice = issued()
    note = issued(kind=Invoice.Kind.CREDIT_NOTE, billing_account=invoice.billing_account, credited_invoice=invoice)
    text = text_of(document_pdf(note))
    assert "Credit note" in text and "Tax invoice" not in text
    assert "CN-000001" in text
    assert "Credits invoice INV-000001" in text
    assert f"Total credited NZD {note.total:,}" in text
    assert "Due date" not in text


def test_a_voided_or_deleted_document_says_void():
    for status in (Invoice.Status.VOIDED, Invoice.Status.DELETED):
        invoice = issued()
        services.invoice_record_accounting_status(invoice=invoice, status=status)
        text = text_of(document_pdf(invoice))
        assert "VOID" in text, status
        assert f"this invoice was {status}" in text, status


def test_the_exchange_rate_shows_when_the_document_has_one():
    account = BillingAccountFactory(currency="USD")
    invoice = issued(billing_account=account, currency="USD", exchange_rate=Decimal("0.5895"))
    text = text_of(document_pdf(invoice))
    assert "Exchange rate: 0.5895 USD to 1 NZD" in text
    assert "Total USD" in text


def test_a_255_character_description_without_spaces_wraps_within_the_page():
    description = "X" * 255
    data = document_pdf(issued(line(description=description)))
    text = lines_of(data)
    assert description in re.sub(r"\s", "", text)  # all of it is there...
    longest_run = max(len(run) for run in re.findall(r"X+", text))
    assert longest_run < 80  # ...over several lines of its column, not one running off the page
    assert len(pypdf.PdfReader(BytesIO(data)).pages) == 1


def test_long_unbroken_names_references_and_the_longest_description_render():
    account = BillingAccountFactory(name="N" * 255, address_line1="A" * 255)
    invoice = issued(line(description="D" * 4000), billing_account=account, reference="R" * 255)
    assert document_pdf(invoice).startswith(b"%PDF-")


def test_markup_in_a_description_is_printed_as_text_not_followed():
    description = "<b>Bold</b> & <img src='/etc/passwd'> <a href='http://169.254.169.254/'>link</a>"
    text = text_of(document_pdf(issued(line(description=description))))
    assert "<b>Bold</b> & <img src='/etc/passwd'>" in text


def test_a_document_of_200_lines_runs_over_pages_that_say_how_many_there_are():
    tax, rate = TaxRateFactory(), RateFactory()
    invoice = issued(*[line(description=f"Handling {n}", rate=rate, tax_rate=tax) for n in range(200)])
    text = text_of(document_pdf(invoice))
    assert "Handling 199" in text
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert len(pages) > 1 and all(total == str(len(pages)) for _, total in pages)


# --- How it is made ----------------------------------------------------------------------------
def test_rendering_takes_as_many_queries_for_20_lines_as_for_2():
    tax, rate = TaxRateFactory(), RateFactory()

    def queries_to_render(lines: int) -> int:
        invoice = issued(*[line(description=f"Line {n}", rate=rate, tax_rate=tax) for n in range(lines)])
        with CaptureQueriesContext(connection) as queries:
            document_pdf(invoice)
        return len(queries)

    assert queries_to_render(2) == queries_to_render(20) <= 2


def test_a_draft_is_refused_a_pdf_and_a_filename():
    draft = draft_with_lines()
    with pytest.raises(DocumentNotIssued):
        document_pdf(draft)
    with pytest.raises(DocumentNotIssued):
        document_pdf_filename(draft)
    assert issubclass(DocumentNotIssued, ValueError)


@pytest.mark.parametrize(
    ("number", "filename"),
    [
        ("INV-000001", "INV-000001.pdf"),
        ("SI-000042", "SI-000042.pdf"),
        ("I001-000007", "I001-000007.pdf"),
        ("A/B-000001", "A_B-000001.pdf"),
        ("..\\..\\etc-000001", "etc-000001.pdf"),
        ("Fäк Ρ-000001", "Fa_-000001.pdf"),
        ('a"b;c-000001', "a_b_c-000001.pdf"),
    ],
)
def test_the_filename_is_the_number_in_safe_characters_only(number, filename):
    document = Invoice(pk=7, number=number, status=Invoice.Status.ISSUED)
    name = document_pdf_filename(document)
    assert name == filename
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.pdf", name)


def test_a_number_with_no_safe_character_still_gets_a_filename():
    assert document_pdf_filename(Invoice(pk=7, number="中文", status=Invoice.Status.ISSUED)) == "document-7.pdf"


def test_an_error_the_renderer_reports_is_raised_with_its_message(monkeypatch):
    class Failed:
        err = 1
        log = [("error", 1, "the table does not fit", None)]

    monkeypatch.setattr(pdf.pisa, "CreatePDF", lambda *args, **kwargs: Failed())
    with pytest.raises(DocumentPdfError, match="INV-000001: .*the table does not fit"):
        document_pdf(issued())
