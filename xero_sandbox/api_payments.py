"""Payments — `PUT /Payments` (a batch, or the single element `create_payment` sends), `GET /Payments`,
`POST /Payments/{PaymentID}` with Status DELETED — and credit note allocations —
`PUT /CreditNotes/{id}/Allocations`, `DELETE /CreditNotes/{id}/Allocations/{AllocationID}`."""

from decimal import Decimal, InvalidOperation

from . import books, where
from .api_support import find_document, method_not_allowed, not_found, save_batch
from .document_input import as_uuid, read_currency_rate, value
from .gateway import ApiCall, ApiError, ApiResult, accounting_endpoint
from .models import Allocation, Document, Payment
from .serializers import allocation_element, payment_element
from .xero_json import envelope, parse_xero_date

PAGE_SIZE = 100
# (element key, document types, id key, number key) of what a payment or an allocation may point at:
# a supplier's bill is paid as a sales invoice is, and a supplier's credit note refunded likewise.
PAYABLE = (
    ("Invoice", Document.INVOICE_TYPES, "InvoiceID", "InvoiceNumber"),
    ("CreditNote", Document.CREDIT_NOTE_TYPES, "CreditNoteID", "CreditNoteNumber"),
)


@accounting_endpoint
def payments(call: ApiCall) -> ApiResult:
    if call.request.method == "GET":
        return _payment_list(call)
    if call.request.method in ("PUT", "POST"):
        return save_batch(call, "Payments", lambda element: _pay(call, element), error_flag="HasValidationErrors")
    return method_not_allowed()


@accounting_endpoint
def payment(call: ApiCall, payment_id: str) -> ApiResult:
    wanted = as_uuid(payment_id)
    found = _payments_of(call.organisation).filter(payment_id=wanted).first() if wanted else None
    if found is None:
        raise ApiError(not_found(f"No Payment {payment_id}"))
    if call.request.method == "GET":
        return ApiResult(envelope(Payments=[payment_element(found)]), elements=1)
    if call.request.method == "POST":
        return save_batch(call, "Payments", lambda e: _delete(found, e), error_flag="HasValidationErrors")
    return method_not_allowed()


@accounting_endpoint
def credit_note_allocations(call: ApiCall, credit_note_ref: str) -> ApiResult:
    if call.request.method != "PUT":
        return method_not_allowed()
    credit_note = _credit_note(call, credit_note_ref)
    return save_batch(call, "Allocations", lambda element: _allocate(call, credit_note, element), error_flag=None)


@accounting_endpoint
def credit_note_allocation(call: ApiCall, credit_note_ref: str, allocation_id: str) -> ApiResult:
    if call.request.method != "DELETE":
        return method_not_allowed()
    credit_note = _credit_note(call, credit_note_ref)
    allocation = (
        (
            Allocation.objects.select_related("invoice", "credit_note")
            .filter(credit_note=credit_note, allocation_id=as_uuid(allocation_id))
            .first()
        )
        if as_uuid(allocation_id)
        else None
    )
    if allocation is None:
        raise ApiError(not_found(f"No Allocation {allocation_id} on this credit note"))
    answer = allocation_element(allocation, deleted=True)
    books.allocation_delete(allocation=allocation)
    return ApiResult(answer, elements=1)  # the SDK reads a bare Allocation here, not a collection


# --- Payments ------------------------------------------------------------------------------------
def _payments_of(organisation):
    return Payment.objects.filter(document__organisation=organisation).select_related("document").order_by("pk")


def _payment_list(call: ApiCall) -> ApiResult:
    elements = [payment_element(p) for p in _payments_of(call.organisation)]
    if call.param("where"):
        groups = where.parse(call.param("where"))
        elements = [e for e in elements if where.matches(e, groups)]
    page = int(call.param("page") or 0) if call.param("page").isdigit() else 0
    if page:
        elements = elements[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return ApiResult(envelope(Payments=elements), elements=len(elements))


def _pay(call: ApiCall, element: dict) -> dict:
    problems = []
    document = _target_document(call.organisation, element, problems)
    account = _payment_account(call.organisation, value(element, "Account"), problems)
    amount = _amount(element, problems)
    date = _date(element, problems)
    rate = read_currency_rate(value(element, "CurrencyRate"), problems)
    if problems:
        raise books.RuleBroken(*problems)
    reference = str(value(element, "Reference") or "")
    paid = books.document_pay(document=document, amount=amount, date=date, reference=reference, currency_rate=rate)
    return payment_element(paid, account={"AccountID": account.account_id, "Code": account.code})


def _delete(found: Payment, element: dict) -> dict:
    if str(value(element, "Status") or "").upper() != "DELETED":
        raise books.RuleBroken("A payment can only be changed to Status DELETED")
    books.payment_delete(payment=found)
    return payment_element(found)


def _target_document(organisation, element: dict, problems: list) -> Document | None:
    """The invoice or credit note an element names, by ID or number (also as a top-level number)."""
    for key, types, id_key, number_key in PAYABLE:
        reference = value(element, key)
        given = (value(reference, id_key) or value(reference, number_key)) if isinstance(reference, dict) else None
        given = given or value(element, number_key)
        if given:
            document = find_document(organisation, types, given)
            if document is None:
                noun = "Credit Note" if types == Document.CREDIT_NOTE_TYPES else "Invoice"
                problems.append(f"{noun} {given} could not be found")
            return document
    problems.append("An Invoice or a Credit Note must be specified")
    return None


def _payment_account(organisation, account: dict | None, problems: list):
    """The account the money went into. Xero wants a bank account (or one with payments enabled); the
    sandbox's charts have no bank account, so any active account but a system one is taken."""
    if not isinstance(account, dict) or not (value(account, "AccountID") or value(account, "Code")):
        problems.append("An Account must be specified for a payment")
        return None
    account_id, code = as_uuid(value(account, "AccountID") or ""), str(value(account, "Code") or "")
    found = organisation.accounts.filter(account_id=account_id).first() if account_id else None
    found = found or (organisation.accounts.filter(code__iexact=code).first() if code else None)
    if found is None or found.system_account:
        problems.append(f"Account code '{code or account_id}' is not a valid code for this document.")
        return None
    if found.status != "ACTIVE":
        problems.append(f"Account code '{found.code}' has been archived, or has been deleted.")
        return None
    return found


def _amount(element: dict, problems: list) -> Decimal | None:
    given = value(element, "Amount")
    try:
        return Decimal(str(given))
    except InvalidOperation:
        problems.append("An Amount must be specified" if given is None else f"Amount '{given}' is not a number")
        return None


def _date(element: dict, problems: list):
    given = value(element, "Date")
    try:
        return parse_xero_date(given)
    except ValueError:
        problems.append(f"The Date '{given}' is not a valid date.")
        return None


# --- Allocations ---------------------------------------------------------------------------------
def _credit_note(call: ApiCall, reference: str) -> Document:
    credit_note = find_document(call.organisation, Document.CREDIT_NOTE_TYPES, reference)
    if credit_note is None:
        raise ApiError(not_found(f"No CreditNote {reference}"))
    return credit_note


def _allocate(call: ApiCall, credit_note: Document, element: dict) -> dict:
    problems = []
    invoice = value(element, "Invoice")
    given = (value(invoice, "InvoiceID") or value(invoice, "InvoiceNumber")) if isinstance(invoice, dict) else None
    # Either side's invoice: allocating across sides is refused by `books`, in words, not as "not found".
    found = find_document(call.organisation, Document.INVOICE_TYPES, given) if given else None
    if found is None:
        problems.append(f"Invoice {given} could not be found" if given else "An Invoice must be specified")
    amount = _amount(element, problems)
    date = _date(element, problems)
    if problems:
        raise books.RuleBroken(*problems)
    allocation = books.credit_note_allocate(credit_note=credit_note, invoice=found, amount=amount, date=date)
    return allocation_element(allocation)


ROUTES = {
    "payments": payments,
    "payments/*": payment,
    "creditnotes/*/allocations": credit_note_allocations,
    "creditnotes/*/allocations/*": credit_note_allocation,
}
