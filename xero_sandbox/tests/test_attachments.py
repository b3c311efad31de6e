"""Attachments of invoices and credit notes, and the online invoice, through xero-python as the platform
would call them: Xero's edges included (a name put twice is two files; a retry without an
Idempotency-Key doubles a file), its limits, its scope, and the customer's public page."""

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
import urllib3
from django.urls import reverse
from openapi_core.testing import MockRequest, MockResponse
from xero_python.accounting import AccountingApi
from xero_python.exceptions import AccountingBadRequestException, HTTPStatusException, NotFoundException

from xero_sandbox import books
from xero_sandbox.api_attachments import EMPTY_FILE, NOT_A_SALES_INVOICE, NOT_APPROVED
from xero_sandbox.models import Attachment, Document, RequestLog

from .books_factories import contact, document, outside
from .conftest import Linked, connect, sdk_client
from .openapi_specs import load

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
TEN_MB = 10 * 1024 * 1024
XERO_API_HOST = "https://api.xero.com"
# Named here rather than taken from settings.XERO_SCOPES, whatever the platform asks for.
WITHOUT_FILES = "offline_access accounting.invoices accounting.contacts accounting.settings.read"
WITH_FILES = f"{WITHOUT_FILES} accounting.attachments"


def linked_with(orgs, sandbox_url, scopes: str) -> Linked:
    access = connect(orgs, scopes=scopes)
    api = AccountingApi(sdk_client(access.token), base_url=f"{sandbox_url}/api.xro/2.0")
    return Linked(api=api, access_token=access, orgs=orgs)


@pytest.fixture
def filing(orgs, sandbox_url) -> Linked:
    """The platform's app linked with the attachments scope."""
    return linked_with(orgs, sandbox_url, WITH_FILES)


@pytest.fixture
def not_filing(orgs, sandbox_url) -> Linked:
    """Linked with the invoices scope but not the attachments one."""
    return linked_with(orgs, sandbox_url, WITHOUT_FILES)


@pytest.fixture
def invoice(filing) -> Document:
    """An approved sales invoice of the NZ organisation to Acme Imports Ltd."""
    return document(contact(filing.orgs["NZ"], "ACME01"))


def attach(filing, doc: Document, name: str = "INV-0001.pdf", body: bytes = PDF, **options):
    answer = filing.api.create_invoice_attachment_by_file_name(
        filing.tenant(), str(doc.document_id), name, body=body, **options
    )
    return answer.attachments[0]


def refusal(error) -> str:
    return error.value.error_data["Elements"][0]["ValidationErrors"][0]["Message"]


def raw(filing, sandbox_url: str, method: str, url: str, *, body=None, headers=None):
    """A call as sent by hand (the SDK always says application/octet-stream)."""
    sent = {"Authorization": f"Bearer {filing.access_token.token}", "xero-tenant-id": filing.tenant()}
    return urllib3.PoolManager(retries=False).request(
        method, f"{sandbox_url}/api.xro/2.0{url}", body=body, headers=sent | (headers or {})
    )


def downloaded(path: str) -> bytes:
    """The bytes of a file the SDK saved (it answers a file's path in a temporary folder), removed."""
    content = Path(path).read_bytes()
    Path(path).unlink()
    return content


def browse(url: str):
    """What the customer's browser gets: no sign-in, no cookies."""
    return urllib3.PoolManager(retries=False).request("GET", url, redirect=False)


# --- Putting files -----------------------------------------------------------------------------
def test_a_file_put_on_an_invoice_is_stored_and_listed_with_include_online(filing, invoice):
    put = attach(filing, invoice, include_online=True)
    assert (put.file_name, put.mime_type, put.content_length, put.include_online) == (
        "INV-0001.pdf",
        "application/pdf",
        len(PDF),
        True,
    )
    assert put.url.endswith(f"/api.xro/2.0/Invoices/{invoice.document_id}/Attachments/INV-0001.pdf")
    listed = filing.api.get_invoice_attachments(filing.tenant(), str(invoice.document_id)).attachments
    assert [(a.attachment_id, a.file_name, a.include_online) for a in listed] == [
        (put.attachment_id, "INV-0001.pdf", True)
    ]
    stored = Attachment.objects.get()
    assert (bytes(stored.content), stored.document, stored.include_online) == (PDF, invoice, True)


def test_the_put_answers_xeros_envelope_with_the_attachment(filing, invoice, sandbox_url):
    answer = raw(
        filing,
        sandbox_url,
        "PUT",
        f"/Invoices/{invoice.document_id}/Attachments/INV-0001.pdf?IncludeOnline=true",
        body=PDF,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status == 200
    body = json.loads(answer.data)
    assert set(body) == {"Id", "Status", "ProviderName", "DateTimeUTC", "Attachments"}
    assert body["Status"] == "OK"
    assert set(body["Attachments"][0]) == {
        "AttachmentID",
        "FileName",
        "Url",
        "MimeType",
        "ContentLength",
        "IncludeOnline",
    }


def test_a_file_is_shown_online_only_when_asked(filing, invoice):
    assert attach(filing, invoice).include_online is False
    assert attach(filing, invoice, include_online=False).include_online is False


def test_an_invoice_with_a_file_says_it_has_attachments(filing, invoice):
    assert filing.api.get_invoice(filing.tenant(), str(invoice.document_id)).invoices[0].has_attachments is False
    attach(filing, invoice)
    assert filing.api.get_invoice(filing.tenant(), str(invoice.document_id)).invoices[0].has_attachments is True
    listed = filing.api.get_invoices(filing.tenant(), i_ds=[str(invoice.document_id)]).invoices
    assert [i.has_attachments for i in listed] == [True]


def test_a_credit_note_takes_files_too(filing):
    credit_note = document(contact(filing.orgs["NZ"], "ACME01"), type=Document.CREDIT_NOTE)
    put = filing.api.create_credit_note_attachment_by_file_name(
        filing.tenant(), str(credit_note.document_id), "CN-0001.pdf", body=PDF, include_online=True
    ).attachments[0]
    assert put.url.endswith(f"/CreditNotes/{credit_note.document_id}/Attachments/CN-0001.pdf")
    listed = filing.api.get_credit_note_attachments(filing.tenant(), str(credit_note.document_id)).attachments
    assert [(a.attachment_id, a.file_name, a.include_online) for a in listed] == [
        (put.attachment_id, "CN-0001.pdf", True)
    ]


def test_a_supplier_bill_takes_files_under_invoices(filing):
    bill = outside(filing.orgs["NZ"], Document.BILL, "SUP-77")
    assert attach(filing, bill, "receipt.jpg", b"\xff\xd8\xff jpeg").mime_type == "image/jpeg"


def test_the_same_file_name_put_twice_makes_two_files(filing, invoice):
    """Xero's edge: a name the document already has is another file (a retry without a key doubles it)."""
    first = attach(filing, invoice)
    second = attach(filing, invoice)
    assert first.attachment_id != second.attachment_id
    listed = filing.api.get_invoice_attachments(filing.tenant(), str(invoice.document_id)).attachments
    assert [a.file_name for a in listed] == ["INV-0001.pdf", "INV-0001.pdf"]


def test_the_same_idempotency_key_twice_makes_one_file(filing, invoice):
    first = attach(filing, invoice, idempotency_key="attach-INV-0001-pdf")
    again = attach(filing, invoice, idempotency_key="attach-INV-0001-pdf")
    assert again.attachment_id == first.attachment_id
    assert Attachment.objects.count() == 1


def test_the_same_idempotency_key_with_another_file_is_refused(filing, invoice):
    attach(filing, invoice, idempotency_key="attach-1")
    with pytest.raises(AccountingBadRequestException) as error:
        attach(filing, invoice, body=PDF + b"changed", idempotency_key="attach-1")
    assert "Idempotency-Key" in error.value.error_data["Message"]
    assert Attachment.objects.count() == 1


def test_a_file_name_with_spaces_and_accents_is_decoded(filing, invoice):
    put = attach(filing, invoice, "Relevé de frais 1.pdf")
    assert put.file_name == "Relevé de frais 1.pdf"
    assert put.url.endswith("/Attachments/Relev%C3%A9%20de%20frais%201.pdf")
    assert Attachment.objects.get().file_name == "Relevé de frais 1.pdf"


def test_the_type_sent_in_content_type_is_kept(filing, invoice, sandbox_url):
    answer = raw(
        filing,
        sandbox_url,
        "PUT",
        f"/Invoices/{invoice.document_id}/Attachments/scan",
        body=b"\x89PNG\r\n",
        headers={"Content-Type": "image/png"},
    )
    assert answer.status == 200
    assert json.loads(answer.data)["Attachments"][0]["MimeType"] == "image/png"


# --- Limits --------------------------------------------------------------------------------------
def test_the_eleventh_file_on_a_document_is_refused(filing, invoice):
    for n in range(10):
        attach(filing, invoice, f"page-{n}.pdf")
    with pytest.raises(AccountingBadRequestException) as error:
        attach(filing, invoice, "page-10.pdf")
    assert error.value.status == 400
    assert refusal(error) == "This document already has 10 attachments, the most Xero allows on one document."
    assert error.value.error_data["Elements"][0]["InvoiceID"] == str(invoice.document_id)
    assert invoice.attachments.count() == 10


def test_a_file_over_10_mb_is_refused_and_one_of_10_mb_is_kept(filing, invoice):
    with pytest.raises(AccountingBadRequestException) as error:
        attach(filing, invoice, "huge.pdf", b"x" * (TEN_MB + 1))
    assert refusal(error) == (
        "The file huge.pdf is 10,485,761 bytes: an attachment can be at most 10,485,760 bytes (10 MB)."
    )
    assert not invoice.attachments.exists()
    # Past Django's 2.5 MB for a body and Xero's 3.5 MB for JSON; its Idempotency-Key works as for JSON.
    kept = attach(filing, invoice, "big.pdf", b"x" * TEN_MB, idempotency_key="big-file")
    assert attach(filing, invoice, "big.pdf", b"x" * TEN_MB, idempotency_key="big-file") == kept
    assert (kept.content_length, invoice.attachments.count()) == (TEN_MB, 1)


def test_an_empty_file_is_refused(filing, invoice):
    with pytest.raises(AccountingBadRequestException) as error:
        attach(filing, invoice, "empty.pdf", b"")
    assert refusal(error) == EMPTY_FILE
    assert not invoice.attachments.exists()


def test_a_file_on_an_unknown_invoice_is_not_found(filing):
    with pytest.raises(NotFoundException):
        filing.api.create_invoice_attachment_by_file_name(
            filing.tenant(), "9b9ba9e5-e907-4b4e-8210-54d82b0aa479", "INV-0001.pdf", body=PDF
        )
    with pytest.raises(NotFoundException):
        filing.api.get_invoice_attachments(filing.tenant(), "9b9ba9e5-e907-4b4e-8210-54d82b0aa479")


def test_another_organisations_invoice_is_not_found(filing):
    nz_invoice = document(contact(filing.orgs["NZ"], "ACME01"))
    with pytest.raises(NotFoundException):
        filing.api.create_invoice_attachment_by_file_name(
            filing.tenant("GB"), str(nz_invoice.document_id), "INV-0001.pdf", body=PDF
        )


# --- Scope ---------------------------------------------------------------------------------------
def test_a_token_without_the_attachments_scope_is_authorization_unsuccessful(not_filing, invoice):
    """accounting.invoices opens the invoice, not its files."""
    api, tenant, invoice_id = not_filing.api, not_filing.tenant(), str(invoice.document_id)
    for call in (
        lambda: api.create_invoice_attachment_by_file_name(tenant, invoice_id, "INV-0001.pdf", body=PDF),
        lambda: api.get_invoice_attachments(tenant, invoice_id),
        lambda: api.get_invoice_attachment_by_file_name(tenant, invoice_id, "INV-0001.pdf", "application/pdf"),
    ):
        with pytest.raises(HTTPStatusException) as error:
            call()
        assert error.value.status == 401
        assert json.loads(error.value.body)["Detail"] == "AuthorizationUnsuccessful"
    assert not Attachment.objects.exists()


def test_the_read_scope_reads_files_but_does_not_put_them(orgs, sandbox_url, invoice):
    Attachment.objects.create(
        document=invoice, file_name="INV-0001.pdf", mime_type="application/pdf", content=PDF, content_length=len(PDF)
    )
    access = connect(orgs, scopes="offline_access accounting.attachments.read")
    reader = AccountingApi(sdk_client(access.token), base_url=f"{sandbox_url}/api.xro/2.0")
    tenant = str(orgs["NZ"].tenant_id)
    assert len(reader.get_invoice_attachments(tenant, str(invoice.document_id)).attachments) == 1
    with pytest.raises(HTTPStatusException) as error:
        reader.create_invoice_attachment_by_file_name(tenant, str(invoice.document_id), "more.pdf", body=PDF)
    assert error.value.status == 401
    assert Attachment.objects.count() == 1


# --- Reading files back --------------------------------------------------------------------------
def test_a_file_is_read_back_by_name_or_by_attachment_id_as_its_bytes(filing, invoice):
    put = attach(filing, invoice, "Scan 1.png", b"\x89PNG\r\n\x1a\n-image-")
    by_name = filing.api.get_invoice_attachment_by_file_name(
        filing.tenant(), str(invoice.document_id), "Scan 1.png", "image/png"
    )
    by_id = filing.api.get_invoice_attachment_by_id(
        filing.tenant(), str(invoice.document_id), put.attachment_id, "image/png"
    )
    assert downloaded(by_name) == downloaded(by_id) == b"\x89PNG\r\n\x1a\n-image-"
    assert filing.api.api_client.last_response.getheader("Content-Type") == "image/png"


def test_a_repeated_name_reads_back_the_first_file(filing, invoice):
    attach(filing, invoice, body=PDF + b"first")
    attach(filing, invoice, body=PDF + b"second")
    path = filing.api.get_invoice_attachment_by_file_name(
        filing.tenant(), str(invoice.document_id), "INV-0001.pdf", "application/pdf"
    )
    assert downloaded(path) == PDF + b"first"


def test_a_credit_notes_file_is_read_back(filing):
    credit_note = document(contact(filing.orgs["NZ"], "ACME01"), type=Document.CREDIT_NOTE)
    filing.api.create_credit_note_attachment_by_file_name(
        filing.tenant(), str(credit_note.document_id), "CN-0001.pdf", body=PDF
    )
    path = filing.api.get_credit_note_attachment_by_file_name(
        filing.tenant(), str(credit_note.document_id), "CN-0001.pdf", "application/pdf"
    )
    assert downloaded(path) == PDF


def test_an_unknown_file_is_not_found(filing, invoice):
    with pytest.raises(NotFoundException):
        filing.api.get_invoice_attachment_by_file_name(
            filing.tenant(), str(invoice.document_id), "missing.pdf", "application/pdf"
        )


def test_attachment_calls_are_logged_and_counted_like_any_other(filing, invoice):
    attach(filing, invoice)
    filing.api.get_invoice_attachments(filing.tenant(), str(invoice.document_id))
    logged = list(RequestLog.objects.order_by("pk").values_list("method", "status_code", "elements"))
    assert logged == [("PUT", 200, 1), ("GET", 200, 1)]
    assert filing.api.api_client.last_response.getheader("X-MinLimit-Remaining") == "58"


# --- The online invoice --------------------------------------------------------------------------
def online_url(filing, doc: Document) -> str:
    return filing.api.get_online_invoice(filing.tenant(), str(doc.document_id)).online_invoices[0].online_invoice_url


def test_the_online_invoice_shows_the_invoice_and_only_the_files_included_online(filing, invoice, sandbox_url):
    attach(filing, invoice, "INV-0001.pdf", include_online=True)
    attach(filing, invoice, "internal-notes.txt", b"for staff only", include_online=False)
    url = online_url(filing, invoice)
    assert url.startswith(f"{sandbox_url}/in/")
    answer = browse(url)
    assert answer.status == 200
    html = answer.data.decode()
    for shown in (invoice.organisation.name, invoice.number, "Acme Imports Ltd", "Freight", "115.00", "AUTHORISED"):
        assert shown in html, shown
    assert "INV-0001.pdf" in html and "internal-notes.txt" not in html


def test_the_online_invoices_file_link_downloads_the_file(filing, invoice, sandbox_url):
    attach(filing, invoice, "INV-0001.pdf", include_online=True)
    html = browse(online_url(filing, invoice)).data.decode()
    link = re.search(r'href="([^"]+/files/[^"]+)"', html)[1]
    answer = browse(f"{sandbox_url.split('/xero-sandbox')[0]}{link}")
    assert (answer.status, answer.data, answer.headers["Content-Type"]) == (200, PDF, "application/pdf")
    assert answer.headers["Content-Disposition"].startswith("attachment;")


def test_a_file_not_included_online_is_not_served_on_the_online_invoices_address(filing, invoice, sandbox_url):
    hidden = attach(filing, invoice, "internal-notes.txt", b"for staff only")
    url = online_url(filing, invoice)
    assert browse(f"{url}/files/{hidden.attachment_id}").status == 404
    shown = attach(filing, invoice, "INV-0001.pdf", include_online=True)
    assert browse(f"{url}/files/{shown.attachment_id}").status == 200
    assert browse(f"{sandbox_url}/in/not-the-token/files/{shown.attachment_id}").status == 404


def test_the_online_invoice_address_is_unguessable_and_stays_the_same(filing, invoice, sandbox_url):
    url = online_url(filing, invoice)
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 40 and str(invoice.document_id) not in url
    assert online_url(filing, invoice) == url
    other = "y" if token.endswith("x") else "x"  # one character off (a token may end in x: 1 run in 64 did)
    assert browse(f"{sandbox_url}/in/{token[:-1]}{other}").status == 404


def test_a_paid_invoice_has_an_online_invoice(filing):
    paid = document(contact(filing.orgs["NZ"], "ACME01"))
    books.document_pay(document=paid, amount=paid.amount_due)
    assert "PAID" in browse(online_url(filing, paid)).data.decode()


def test_a_draft_invoice_has_no_online_invoice(filing):
    draft = document(contact(filing.orgs["NZ"], "ACME01"), status="DRAFT")
    with pytest.raises(AccountingBadRequestException) as error:
        filing.api.get_online_invoice(filing.tenant(), str(draft.document_id))
    assert refusal(error) == NOT_APPROVED.format(status="DRAFT")
    draft.refresh_from_db()
    assert draft.online_invoice_token is None


def test_a_bill_has_no_online_invoice(filing):
    bill = outside(filing.orgs["NZ"], Document.BILL, "SUP-77")
    with pytest.raises(AccountingBadRequestException) as error:
        filing.api.get_online_invoice(filing.tenant(), str(bill.document_id))
    assert refusal(error) == NOT_A_SALES_INVOICE.format(type="bill (ACCPAY)")


def test_a_credit_note_has_no_online_invoice(filing):
    credit_note = document(contact(filing.orgs["NZ"], "ACME01"), type=Document.CREDIT_NOTE)
    with pytest.raises(NotFoundException):
        filing.api.get_online_invoice(filing.tenant(), str(credit_note.document_id))


def test_the_online_invoice_needs_only_the_invoices_scope(not_filing, invoice):
    """It is an invoices endpoint, not an attachments one."""
    assert online_url(not_filing, invoice).startswith("http")


# --- The staff page ------------------------------------------------------------------------------
def test_the_document_page_lists_every_file_and_marks_those_shown_online(staff, filing, invoice):
    attach(filing, invoice, "INV-0001.pdf", include_online=True)
    hidden = attach(filing, invoice, "internal-notes.txt", b"for staff only")
    page_url = reverse("xero_sandbox:document_detail", args=[invoice.organisation_id, invoice.pk])
    html = staff.get(page_url).content.decode()
    assert "INV-0001.pdf" in html and "internal-notes.txt" in html
    assert html.count("IncludeOnline</span>") == 1
    download = reverse(
        "xero_sandbox:document_attachment", args=[invoice.organisation_id, invoice.pk, hidden.attachment_id]
    )
    assert download in html
    answer = staff.get(download)
    assert (answer.status_code, answer.content) == (200, b"for staff only")


def test_the_document_page_links_to_the_online_invoice_once_an_app_asked_for_it(staff, filing, invoice):
    page_url = reverse("xero_sandbox:document_detail", args=[invoice.organisation_id, invoice.pk])
    assert 'data-testid="online-invoice"' not in staff.get(page_url).content.decode()
    url = online_url(filing, invoice)
    assert url.split("/xero-sandbox", 1)[1] in staff.get(page_url).content.decode()


def test_a_staff_download_needs_a_signed_in_person(client, filing, invoice):
    put = attach(filing, invoice)
    url = reverse("xero_sandbox:document_attachment", args=[invoice.organisation_id, invoice.pk, put.attachment_id])
    assert client.get(url).status_code == 302


# --- Xero's specification --------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
def test_the_answers_match_xeros_specification(filing, invoice, sandbox_url):
    spec = load("xero_accounting.yaml")
    invoice_path = f"/Invoices/{invoice.document_id}"
    calls = [
        ("put", f"{invoice_path}/Attachments/INV-0001.pdf", {"IncludeOnline": "true"}, PDF),
        ("get", f"{invoice_path}/Attachments", {}, None),
        ("get", f"{invoice_path}/OnlineInvoice", {}, None),
    ]
    for method, path, query, body in calls:
        url = path + (f"?{urlencode(query)}" if query else "")
        headers = {"Content-Type": "application/octet-stream", "Accept": "application/json"}
        answer = raw(filing, sandbox_url, method.upper(), url, body=body, headers=headers)
        assert answer.status == 200, (path, answer.data)
        request = MockRequest(XERO_API_HOST, method, f"/api.xro/2.0{path}", args=query, headers=headers)
        response = MockResponse(answer.data, status_code=200, headers={"Content-Type": "application/json"})
        spec.validate_response(request, response)
