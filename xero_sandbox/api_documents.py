"""Invoices and credit notes, of sales and of suppliers alike (Xero keeps bills and supplier credit notes
in the same collections): GET (one, or filtered and paged), PUT (create) and POST (create or update)
in batches, and `POST /Invoices/{id}` to change one. Payments and credit note allocations are in
`api_payments`. The rules themselves are in `books`; this module reads requests and shapes answers."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet
from django.db.models.functions import Lower

from . import api_payments, books, where
from .api_support import (
    documents_of,
    find_document,
    floor_ms,
    if_modified_since,
    method_not_allowed,
    not_found,
    save_batch,
    unitdp,
)
from .document_input import DocumentReader, as_uuid, value
from .gateway import ApiCall, ApiError, ApiResult, accounting_endpoint
from .models import Document
from .serializers import document_element
from .xero_json import envelope, post_data_invalid

PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000
NUMBER_FIELDS = {"invoicenumber", "creditnotenumber"}  # as `where` paths, folded
ORDER_FIELDS = {
    "updateddateutc": "updated_at",
    "date": "date",
    "duedate": "due_date",
    "status": "status",
    "invoicenumber": "number",
    "creditnotenumber": "number",
    "reference": "reference",
    "total": "total",
}


@dataclass(frozen=True)
class Kind:
    # (sales, purchases): Xero keeps a supplier's bills and credit notes in the same collections
    types: tuple[str, str]
    collection: str
    id_key: str
    number_key: str
    # Xero's GET /CreditNotes has no IDs, numbers, contacts or statuses filters: it ignores them.
    has_list_filters: bool


INVOICES = Kind(Document.INVOICE_TYPES, "Invoices", "InvoiceID", "InvoiceNumber", has_list_filters=True)
CREDIT_NOTES = Kind(
    Document.CREDIT_NOTE_TYPES, "CreditNotes", "CreditNoteID", "CreditNoteNumber", has_list_filters=False
)


@accounting_endpoint
def invoices(call: ApiCall) -> ApiResult:
    return _collection(call, INVOICES)


@accounting_endpoint
def invoice(call: ApiCall, id_or_number: str) -> ApiResult:
    return _single(call, INVOICES, id_or_number)


@accounting_endpoint
def credit_notes(call: ApiCall) -> ApiResult:
    return _collection(call, CREDIT_NOTES)


@accounting_endpoint
def credit_note(call: ApiCall, id_or_number: str) -> ApiResult:
    return _single(call, CREDIT_NOTES, id_or_number)


def _collection(call: ApiCall, kind: Kind) -> ApiResult:
    method = call.request.method
    if method == "GET":
        return _list(call, kind)
    if method in ("PUT", "POST"):
        return _save(call, kind, create_only=method == "PUT")
    return method_not_allowed()


def _single(call: ApiCall, kind: Kind, id_or_number: str) -> ApiResult:
    document = find_document(call.organisation, kind.types, id_or_number)
    if document is None:
        raise ApiError(not_found(f"No {kind.collection[:-1]} {id_or_number}"))
    if call.request.method == "GET":
        element = document_element(document, unitdp=unitdp(call))
        return ApiResult(envelope(**{kind.collection: [element]}), elements=1)
    if call.request.method == "POST":
        return _save(call, kind, create_only=False, target=document)
    return method_not_allowed()


# --- Reading -------------------------------------------------------------------------------------
def _list(call: ApiCall, kind: Kind) -> ApiResult:
    documents = _ordered(call, _filtered(call, kind, documents_of(call.organisation, kind.types)))
    page, size = _page(call)
    # Without `page`, Xero lists documents without their lines: a trap for clients, kept on purpose.
    shape = {"unitdp": unitdp(call), "with_lines": page is not None}
    expression = call.param("where")
    if expression:
        groups = where.parse(expression)
        elements = [document_element(d, **shape) for d in _narrowed(documents, groups)]
        elements = [element for element in elements if where.matches(element, groups)]
        total = len(elements)
        elements = elements[(page - 1) * size : page * size] if page else elements
    else:
        total = documents.count() if page else None
        chosen = documents[(page - 1) * size : page * size] if page else documents
        elements = [document_element(d, **shape) for d in chosen]
    payload = envelope(**{kind.collection: elements})
    if page:
        payload["pagination"] = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(total / size),
            "itemCount": total,
        }
    return ApiResult(payload, elements=len(elements))


def _narrowed(documents: QuerySet, parsed: where.Filter) -> QuerySet:
    """Only the documents a plain OR of numbers can match, found in SQL: serialising every document of a large
    organisation for each look-up made the sandbox, not the client, the slow side at tens of thousands of
    documents. The filter is still applied to what is left, so the answer is the same."""
    if parsed.equals_any:
        path, values = parsed.equals_any
        if len(path) == 1 and path[0].lower() in NUMBER_FIELDS:
            return documents.annotate(number_folded=Lower("number")).filter(number_folded__in=values)
    return documents


def _filtered(call: ApiCall, kind: Kind, documents: QuerySet) -> QuerySet:
    since = if_modified_since(call)
    if since is not None:
        # Answers show UpdatedDateUTC to the millisecond, and a client asks from the last one it saw:
        # "strictly after" is counted in whole milliseconds, or that document would come back again.
        documents = documents.filter(updated_at__gte=floor_ms(since) + timedelta(milliseconds=1))
    if not kind.has_list_filters:
        return documents
    ids, numbers = _csv(call, "IDs"), _csv(call, "InvoiceNumbers")
    contact_ids, statuses = _csv(call, "ContactIDs"), _csv(call, "Statuses")
    if ids is not None:
        documents = documents.filter(document_id__in=[u for u in map(as_uuid, ids) if u])
    if numbers is not None:
        documents = documents.annotate(lower_number=Lower("number"))
        documents = documents.filter(lower_number__in=[number.lower() for number in numbers])
    if contact_ids is not None:
        documents = documents.filter(contact__contact_id__in=[u for u in map(as_uuid, contact_ids) if u])
    if statuses is not None:
        documents = documents.filter(status__in=[s.upper() for s in statuses])
    return documents


def _ordered(call: ApiCall, documents: QuerySet) -> QuerySet:
    """`order=Field [ASC|DESC]` on a few fields; otherwise oldest first, so that pages stay stable."""
    words = call.param("order").split()
    if not words:
        return documents.order_by("pk")
    field = ORDER_FIELDS.get(words[0].lower())
    descending = len(words) > 1 and words[1].upper() == "DESC"
    if field is None or len(words) > 2:
        raise ApiError(post_data_invalid(f"The sandbox cannot order by '{call.param('order')}'."))
    return documents.order_by(f"-{field}" if descending else field, "pk")


def _csv(call: ApiCall, name: str) -> list[str] | None:
    text = call.param(name)
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _page(call: ApiCall) -> tuple[int | None, int]:
    try:
        page = int(call.param("page") or 0) or None
        size = min(int(call.param("pageSize") or PAGE_SIZE), MAX_PAGE_SIZE)
    except ValueError:
        raise ApiError(post_data_invalid("page and pageSize must be whole numbers.")) from None
    return (max(page, 1) if page else None), max(size, 1)


# --- Writing -------------------------------------------------------------------------------------
def _save(call: ApiCall, kind: Kind, *, create_only: bool, target: Document | None = None) -> ApiResult:
    reader = DocumentReader(call.organisation, kind.types, unitdp=unitdp(call))

    def save_one(element: dict) -> dict:
        existing = target or (None if create_only else _existing(call.organisation, kind, element))
        data = reader.read(element, existing)
        type = data.fields.pop("type")
        if existing is None:
            document = books.document_create(organisation=call.organisation, type=type, data=data)
        else:
            document = books.document_update(document=existing, data=data)
        return document_element(document, unitdp=unitdp(call))

    return save_batch(call, kind.collection, save_one, error_flag="HasErrors")


def _existing(organisation, kind: Kind, element: dict) -> Document | None:
    """What a POST element updates: the document its ID names, or else the sales document with its
    number. A supplier's number names nothing (several bills may share one), so it is never matched."""
    given_id = value(element, kind.id_key)
    if given_id:
        document = find_document(organisation, kind.types, as_uuid(given_id))
        if document is None:
            raise books.RuleBroken(f"{kind.collection[:-1]} {given_id} could not be found.")
        return document
    sales, purchases = kind.types
    if str(value(element, "Type") or "").upper() == purchases:
        return None
    number = str(value(element, kind.number_key) or "").strip()
    return find_document(organisation, (sales,), number) if number and not as_uuid(number) else None


ROUTES = {
    "invoices": invoices,
    "invoices/*": invoice,
    "creditnotes": credit_notes,
    "creditnotes/*": credit_note,
    **api_payments.ROUTES,
}
