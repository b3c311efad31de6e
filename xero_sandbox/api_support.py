"""What the invoice, credit note, payment and allocation handlers share: reading a batch, writing it
element by element as Xero does (with `summarizeErrors`), finding a document, and the If-Modified-Since,
`unitdp` and 404/405 conventions."""

import datetime
import email.utils

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from . import books
from .document_input import as_uuid, value
from .gateway import ApiCall, ApiError, ApiResult
from .models import Attachment, Document
from .xero_json import MS_DATE, envelope, json_response, post_data_invalid, validation_exception


def unitdp(call: ApiCall) -> int:
    return 4 if call.param("unitdp") == "4" else 2


def if_modified_since(call: ApiCall) -> datetime.datetime | None:
    text = call.request.headers.get("If-Modified-Since", "").strip()
    return parse_timestamp(text) if text else None


def parse_timestamp(text: str) -> datetime.datetime:
    """What clients send as If-Modified-Since: the SDK's `datetime.isoformat()` (naive means UTC),
    an HTTP date, or Xero's own `/Date(ms)/`."""
    match = MS_DATE.match(text)
    if match:
        return datetime.datetime.fromtimestamp(int(match["ms"]) / 1000, tz=datetime.UTC)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ApiError(post_data_invalid(f"If-Modified-Since '{text}' is not a date.")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def find_document(organisation, types: tuple[str, ...], id_or_number) -> Document | None:
    """The document of one of `types` with this ID, or else with this number: of the first type that
    has it (sales before purchases — a supplier's number may also be a sales invoice's, or repeat)."""
    documents = documents_of(organisation, types)
    document_id = as_uuid(id_or_number)
    if document_id is not None:
        return documents.filter(document_id=document_id).first()
    if not id_or_number:
        return None
    numbered = documents.filter(number__iexact=str(id_or_number))
    for type in types:
        found = numbered.filter(type=type).first()
        if found is not None:
            return found
    return None


def save_batch(call: ApiCall, collection: str, save_one, *, error_flag: str | None) -> ApiResult:
    """Each element in its own savepoint: a refused one leaves nothing behind. With summarizeErrors=false
    the answer is 200 with every element marked; otherwise one refusal answers 400 and nothing is kept."""
    summarize = call.flag("summarizeErrors", True)
    answered, refused = [], []
    for element in request_elements(call.body, collection):
        try:
            with transaction.atomic():
                answer = save_one(element)
        except books.RuleBroken as broken:
            answer = refusal(element, broken.messages, error_flag)
            refused.append(answer)
        else:
            answer = answer if summarize else answer | {"StatusAttributeString": "OK"}
        answered.append(answer)
    if refused and summarize:
        raise ApiError(validation_exception(refused))  # the handler's transaction rolls back the rest
    return ApiResult(envelope(**{collection: answered}), elements=len(answered))


def request_elements(body, collection: str) -> list[dict]:
    """`{"Invoices": [...]}`, or a single element on its own, as Xero also accepts."""
    if not isinstance(body, dict):
        raise ApiError(post_data_invalid(f"The request body must be a JSON object with {collection}."))
    elements = value(body, collection, body)
    elements = [elements] if isinstance(elements, dict) else elements
    if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
        raise ApiError(post_data_invalid(f"{collection} must be a list of objects."))
    return elements


def refusal(element: dict, messages: list[str], error_flag: str | None) -> dict:
    refused = dict(element) | {
        "StatusAttributeString": "ERROR",
        "ValidationErrors": [{"Message": message} for message in messages],
    }
    if error_flag:
        refused[error_flag] = True
    return refused


def not_found(detail: str):
    return json_response({"Title": "Not Found", "Status": 404, "Detail": detail}, status=404)


def method_not_allowed() -> ApiResult:
    return ApiResult({"Message": "The requested resource does not support this http method."}, status=405)


def documents_of(organisation, types: tuple[str, ...]) -> QuerySet[Document]:
    return (
        Document.objects.filter(organisation=organisation, type__in=types)
        .select_related("contact", "branding_theme")
        .prefetch_related("lines", "payments", "allocations_made__invoice", "allocations_received__credit_note")
        .annotate(has_attachments=Exists(Attachment.objects.filter(document=OuterRef("pk"))))
    )


def floor_ms(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
