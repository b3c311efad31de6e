"""Attachments of invoices, bills and credit notes, and the online invoice.

- `PUT /Invoices/{InvoiceID}/Attachments/{FileName}?IncludeOnline=true` (and under `/CreditNotes`): the
  body is the file's bytes, not JSON. As in Xero, a name the document already has adds a second file of
  that name (XeroAPI/Xero-NetStandard#52): a retry without an Idempotency-Key doubles the file.
- `GET .../Attachments`: the list, without the files. `GET .../Attachments/{FileName}`, or with the
  AttachmentID in place of the name (Xero's own advice in that issue): the file's bytes, with its type.
- `GET /Invoices/{InvoiceID}/OnlineInvoice`: the URL of the invoice's public page (`online_invoice`), for
  an approved sales invoice.

These endpoints need the `accounting.attachments` scope (`gateway._scopes_needed`); the online invoice
the invoices' scope."""

import mimetypes
import secrets
from urllib.parse import quote

from django.urls import reverse

from .api_documents import CREDIT_NOTES, INVOICES, Kind
from .api_support import find_document, method_not_allowed, not_found
from .conf import sandbox_setting
from .document_input import as_uuid
from .gateway import ApiCall, ApiError, ApiResult, accounting_endpoint
from .models import Attachment, Document
from .serializers import attachment_element
from .xero_json import envelope, validation_exception

API_ROOT = "/api.xro/2.0/"
MAX_FILE_NAME = 255
# Xero serves online invoices for approved sales invoices and says a DRAFT has none. A voided one keeps
# its page (a customer may hold the link; the page says VOIDED); SUBMITTED and DELETED have none.
ONLINE_STATUSES = ("AUTHORISED", "PAID", "VOIDED")

# Refusals in the sandbox's own words: Xero's exact wording for these was not found.
EMPTY_FILE = "The attachment is empty: send the file's bytes as the request body."
FILE_TOO_LARGE = "The file {name} is {size:,} bytes: an attachment can be at most {limit:,} bytes (10 MB)."
TOO_MANY_FILES = "This document already has {count} attachments, the most Xero allows on one document."
NAME_TOO_LONG = "The file name is longer than {limit} characters."
NOT_A_SALES_INVOICE = "Online invoices are only available for sales invoices (ACCREC); this is a {type}."
NOT_APPROVED = "An online invoice is only available for an approved invoice (AUTHORISED or PAID); this one is {status}."


@accounting_endpoint
def invoice_attachments(call: ApiCall, document_ref: str) -> ApiResult:
    return _list(call, INVOICES, document_ref)


@accounting_endpoint(raw_body=True)
def invoice_attachment(call: ApiCall, document_ref: str, name: str) -> ApiResult:
    return _one(call, INVOICES, document_ref, name)


@accounting_endpoint
def credit_note_attachments(call: ApiCall, document_ref: str) -> ApiResult:
    return _list(call, CREDIT_NOTES, document_ref)


@accounting_endpoint(raw_body=True)
def credit_note_attachment(call: ApiCall, document_ref: str, name: str) -> ApiResult:
    return _one(call, CREDIT_NOTES, document_ref, name)


@accounting_endpoint
def online_invoice(call: ApiCall, document_ref: str) -> ApiResult:
    if call.request.method != "GET":
        return method_not_allowed()
    document = _document(call, INVOICES, document_ref)
    if document.type != Document.INVOICE:
        raise ApiError(_refused(INVOICES, document, NOT_A_SALES_INVOICE.format(type=f"bill ({document.type})")))
    if document.status not in ONLINE_STATUSES:
        raise ApiError(_refused(INVOICES, document, NOT_APPROVED.format(status=document.status)))
    path = reverse("sandbox_online_invoice", args=[online_invoice_token(document)])
    return ApiResult(envelope(OnlineInvoices=[{"OnlineInvoiceUrl": call.request.build_absolute_uri(path)}]), elements=1)


def online_invoice_token(document: Document) -> str:
    """The document's online invoice token, given the first time it is asked for (one UPDATE that only
    sets it where none is set, so that two calls at once agree; UpdatedDateUTC is left alone)."""
    if not document.online_invoice_token:
        Document.objects.filter(pk=document.pk, online_invoice_token__isnull=True).update(
            online_invoice_token=secrets.token_urlsafe(30)  # 40 characters, like Xero's in.xero.com links
        )
        document.online_invoice_token = Document.objects.values_list("online_invoice_token", flat=True).get(
            pk=document.pk
        )
    return document.online_invoice_token


# --- Attachments ---------------------------------------------------------------------------------
def _list(call: ApiCall, kind: Kind, document_ref: str) -> ApiResult:
    if call.request.method != "GET":
        return method_not_allowed()
    document = _document(call, kind, document_ref)
    elements = [_element(call, kind, document, a) for a in document.attachments.defer("content")]
    return ApiResult(envelope(Attachments=elements), elements=len(elements))


def _one(call: ApiCall, kind: Kind, document_ref: str, name: str) -> ApiResult:
    method = call.request.method
    if method not in ("GET", "PUT", "POST"):
        return method_not_allowed()
    document = _document(call, kind, document_ref)
    if method == "GET":
        return _download(document, name)
    # POST (Xero's "update" in its specification) adds a file as PUT does: Xero's documentation takes
    # either method for an upload, and neither replaces a file of the same name.
    return _attach(call, kind, document, name)


def _attach(call: ApiCall, kind: Kind, document: Document, file_name: str) -> ApiResult:
    """Add the body as a file. The document's row is locked first, so that calls at the same moment
    count each other's files against the limit."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    content = bytes(call.body)
    problem = _problem(document, file_name, content)
    if problem:
        raise ApiError(_refused(kind, document, problem))
    attachment = Attachment.objects.create(
        document=document,
        file_name=file_name,
        mime_type=_mime_type(call.request, file_name),
        content=content,
        content_length=len(content),
        include_online=call.flag("IncludeOnline", False),
    )
    return ApiResult(envelope(Attachments=[_element(call, kind, document, attachment)]), elements=1)


def _problem(document: Document, file_name: str, content: bytes) -> str | None:
    limit = sandbox_setting("ATTACHMENT_MAX_BYTES")
    most = sandbox_setting("ATTACHMENTS_PER_DOCUMENT")
    if not content:
        return EMPTY_FILE
    if len(content) > limit:
        return FILE_TOO_LARGE.format(name=file_name, size=len(content), limit=limit)
    if len(file_name) > MAX_FILE_NAME:
        return NAME_TOO_LONG.format(limit=MAX_FILE_NAME)
    count = document.attachments.count()
    if count >= most:
        return TOO_MANY_FILES.format(count=count)
    return None


def _mime_type(request, file_name: str) -> str:
    """The type the client sent, unless it is the SDK's generic application/octet-stream (it sends that
    for every file): then the one the file name's extension gives."""
    sent = (request.content_type or "").lower()
    if sent and sent != "application/octet-stream":
        return sent
    guessed, _ = mimetypes.guess_type(file_name, strict=False)
    return guessed or "application/octet-stream"


def _download(document: Document, name: str) -> ApiResult:
    found = find_attachment(document, name)
    if found is None:
        raise ApiError(not_found(f"No attachment {name} on this document"))
    return ApiResult(bytes(found.content), elements=1, content_type=found.mime_type)


def find_attachment(document: Document, name: str) -> Attachment | None:
    """The attachment with this AttachmentID, or else the first one added with this file name (names
    repeat; which one Xero answers then is not documented — ask by AttachmentID to be sure)."""
    attachments = document.attachments.order_by("created_at", "pk")
    attachment_id = as_uuid(name)
    found = attachments.filter(attachment_id=attachment_id).first() if attachment_id else None
    return found or attachments.filter(file_name=name).first() or attachments.filter(file_name__iexact=name).first()


def _element(call: ApiCall, kind: Kind, document: Document, attachment: Attachment) -> dict:
    path = f"{kind.collection}/{document.document_id}/Attachments/{quote(attachment.file_name, safe='')}"
    return attachment_element(attachment, url=_api_url(call.request, path))


def _api_url(request, path: str) -> str:
    """The absolute URL of an Accounting API path on this sandbox, as the caller reached it (where Xero
    answers https://api.xero.com/api.xro/2.0/...)."""
    at = request.path.lower().find(API_ROOT)
    return request.build_absolute_uri(request.path[: at + len(API_ROOT)] + path)


# --- Shared --------------------------------------------------------------------------------------
def _document(call: ApiCall, kind: Kind, document_ref: str) -> Document:
    document = find_document(call.organisation, kind.types, document_ref)
    if document is None:
        raise ApiError(not_found(f"No {kind.collection[:-1]} {document_ref}"))
    return document


def _refused(kind: Kind, document: Document, message: str):
    """Xero's 400 ValidationException, its element naming the document (as the SDK's Element reads it)."""
    return validation_exception([{kind.id_key: str(document.document_id), "ValidationErrors": [{"Message": message}]}])


ROUTES = {
    "invoices/*/attachments": invoice_attachments,
    "invoices/*/attachments/*": invoice_attachment,
    "creditnotes/*/attachments": credit_note_attachments,
    "creditnotes/*/attachments/*": credit_note_attachment,
    "invoices/*/onlineinvoice": online_invoice,
}
