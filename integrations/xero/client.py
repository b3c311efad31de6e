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
import json
import threading
import time
import urllib.parse
from decimal import Decimal
from contextlib import contextmanager
from dataclasses import dataclass

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
    AccountingBadRequestException,
    HTTPStatusException,
    NotFoundException,
    RateLimitException,
)
from xero_python.identity import IdentityApi

from .errors import XeroError, XeroNeedsRelink, XeroRateLimited, XeroRejected

class _LimitReadingPool(urllib3.PoolManager):
    """Notes, per thread, the call limits Xero reports on each answer (the SDK does not hand back
    headers of successful calls)."""

    def urlopen(self, method, url, redirect=True, **kw):
        _reported.headers = {}
        response = super().urlopen(method, url, redirect=redirect, **kw)
        _reported.headers = response.headers
        return response


_reported = threading.local()
_http = _LimitReadingPool(retries=False)


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
    raise XeroError(f"Xero's sign-in service answered {error}.", permanent=answer.status < 500)


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


# --- Connections and the Accounting API -----------------------------------------------------
def list_connections(*, access_token: str, auth_event_id: str = "") -> list[Tenant]:
    with _translated_errors():
        found = _identity_api(access_token).get_connections(
            auth_event_id=auth_event_id or None, _request_timeout=settings.XERO_TIMEOUT
        )
    return [Tenant(str(c.id), str(c.tenant_id), c.tenant_name, c.tenant_type) for c in found]


def delete_connection(*, access_token: str, connection_id: str) -> None:
    with _translated_errors():
        _identity_api(access_token).delete_connection(connection_id, _request_timeout=settings.XERO_TIMEOUT)


def read_organisation(*, access_token: str, tenant_id: str) -> Organisation:
    with _translated_errors():
        org = _accounting_api(access_token).get_organisations(tenant_id, _request_timeout=settings.XERO_TIMEOUT).organisations[0]
    return Organisation(name=org.name, country_code=_value(org.country_code), base_currency=_value(org.base_currency))


def read_accounts(*, access_token: str, tenant_id: str) -> list[dict]:
    with _translated_errors():
        accounts = _accounting_api(access_token).get_accounts(tenant_id, _request_timeout=settings.XERO_TIMEOUT).accounts
    return [
        {"code": a.code or "", "name": a.name, "type": _value(a.type), "class": _value(a._class),
         "status": _value(a.status), "system_account": _value(a.system_account), "tax_type": a.tax_type or ""}
        for a in accounts
    ]


def read_tax_rates(*, access_token: str, tenant_id: str) -> list[dict]:
    with _translated_errors():
        rates = _accounting_api(access_token).get_tax_rates(tenant_id, _request_timeout=settings.XERO_TIMEOUT).tax_rates
    return [
        {"name": r.name, "tax_type": r.tax_type, "status": _value(r.status),
         "can_apply_to_revenue": bool(r.can_apply_to_revenue), "effective_rate": str(r.effective_rate)}
        for r in rates
    ]


def find_contacts(*, access_token: str, tenant_id: str, account_numbers: list[str]) -> list[XeroContact]:
    """Contacts whose Account Number is one of these (archived ones too), in one call."""
    where = " OR ".join(f'AccountNumber=="{_quoted(number)}"' for number in account_numbers)
    with _translated_errors():
        found = _accounting_api(access_token).get_contacts(
            tenant_id, where=where, include_archived=True, _request_timeout=settings.XERO_TIMEOUT
        ).contacts
    return [_contact(c) for c in found or []]


def find_contacts_by_names(*, access_token: str, tenant_id: str, names: list[str]) -> list[XeroContact]:
    where = " OR ".join(f'Name=="{_quoted(name)}"' for name in names)
    with _translated_errors():
        found = _accounting_api(access_token).get_contacts(
            tenant_id, where=where, _request_timeout=settings.XERO_TIMEOUT
        ).contacts
    return [_contact(c) for c in found or []]


def find_contacts_like(*, access_token: str, tenant_id: str, account_numbers: list[str], names: list[str],
                       spaced_numbers: bool = False) -> list[XeroContact]:
    """In one call, archived ones included: contacts whose Account Number is one of these or whose Name is
    (Xero's `where` text comparisons ignore case) and, with `spaced_numbers`, every contact whose Account
    Number holds a space — so that near misses can be told from exact matches by the caller."""
    conditions = [f'AccountNumber=="{_quoted(number)}"' for number in account_numbers]
    conditions += [f'Name=="{_quoted(name)}"' for name in names]
    if spaced_numbers:
        conditions.append('AccountNumber.Contains(" ")')
    if not conditions:
        return []
    with _translated_errors():
        found = _accounting_api(access_token).get_contacts(
            tenant_id, where=" OR ".join(conditions), include_archived=True, _request_timeout=settings.XERO_TIMEOUT
        ).contacts
    return [_contact(c) for c in found or []]


def create_contacts(*, access_token: str, tenant_id: str, contacts: list[dict]) -> list[tuple[XeroContact | None, tuple[str, ...]]]:
    """Create contacts in one call; per element, the contact created or Xero's messages."""
    body = Contacts(contacts=[
        Contact(name=c["name"], account_number=c["account_number"], email_address=c.get("email") or None)
        for c in contacts
    ])
    with _translated_errors():
        created = _accounting_api(access_token).create_contacts(
            tenant_id, body, summarize_errors=False, _request_timeout=settings.XERO_TIMEOUT
        ).contacts
    return [
        (None, _messages(c)) if _messages(c) else (_contact(c), ())
        for c in created
    ]


def create_documents(*, access_token: str, tenant_id: str, documents: list[DocumentOut], idempotency_key: str) -> list[DocumentIn]:
    """Create invoices, or credit notes, in one call (never both kinds in one batch)."""
    api = _accounting_api(access_token)
    options = {"summarize_errors": False, "unitdp": 4, "idempotency_key": idempotency_key,
               "_request_timeout": settings.XERO_TIMEOUT}
    with _translated_errors():
        if documents[0].credit_note:
            answer = api.create_credit_notes(tenant_id, CreditNotes(credit_notes=[_credit_note(d) for d in documents]), **options)
            return [_document_in(c, c.credit_note_number, c.credit_note_id) for c in answer.credit_notes]
        answer = api.create_invoices(tenant_id, Invoices(invoices=[_invoice(d) for d in documents]), **options)
        return [_document_in(i, i.invoice_number, i.invoice_id) for i in answer.invoices]


def find_documents(*, access_token: str, tenant_id: str, numbers: list[str], credit_notes: bool) -> list[DocumentIn]:
    """Documents already in Xero with these numbers (to settle attempts whose outcome is unknown)."""
    api = _accounting_api(access_token)
    with _translated_errors():
        if credit_notes:
            where = " OR ".join(f'CreditNoteNumber=="{_quoted(n)}"' for n in numbers)
            found = api.get_credit_notes(tenant_id, where=where, _request_timeout=settings.XERO_TIMEOUT).credit_notes
            return [_document_in(c, c.credit_note_number, c.credit_note_id) for c in found or [] if _value(c.status) != "DELETED"]
        found = api.get_invoices(tenant_id, invoice_numbers=numbers, _request_timeout=settings.XERO_TIMEOUT).invoices
        return [_document_in(i, i.invoice_number, i.invoice_id) for i in found or [] if _value(i.status) != "DELETED"]


@dataclass(frozen=True)
class CreditPosition:
    """An invoice's amount due, and what one credit note has already been allocated to it."""

    amount_due: Decimal
    applied_from_credit_note: Decimal


def invoice_credit_position(*, access_token: str, tenant_id: str, invoice_id: str, credit_note_id: str) -> CreditPosition:
    with _translated_errors():
        invoice = _accounting_api(access_token).get_invoice(tenant_id, invoice_id, _request_timeout=settings.XERO_TIMEOUT).invoices[0]
    applied = sum(
        (_money(c.applied_amount) or 0 for c in invoice.credit_notes or [] if str(c.credit_note_id) == credit_note_id),
        Decimal("0.00"),
    )
    return CreditPosition(amount_due=_money(invoice.amount_due) or Decimal("0.00"), applied_from_credit_note=applied)


def allocate_credit_note(*, access_token: str, tenant_id: str, credit_note_id: str, invoice_id: str,
                         amount: Decimal, date: datetime.date, idempotency_key: str) -> None:
    body = Allocations(allocations=[Allocation(invoice=Invoice(invoice_id=invoice_id), amount=float(amount), date=date)])
    with _translated_errors():
        _accounting_api(access_token).create_credit_note_allocation(
            tenant_id, credit_note_id, body, idempotency_key=idempotency_key, _request_timeout=settings.XERO_TIMEOUT
        )


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _contact(contact) -> XeroContact:
    return XeroContact(str(contact.contact_id), contact.name or "", contact.account_number or "", _value(contact.contact_status))


def _messages(element) -> tuple[str, ...]:
    return tuple(error.message for error in (element.validation_errors or []) if error.message)


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


def _document_in(element, number, xero_id) -> DocumentIn:
    messages = _messages(element)
    return DocumentIn(
        number=number or "", xero_id="" if messages or not xero_id else str(xero_id),
        status=_value(element.status), messages=messages,
        total=None if element.total is None else Decimal(str(element.total)).quantize(Decimal("0.01")),
    )


def _value(field) -> str:
    """An SDK enum's value, or the plain string some models use instead."""
    return "" if field is None else str(getattr(field, "value", field))


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


@contextmanager
def _translated_errors():
    """The SDK's exceptions and network failures, as this integration's few error types."""
    try:
        yield
    except RateLimitException as error:
        headers = error.headers or {}
        raise XeroRateLimited(
            retry_after=int(headers.get("Retry-After", "60")), problem=headers.get("X-Rate-Limit-Problem", "")
        ) from None
    except AccountingBadRequestException as error:
        raise XeroRejected("Xero refused the request.", details=error.error_data) from None
    except NotFoundException:
        raise XeroError("Xero has no such record.", permanent=True) from None
    except HTTPStatusException as error:
        raise _status_error(error.status) from None
    except urllib3.exceptions.HTTPError as error:
        raise XeroError(f"Xero could not be reached ({type(error).__name__}); it will be tried again.") from None


def _status_error(status: int) -> XeroError:
    if status == 401:
        return XeroError("Xero did not accept the access token.")
    if status == 403:
        return XeroNeedsRelink("Xero says the app is no longer connected to this organisation: link to Xero again.")
    return XeroError(f"Xero answered HTTP {status}; it will be tried again.", permanent=False)


# --- Statuses back from Xero (webhooks and reconciliation) ----------------------------------
STATES_PER_CALL = 50  # ids per read-back call, as Xero advises for batches
MODIFIED_PAGE_SIZE = 100  # Xero's page of invoices or credit notes


@dataclass(frozen=True)
class DocumentState:
    """What Xero says of one invoice or credit note now: its status, what is paid and due, and when it changed."""

    xero_id: str
    status: str
    amount_paid: Decimal | None
    amount_due: Decimal | None
    updated_at: datetime.datetime | None


def read_invoice_states(*, access_token: str, tenant_id: str, invoice_ids: list[str]) -> list[DocumentState]:
    """The current state of up to 50 invoices, in one call (`GET /Invoices?IDs=…`)."""
    with _translated_errors():
        found = _accounting_api(access_token).get_invoices(
            tenant_id, i_ds=invoice_ids[:STATES_PER_CALL], _request_timeout=settings.XERO_TIMEOUT
        ).invoices
    return [_invoice_state(i) for i in found or []]


def read_credit_note_states(*, access_token: str, tenant_id: str, credit_note_ids: list[str]) -> list[DocumentState]:
    """The current state of up to 50 credit notes, in one call: Xero's credit notes have no `IDs`
    filter, so the ids go in a `where`."""
    where = " OR ".join(f'CreditNoteID==Guid("{_quoted(i)}")' for i in credit_note_ids[:STATES_PER_CALL])
    with _translated_errors():
        found = _accounting_api(access_token).get_credit_notes(
            tenant_id, where=where, _request_timeout=settings.XERO_TIMEOUT
        ).credit_notes
    return [_credit_note_state(c) for c in found or []]


def read_modified_states(*, access_token: str, tenant_id: str, credit_notes: bool,
                         modified_after: datetime.datetime, page: int = 1) -> list[DocumentState]:
    """One page of the invoices (or credit notes) Xero changed after this moment, oldest change first."""
    options = {"if_modified_since": _naive_utc(modified_after), "order": "UpdatedDateUTC ASC", "page": page,
               "page_size": MODIFIED_PAGE_SIZE, "_request_timeout": settings.XERO_TIMEOUT}
    api = _accounting_api(access_token)
    with _translated_errors():
        if credit_notes:
            return [_credit_note_state(c) for c in api.get_credit_notes(tenant_id, **options).credit_notes or []]
        return [_invoice_state(i) for i in api.get_invoices(tenant_id, **options).invoices or []]


def _invoice_state(invoice) -> DocumentState:
    return DocumentState(
        xero_id=str(invoice.invoice_id), status=_value(invoice.status), amount_paid=_money(invoice.amount_paid),
        amount_due=_money(invoice.amount_due), updated_at=_aware_utc(invoice.updated_date_utc),
    )


def _credit_note_state(note) -> DocumentState:
    # A credit note's "due" is its remaining credit; what is used (allocated or refunded) counts as paid.
    remaining, total = _money(note.remaining_credit), _money(note.total)
    used = total - remaining if total is not None and remaining is not None else None
    return DocumentState(
        xero_id=str(note.credit_note_id), status=_value(note.status), amount_paid=used, amount_due=remaining,
        updated_at=_aware_utc(note.updated_date_utc),
    )


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _aware_utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=datetime.UTC)


def _naive_utc(moment: datetime.datetime) -> datetime.datetime:
    """If-Modified-Since as Xero reads it: UTC, without an offset."""
    return moment.astimezone(datetime.UTC).replace(tzinfo=None) if moment.tzinfo else moment
