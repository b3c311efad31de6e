"""The only module that talks to Xero. Everything above it works with plain values and the errors below.

Accounting and connections calls go through the official `xero-python` SDK, pointed at the configured
hosts (XERO_API_URL); the OAuth token endpoint is called with plain HTTP because the SDK has no code
exchange and hard-codes Xero's token URLs. Two SDK habits are switched off here on purpose:
* its own token refresh (done without a lock): `tokens.py` refreshes under a lock before calling, and
  the SDK is told the token it gets is good for a while;
* urllib3's default retries, which sleep through a 429's Retry-After and re-send PUTs after a read
  error — a possible duplicate. Every retry is decided by the caller, who knows what is safe.
"""

import base64
import binascii
import datetime
import hashlib
import json
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from decimal import Decimal

import urllib3
from django.conf import settings
from django.utils import timezone
from xero_python.accounting import (
    AccountingApi,
    Allocation,
    Allocations,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import (
    ApiSSLException,
    HTTPStatusException,
    NotFoundException,
    RateLimitException,
)
from xero_python.identity import IdentityApi

from .errors import XeroError, XeroNeedsRelink, XeroNotFound, XeroRateLimited, XeroRejected

logger = logging.getLogger(__name__)


class _LimitReadingPool(urllib3.PoolManager):
    """Notes, per thread, the call limits Xero reports on each answer (the SDK does not hand back
    headers of successful calls), and refuses to send a request longer than the budget: Xero's edge
    would answer it with a 404 that looks like "no such record"."""

    def urlopen(self, method, url, redirect=True, **kw):
        length = request_length(url)
        if length > settings.XERO_REQUEST_BUDGET:
            raise XeroError(f"A request to Xero of {length} characters was not sent: over the budget of "
                            f"{settings.XERO_REQUEST_BUDGET} (XERO_REQUEST_BUDGET).", permanent=True)
        _reported.headers = {}
        response = super().urlopen(method, url, redirect=redirect, **kw)
        _reported.headers = response.headers
        return response


_reported = threading.local()
_http = _LimitReadingPool(retries=False)


def request_length(url: str) -> int:
    """The characters of a request's path and query as sent (URL-encoded), which Xero's edge limits."""
    parts = urllib.parse.urlsplit(url)
    return len(parts.path) + (len(parts.query) + 1 if parts.query else 0)


@dataclass(frozen=True)
class ReportedLimits:
    """What Xero's last answer in this thread said was left (None: it did not say)."""

    minute_remaining: int | None
    day_remaining: int | None


def last_reported_limits() -> ReportedLimits:
    headers = getattr(_reported, "headers", None) or {}
    return ReportedLimits(
        minute_remaining=_int_or_none(headers.get("X-MinLimit-Remaining")),
        day_remaining=_int_or_none(headers.get("X-DayLimit-Remaining")),
    )


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime.datetime
    scopes: str
    auth_event_id: str


@dataclass(frozen=True)
class Tenant:
    connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str


@dataclass(frozen=True)
class Organisation:
    name: str
    country_code: str
    base_currency: str


# --- OAuth ------------------------------------------------------------------------------------
def authorize_url(*, state: str) -> str:
    query = urllib.parse.urlencode({
        "response_type": "code",
        "client_id": settings.XERO_CLIENT_ID,
        "redirect_uri": settings.XERO_REDIRECT_URI,
        "scope": settings.XERO_SCOPES,
        "state": state,
    })
    return f"{settings.XERO_LOGIN_URL}/identity/connect/authorize?{query}"


def exchange_code(*, code: str) -> TokenSet:
    return _token_request({"grant_type": "authorization_code", "code": code, "redirect_uri": settings.XERO_REDIRECT_URI})


def refresh_tokens(*, refresh_token: str) -> TokenSet:
    return _token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})


def revoke(*, refresh_token: str) -> None:
    _identity_post("/connect/revocation", {"token": refresh_token})


def _token_request(form: dict) -> TokenSet:
    answer = _identity_post("/connect/token", form)
    payload = json.loads(answer.data)
    return TokenSet(
        access_token=payload["access_token"],
        refresh_token=payload.get("refresh_token", ""),
        expires_at=timezone.now() + datetime.timedelta(seconds=int(payload["expires_in"])),
        scopes=payload.get("scope", ""),
        auth_event_id=_jwt_claims(payload["access_token"]).get("authentication_event_id", ""),
    )


def _identity_post(path: str, form: dict):
    credentials = base64.b64encode(f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}".encode()).decode()
    try:
        answer = _http.request(
            "POST", f"{settings.XERO_IDENTITY_URL}{path}", body=urllib.parse.urlencode(form),
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
            timeout=urllib3.Timeout(*settings.XERO_TIMEOUT),
        )
    except urllib3.exceptions.HTTPError as error:
        raise XeroError(f"Xero's sign-in service could not be reached ({type(error).__name__}).") from None
    if answer.status == 200:
        return answer
    error = _json_or_empty(answer.data).get("error", f"HTTP {answer.status}")
    if error == "invalid_grant":
        raise XeroNeedsRelink("Xero no longer accepts this link (invalid_grant): link to Xero again.")
    if error == "invalid_client":
        raise XeroError("Xero does not recognise the app's client id and secret (invalid_client): "
                        "check XERO_CLIENT_ID and XERO_CLIENT_SECRET.", permanent=True)
    # A 429 or 5xx from the sign-in service passes; anything else will not pass by itself.
    transient = answer.status == 429 or answer.status >= 500
    raise XeroError(f"Xero's sign-in service answered {error}.", permanent=not transient, status=answer.status)


def _jwt_claims(token: str) -> dict:
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}


def _json_or_empty(data: bytes) -> dict:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class XeroContact:
    contact_id: str
    name: str
    account_number: str
    status: str


@dataclass(frozen=True)
class LineOut:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str


@dataclass(frozen=True)
class DocumentOut:
    """An invoice (ACCREC) or credit note (ACCRECCREDIT) as it is sent."""

    credit_note: bool
    number: str
    contact_id: str
    reference: str
    currency: str
    date: datetime.date
    due_date: datetime.date | None
    lines: tuple[LineOut, ...]


@dataclass(frozen=True)
class DocumentIn:
    """Xero's answer for one document: created (with its id) or refused (with Xero's messages)."""

    number: str
    xero_id: str = ""
    status: str = ""
    total: Decimal | None = None
    messages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.xero_id) and not self.messages


@dataclass(frozen=True)
class DocumentFound:
    """A document Xero holds under a number the platform asked about: a sales document, or a supplier's
    (ACCPAY, ACCPAYCREDIT), whose numbers suppliers type in and may equal the platform's."""

    xero_id: str
    type: str
    number: str
    status: str
    contact_id: str
    contact_name: str
    total: Decimal | None
    date: datetime.date | None


@dataclass(frozen=True)
class Found:
    """What a look-up split over several requests found, and the conditions Xero could not read (each
    alone, with Xero's message): one odd code never fails the others."""

    items: list
    refused: dict[str, str]


# A call's slot in the organisation's pace (`pacing.slot(tenant_id)`): every request a function here
# makes, when a look-up takes several, waits for its own.
Paced = Callable[[], AbstractContextManager]


# --- Connections and the Accounting API -----------------------------------------------------
def list_connections(*, access_token: str, auth_event_id: str = "") -> list[Tenant]:
    found = _answer(_identity_api(access_token).get_connections, auth_event_id=auth_event_id or None)
    if not isinstance(found, list):
        raise XeroError("Xero's list of connections could not be read.")
    return _readable(_tenant, found)


def _tenant(connection: dict) -> Tenant:
    return Tenant(str(connection["id"]), str(connection["tenantId"]), connection.get("tenantName") or "",
                  connection.get("tenantType") or "")


def delete_connection(*, access_token: str, connection_id: str) -> None:
    try:
        _answer(_identity_api(access_token).delete_connection, connection_id, expect_body=False)
    except XeroNotFound:
        pass  # already gone in Xero: what was wanted


def read_organisation(*, access_token: str, tenant_id: str) -> Organisation:
    org = _first(_accounting_read(access_token, "get_organisations", tenant_id), "Organisations")
    return Organisation(name=org.get("Name", ""), country_code=org.get("CountryCode", ""),
                        base_currency=org.get("BaseCurrency", ""))


def read_accounts(*, access_token: str, tenant_id: str) -> list[dict]:
    accounts = _accounting_read(access_token, "get_accounts", tenant_id).get("Accounts") or []
    return [
        {"code": a.get("Code") or "", "name": a.get("Name", ""), "type": a.get("Type", ""), "class": a.get("Class", ""),
         "status": a.get("Status", ""), "system_account": a.get("SystemAccount") or "", "tax_type": a.get("TaxType") or ""}
        for a in accounts
    ]


def read_tax_rates(*, access_token: str, tenant_id: str) -> list[dict]:
    rates = _accounting_read(access_token, "get_tax_rates", tenant_id).get("TaxRates") or []
    return [
        {"name": r.get("Name", ""), "tax_type": r.get("TaxType", ""), "status": r.get("Status", ""),
         "can_apply_to_revenue": bool(r.get("CanApplyToRevenue")), "effective_rate": str(r.get("EffectiveRate"))}
        for r in rates
    ]


def find_contacts(*, access_token: str, tenant_id: str, account_numbers: list[str], paced: Paced) -> Found:
    """Contacts whose Account Number may be one of these (archived ones too), in as few requests as the
    length budget allows. Callers keep exact matches: a number holding a double quote is looked for by
    part of it. `refused` is keyed by Account Number."""
    conditions = {_text_condition("AccountNumber", number): number for number in account_numbers}
    conditions.pop("", None)
    found = _contacts_where(access_token, tenant_id, list(conditions), paced=paced, include_archived=True)
    return Found(found.items, {conditions[c]: message for c, message in found.refused.items()})


def find_contacts_like(*, access_token: str, tenant_id: str, account_numbers: list[str], names: list[str],
                       spaced_numbers: bool, paced: Paced) -> Found:
    """Archived ones included: contacts whose Account Number is one of these or whose Name is (Xero's
    `where` text comparisons ignore case) and, with `spaced_numbers`, every contact whose Account Number
    holds a space — so that near misses can be told from exact matches by the caller."""
    conditions = [_text_condition("AccountNumber", number) for number in account_numbers]
    conditions += [_text_condition("Name", name) for name in names]
    if spaced_numbers:
        conditions.append('(AccountNumber!=null&&AccountNumber.Contains(" "))')
    conditions = list(dict.fromkeys(c for c in conditions if c))
    return _contacts_where(access_token, tenant_id, conditions, paced=paced, include_archived=True)


def _contacts_where(access_token, tenant_id, conditions: list[str], *, paced: Paced, include_archived: bool) -> Found:
    fixed = {"includeArchived": "true"} if include_archived else {}

    def read(chunk: list[str]) -> list[XeroContact]:
        answer = _accounting_read(access_token, "get_contacts", tenant_id, where=" OR ".join(chunk),
                                  include_archived=include_archived or None)
        return _readable(_contact, answer.get("Contacts"))

    return _split_read(conditions, read, path="/Contacts", name="where", joiner=" OR ", fixed=fixed, paced=paced)


def create_contacts(*, access_token: str, tenant_id: str, contacts: list[dict]) -> list[tuple[XeroContact | None, tuple[str, ...]]]:
    """Create contacts in one call; per element, the contact created or Xero's messages."""
    body = Contacts(contacts=[
        Contact(name=c["name"], account_number=c["account_number"], email_address=c.get("email") or None)
        for c in contacts
    ])
    created = _accounting_read(access_token, "create_contacts", tenant_id, body, summarize_errors=False).get("Contacts") or []
    return [(None, _messages(c)) if _messages(c) else (_readable_one(_contact, c), ()) for c in created]


def create_documents(*, access_token: str, tenant_id: str, documents: list[DocumentOut]) -> list[DocumentIn]:
    """Create invoices, or credit notes, in one call (never both kinds in one batch). The Idempotency-Key
    is derived from the body, so a quick retry of the same batch repeats it and Xero replays its first
    answer instead of creating anything twice."""
    credit_notes = documents[0].credit_note
    if credit_notes:
        method, body = "create_credit_notes", CreditNotes(credit_notes=[_credit_note(d) for d in documents])
    else:
        method, body = "create_invoices", Invoices(invoices=[_invoice(d) for d in documents])
    answer = _accounting_read(access_token, method, tenant_id, body, summarize_errors=False, unitdp=4,
                              idempotency_key=_body_key("documents", documents))
    elements = answer.get("CreditNotes" if credit_notes else "Invoices") or []
    return _readable(_document_in, elements)


def _body_key(kind: str, content) -> str:
    """An Idempotency-Key that is the same exactly when the request body is (Xero keeps one ~6 minutes,
    answers the same key with a different body with a 400, and the key may be at most 128 characters)."""
    digest = hashlib.sha256(repr(content).encode()).hexdigest()
    return f"cocoonops-{kind}-{digest}"


def find_documents(*, access_token: str, tenant_id: str, numbers: list[str], credit_notes: bool, paced: Paced) -> Found:
    """Every document Xero holds under these numbers, whatever its type or status (to settle attempts
    whose outcome is unknown, and to warn of numbers already taken). The caller decides which is its own."""
    field, path = ("CreditNoteNumber", "/CreditNotes") if credit_notes else ("InvoiceNumber", "/Invoices")
    conditions = [c for c in dict.fromkeys(_text_condition(field, number) for number in numbers) if c]

    def read(chunk: list[str]) -> list[DocumentFound]:
        method = "get_credit_notes" if credit_notes else "get_invoices"
        answer = _accounting_read(access_token, method, tenant_id, where=" OR ".join(chunk))
        return _readable(_document_found, answer.get("CreditNotes" if credit_notes else "Invoices"))

    return _split_read(conditions, read, path=path, name="where", joiner=" OR ", paced=paced)


def find_sales_numbers_from(*, access_token: str, tenant_id: str, credit_notes: bool, prefix: str,
                            paced: Paced) -> list[DocumentFound]:
    """Sales documents Xero holds whose number starts with this prefix (the platform's next numbers may
    be among them), first page only: enough to warn before the first sync."""
    field = "CreditNoteNumber" if credit_notes else "InvoiceNumber"
    kind = "ACCRECCREDIT" if credit_notes else "ACCREC"
    where = f'Type=="{kind}"&&{field}!=null&&{field}.StartsWith("{_unquoted(prefix)}")'
    with paced():
        answer = _accounting_read(access_token, "get_credit_notes" if credit_notes else "get_invoices", tenant_id,
                                  where=where, order=f"{field} DESC", page=1)
    return _readable(_document_found, answer.get("CreditNotes" if credit_notes else "Invoices"))


@dataclass(frozen=True)
class CreditPosition:
    """What is left to allocate between a credit note and an invoice, read from Xero at one moment:
    the invoice's amount due, the credit note's remaining credit, and what this credit note has
    already been allocated to this invoice."""

    amount_due: Decimal
    remaining_credit: Decimal
    applied_from_credit_note: Decimal


def credit_position(*, access_token: str, tenant_id: str, invoice_id: str, credit_note_id: str, paced: Paced) -> CreditPosition:
    with paced():
        invoice = _first(_accounting_read(access_token, "get_invoice", tenant_id, invoice_id), "Invoices")
    with paced():
        note = _first(_accounting_read(access_token, "get_credit_note", tenant_id, credit_note_id), "CreditNotes")
    applied = sum(
        (_money(c.get("AppliedAmount")) or 0 for c in invoice.get("CreditNotes") or []
         if str(c.get("CreditNoteID", "")).lower() == credit_note_id.lower()),
        Decimal("0.00"),
    )
    return CreditPosition(amount_due=_money(invoice.get("AmountDue")) or Decimal("0.00"),
                          remaining_credit=_money(note.get("RemainingCredit")) or Decimal("0.00"),
                          applied_from_credit_note=applied)


def allocate_credit_note(*, access_token: str, tenant_id: str, credit_note_id: str, invoice_id: str,
                         amount: Decimal, date: datetime.date) -> None:
    body = Allocations(allocations=[Allocation(invoice=Invoice(invoice_id=invoice_id), amount=float(amount), date=date)])
    _accounting_read(access_token, "create_credit_note_allocation", tenant_id, credit_note_id, body,
                     idempotency_key=_body_key("allocation", (credit_note_id, invoice_id, amount, date)))


# --- where ------------------------------------------------------------------------------------
def _text_condition(field: str, text: str) -> str:
    """`Field=="text"`. Xero's `where` cannot hold a double quote inside quoted text (escaped or not, it
    answers QueryParseException), so text holding one is looked for by its longest part without one,
    guarded because the field is optional; the caller keeps exact matches. "" when nothing is left."""
    if '"' not in text:
        return f'{field}=="{text}"'
    part = _unquoted(text)
    return f'({field}!=null&&{field}.Contains("{part}"))' if part else ""


def _unquoted(text: str) -> str:
    return max(text.split('"'), key=len)


# --- The length budget ------------------------------------------------------------------------
def _split_read(conditions: list[str], read: Callable[[list[str]], list], *, path: str, name: str, joiner: str,
                paced: Paced, fixed: dict | None = None) -> Found:
    """Read `conditions` in as few requests as the length budget allows, each in its own paced slot. A
    request Xero refuses (a 400: it could not read the query) is read again in halves, so that only the
    condition it cannot read fails."""
    items, refused = [], {}
    pending = _within_budget(conditions, path=path, name=name, joiner=joiner, fixed=fixed or {})
    while pending:
        chunk = pending.pop(0)
        try:
            with paced():
                items += read(chunk)
        except XeroRejected as error:
            if len(chunk) == 1:
                refused[chunk[0]] = _xero_says(error.details) or error.message
            else:
                pending[:0] = [chunk[:len(chunk) // 2], chunk[len(chunk) // 2:]]
    return Found(items, refused)


def _within_budget(terms: list[str], *, path: str, name: str, joiner: str, fixed: dict) -> list[list[str]]:
    """`terms` in groups whose request — `path?fixed&name=term<joiner>term…`, URL-encoded as the SDK sends
    it — stays within XERO_REQUEST_BUDGET characters (Xero's edge answers longer ones with a 404)."""
    room = settings.XERO_REQUEST_BUDGET - len(_accounting_path(path)) - len("?") - len(urllib.parse.urlencode({**fixed, name: ""}))
    separator = len(urllib.parse.quote_plus(joiner))
    groups, current, used = [], [], 0
    for term in terms:
        size = len(urllib.parse.quote_plus(term))
        if size > room:
            raise XeroError(f"A look-up in Xero would be too long to send ({size} characters): {term[:80]}…", permanent=True)
        if current and used + separator + size > room:
            groups.append(current)
            current, used = [], 0
        used += size + (separator if current else 0)
        current.append(term)
    return groups + [current] if current else groups


def _accounting_path(path: str) -> str:
    return urllib.parse.urlsplit(settings.XERO_API_URL).path.rstrip("/") + "/api.xro/2.0" + path


# --- Reading Xero's answers -------------------------------------------------------------------
def _accounting_read(access_token: str, method: str, *args, **options):
    return _answer(getattr(_accounting_api(access_token), method), *args, **options)


def _answer(call, *args, expect_body: bool = True, **options):
    """Make one SDK call and read Xero's answer as plain JSON.

    The SDK builds and sends the request; its models do not read the answer, because they raise on
    enumeration values they do not list (a US contact's `TaxNumberType: "TAXNUMBERTYPE/EIN"`), and a read
    must survive a value it does not know."""
    options = {key: value for key, value in options.items() if value is not None}
    with _translated_errors():
        response = call(*args, _preload_content=False, _request_timeout=settings.XERO_TIMEOUT, **options)
        data = response.data
    if not expect_body:
        return None
    try:
        return json.loads(data or b"null", parse_float=Decimal)
    except ValueError:
        raise XeroError("Xero's answer could not be read (it was not JSON); it will be tried again.") from None


def _first(answer, collection: str) -> dict:
    """The one element of a single-record answer, or a failed read (to try again) if it has none."""
    elements = answer.get(collection) if isinstance(answer, dict) else None
    if not elements or not isinstance(elements[0], dict):
        raise XeroError(f"Xero's answer held no {collection[:-1].lower()}; it will be tried again.")
    return elements[0]


def _readable(read_one, elements) -> list:
    """Each element read into a plain value; one Xero answers in a shape this code cannot read is left
    out (the caller treats it as not answered) rather than failing the rest."""
    return [value for value in (_readable_one(read_one, e) for e in elements or []) if value is not None]


def _readable_one(read_one, element):
    try:
        return read_one(element)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
        logger.warning("An element of Xero's answer could not be read (%s: %s)", type(error).__name__, error)
        return None


def _contact(contact: dict) -> XeroContact:
    return XeroContact(str(contact["ContactID"]), contact.get("Name") or "", contact.get("AccountNumber") or "",
                       contact.get("ContactStatus") or "")


def _messages(element: dict) -> tuple[str, ...]:
    return tuple(error["Message"] for error in (element.get("ValidationErrors") or []) if error.get("Message"))


def _document_in(element: dict) -> DocumentIn:
    credit_note = "CreditNoteNumber" in element or "CreditNoteID" in element
    number = element.get("CreditNoteNumber" if credit_note else "InvoiceNumber") or ""
    xero_id = element.get("CreditNoteID" if credit_note else "InvoiceID") or ""
    messages = _messages(element)
    if not messages and not _is_real_id(xero_id):
        xero_id = ""  # an unsaved element carries the empty id 00000000-…
    return DocumentIn(number=number, xero_id="" if messages else str(xero_id), status=element.get("Status") or "",
                      messages=messages, total=_money(element.get("Total")))


def _document_found(element: dict) -> DocumentFound:
    credit_note = "CreditNoteID" in element
    contact = element.get("Contact") or {}
    return DocumentFound(
        xero_id=str(element["CreditNoteID" if credit_note else "InvoiceID"]), type=element.get("Type") or "",
        number=element.get("CreditNoteNumber" if credit_note else "InvoiceNumber") or "",
        status=element.get("Status") or "", contact_id=str(contact.get("ContactID") or ""),
        contact_name=contact.get("Name") or "", total=_money(element.get("Total")), date=_date(element.get("Date")),
    )


def _is_real_id(xero_id) -> bool:
    return bool(xero_id) and str(xero_id).strip("0-") != ""


def _lines(document: DocumentOut) -> list[LineItem]:
    return [
        LineItem(description=line.description, quantity=float(line.quantity), unit_amount=float(line.unit_amount),
                 account_code=line.account_code, tax_type=line.tax_type)
        for line in document.lines
    ]


def _invoice(document: DocumentOut) -> Invoice:
    return Invoice(
        type="ACCREC", contact=Contact(contact_id=document.contact_id), invoice_number=document.number,
        reference=document.reference, currency_code=_currency(document.currency), date=document.date,
        due_date=document.due_date, line_amount_types=LineAmountTypes.EXCLUSIVE, status="AUTHORISED",
        line_items=_lines(document),
    )


def _credit_note(document: DocumentOut) -> CreditNote:
    return CreditNote(
        type="ACCRECCREDIT", contact=Contact(contact_id=document.contact_id), credit_note_number=document.number,
        reference=document.reference, currency_code=_currency(document.currency), date=document.date,
        line_amount_types=LineAmountTypes.EXCLUSIVE, status="AUTHORISED", line_items=_lines(document),
    )


def _currency(code: str) -> CurrencyCode:
    try:
        return CurrencyCode(code)
    except ValueError:
        raise XeroError(f"Xero does not know the currency {code}.", permanent=True) from None


def _api_client(access_token: str) -> ApiClient:
    token = {
        "access_token": access_token, "refresh_token": "", "scope": settings.XERO_SCOPES.split(),
        "expires_in": 1800, "token_type": "Bearer", "id_token": "",
        # tokens.py hands over only fresh tokens: never let the SDK start a refresh of its own.
        "expires_at": time.time() + 1800,
    }
    configuration = Configuration(
        oauth2_token=OAuth2Token(client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET)
    )
    client = ApiClient(configuration, pool_threads=1, oauth2_token_getter=lambda: token, oauth2_token_saver=lambda t: None)
    client.rest_client.pool_manager = _http
    return client


def _identity_api(access_token: str) -> IdentityApi:
    return IdentityApi(_api_client(access_token), base_url=settings.XERO_API_URL)


def _accounting_api(access_token: str) -> AccountingApi:
    return AccountingApi(_api_client(access_token), base_url=f"{settings.XERO_API_URL}/api.xro/2.0")


# --- Errors, classified by what fixes them --------------------------------------------------
@contextmanager
def _translated_errors():
    """The SDK's exceptions and network failures, as this integration's few error types."""
    try:
        yield
    except RateLimitException as error:
        headers = error.headers or {}
        raise XeroRateLimited(
            retry_after=_int_or_none(headers.get("Retry-After")) or 60,
            problem=(headers.get("X-Rate-Limit-Problem") or "").strip().lower(),
        ) from None
    except NotFoundException:
        # Xero's edge also answers 404 to a request it finds too long: never read it as "no such record".
        raise XeroNotFound() from None
    except HTTPStatusException as error:
        # Not `error.status`: for a 400 the SDK decodes the body as JSON to make it, and an HTML page raises.
        raise _status_error(error.http_resp.status, _error_body(error.body)) from None
    except ApiSSLException as error:
        raise XeroError(f"The secure connection to Xero failed ({error.reason.splitlines()[0]}); "
                        "it will be tried again.", status=0) from None
    except urllib3.exceptions.HTTPError as error:
        raise XeroError(f"Xero could not be reached ({type(error).__name__}); it will be tried again.") from None


def _xero_says(details) -> str:
    """Xero's own words in a 400's answer: its Message (a QueryParseException's, say) and any validation messages."""
    if not isinstance(details, dict):
        return ""
    said = [str(details.get("Message") or "")]
    said += [m for element in details.get("Elements") or [] if isinstance(element, dict) for m in _messages(element)]
    return " ".join(dict.fromkeys(text for text in said if text))


def _error_body(data) -> dict | None:
    """Xero's JSON error answer, or None when the body is empty or not JSON (an HTML page from the edge)."""
    try:
        value = json.loads(data, parse_float=Decimal) if data else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _status_error(status: int, body: dict | None) -> XeroError:
    if status == 400 and body is not None:
        return XeroRejected("Xero refused the request.", details=body)
    if status == 400:
        return XeroError("Xero's gateway refused the request (HTTP 400 without an API answer); "
                         "it will be tried again.", status=400)
    if status == 401 and "AuthorizationUnsuccessful" in str((body or {}).get("Detail", "")):
        return XeroNeedsRelink("Xero refused the call (AuthorizationUnsuccessful): the link lacks a permission "
                               "(scope) this call needs, or it was withdrawn in Xero. Link to Xero again and "
                               "approve every permission asked for.", status=401)
    if status == 401:
        return XeroError("Xero did not accept the access token; it will be refreshed and tried again.", status=401)
    if status == 403:
        return XeroNeedsRelink("Xero says the app is no longer connected to this organisation: link to Xero again.",
                               status=403)
    return XeroError(f"Xero answered HTTP {status}; it will be tried again.", status=status)


# --- Statuses back from Xero (webhooks and reconciliation) ----------------------------------
MODIFIED_PAGE_SIZE = 100  # Xero's page of invoices or credit notes


@dataclass(frozen=True)
class DocumentState:
    """What Xero says of one invoice or credit note now: its status, what is paid and due, and when it changed."""

    xero_id: str
    status: str
    amount_paid: Decimal | None
    amount_due: Decimal | None
    updated_at: datetime.datetime | None
    type: str = ""


def read_invoice_states(*, access_token: str, tenant_id: str, invoice_ids: list[str], paced: Paced) -> list[DocumentState]:
    """The current state of these invoices (`GET /Invoices?IDs=…`, as many ids a request as the budget allows)."""
    def read(chunk: list[str]) -> list[DocumentState]:
        answer = _accounting_read(access_token, "get_invoices", tenant_id, i_ds=chunk)
        return _readable(_invoice_state, answer.get("Invoices"))

    return _split_read(invoice_ids, read, path="/Invoices", name="IDs", joiner=",", paced=paced).items


def read_credit_note_states(*, access_token: str, tenant_id: str, credit_note_ids: list[str], paced: Paced) -> list[DocumentState]:
    """The current state of these credit notes: Xero's credit notes have no `IDs` filter, so the ids go
    in a `where`, as many a request as the budget allows."""
    def read(chunk: list[str]) -> list[DocumentState]:
        answer = _accounting_read(access_token, "get_credit_notes", tenant_id, where=" OR ".join(chunk))
        return _readable(_credit_note_state, answer.get("CreditNotes"))

    conditions = [f'CreditNoteID==Guid("{credit_note_id}")' for credit_note_id in credit_note_ids]
    return _split_read(conditions, read, path="/CreditNotes", name="where", joiner=" OR ", paced=paced).items


def read_modified_states(*, access_token: str, tenant_id: str, credit_notes: bool,
                         modified_after: datetime.datetime, page: int = 1) -> list[DocumentState]:
    """One page of the invoices (or credit notes) Xero changed after this moment, oldest change first."""
    options = {"if_modified_since": _naive_utc(modified_after), "order": "UpdatedDateUTC ASC", "page": page,
               "page_size": MODIFIED_PAGE_SIZE}
    if credit_notes:
        return _readable(_credit_note_state, _accounting_read(access_token, "get_credit_notes", tenant_id, **options).get("CreditNotes"))
    return _readable(_invoice_state, _accounting_read(access_token, "get_invoices", tenant_id, **options).get("Invoices"))


def _invoice_state(invoice: dict) -> DocumentState:
    return DocumentState(
        xero_id=str(invoice["InvoiceID"]), status=invoice.get("Status") or "", amount_paid=_money(invoice.get("AmountPaid")),
        amount_due=_money(invoice.get("AmountDue")), updated_at=_moment(invoice.get("UpdatedDateUTC")),
        type=invoice.get("Type") or "",
    )


def _credit_note_state(note: dict) -> DocumentState:
    # A credit note's "due" is its remaining credit; what is used (allocated or refunded) counts as paid.
    remaining, total = _money(note.get("RemainingCredit")), _money(note.get("Total"))
    used = total - remaining if total is not None and remaining is not None else None
    return DocumentState(
        xero_id=str(note["CreditNoteID"]), status=note.get("Status") or "", amount_paid=used, amount_due=remaining,
        updated_at=_moment(note.get("UpdatedDateUTC")), type=note.get("Type") or "",
    )


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _moment(text) -> datetime.datetime | None:
    """Xero's `/Date(1700000000000+0000)/` (milliseconds since the epoch, UTC) or an ISO date-time
    (taken as UTC when it has no offset)."""
    if not text:
        return None
    match = MS_DATE.match(str(text))
    if match:
        return EPOCH + datetime.timedelta(milliseconds=int(match["ms"]))  # exact to the millisecond, as Xero keeps it
    moment = datetime.datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _date(text) -> datetime.date | None:
    moment = _moment(text)
    return None if moment is None else moment.date()


def _naive_utc(moment: datetime.datetime) -> datetime.datetime:
    """If-Modified-Since as Xero reads it: UTC, without an offset."""
    return moment.astimezone(datetime.UTC).replace(tzinfo=None) if moment.tzinfo else moment
