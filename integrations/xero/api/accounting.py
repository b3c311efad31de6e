"""Xero's Accounting API for one organisation, as plain values: every request made here waits for its
slot in the organisation's pace and takes a fresh token when its slot has come (`Session`), so no call
can skip pacing or carry a token that expired while it waited. Callers use `XeroApi` (xero_api.py).
"""

import datetime
import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal

from xero_python.accounting import (
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
    LineItemTracking,
)

from integrations.xero.api import answers, transport, values
from integrations.xero.api.errors import XeroError
from integrations.xero.api.lookups import split_read, text_condition, unquoted
from integrations.xero.api.values import (
    CreditPosition,
    DocumentFound,
    DocumentIn,
    DocumentOut,
    DocumentState,
    Found,
    Organisation,
    XeroContact,
)
from integrations.xero.monitoring import tallies


@dataclass(frozen=True)
class Session:
    """One organisation's calls: its tenant, a fresh access token read when a call's slot has come, and
    the slot every request waits for (`pacing.call`: a context manager whose value hears the answer's
    headers, where Xero reports what is left of its limits)."""

    tenant_id: str
    token: Callable[[], str]
    slot: Callable[[], AbstractContextManager]


def read_organisation(session: Session) -> Organisation:
    org = transport.first(_request(session, "get_organisations"), "Organisations")
    return Organisation(
        name=org.get("Name", ""), country_code=org.get("CountryCode", ""), base_currency=org.get("BaseCurrency", "")
    )


def read_accounts(session: Session) -> list[dict]:
    accounts = _request(session, "get_accounts").get("Accounts") or []
    return [
        {
            "code": a.get("Code") or "",
            "name": a.get("Name", ""),
            "type": a.get("Type", ""),
            "class": a.get("Class", ""),
            "status": a.get("Status", ""),
            "system_account": a.get("SystemAccount") or "",
            "tax_type": a.get("TaxType") or "",
        }
        for a in accounts
    ]


def read_tax_rates(session: Session) -> list[dict]:
    rates = _request(session, "get_tax_rates").get("TaxRates") or []
    return [
        {
            "name": r.get("Name", ""),
            "tax_type": r.get("TaxType", ""),
            "status": r.get("Status", ""),
            "can_apply_to_revenue": bool(r.get("CanApplyToRevenue")),
            "effective_rate": str(r.get("EffectiveRate")),
        }
        for r in rates
    ]


def read_currencies(session: Session) -> list[str]:
    """The codes of the currencies enabled in the organisation (its base currency among them)."""
    currencies = _request(session, "get_currencies").get("Currencies") or []
    return [str(c.get("Code")) for c in currencies if isinstance(c, dict) and c.get("Code")]


def read_tracking_categories(session: Session) -> list[dict]:
    """The organisation's tracking categories and their options, archived ones too (to say which are)."""
    categories = _request(session, "get_tracking_categories", include_archived=True).get("TrackingCategories") or []
    return [
        {
            "name": category.get("Name", ""),
            "status": category.get("Status", ""),
            "options": [
                {"name": option.get("Name", ""), "status": option.get("Status", "")}
                for option in category.get("Options") or []
                if isinstance(option, dict)
            ],
        }
        for category in categories
        if isinstance(category, dict)
    ]


def read_branding_themes(session: Session) -> list[dict]:
    """The organisation's branding themes, default first (Xero gives the lowest sort order to a document sent
    without a BrandingThemeID)."""
    themes = _request(session, "get_branding_themes").get("BrandingThemes") or []
    found = [
        {"id": str(theme.get("BrandingThemeID")), "name": theme.get("Name", ""), "sort_order": theme.get("SortOrder")}
        for theme in themes
        if isinstance(theme, dict) and theme.get("BrandingThemeID")
    ]
    return sorted(found, key=lambda theme: theme["sort_order"] if isinstance(theme["sort_order"], int) else 0)


# --- Contacts ---------------------------------------------------------------------------------
def find_contacts(session: Session, *, account_numbers: list[str]) -> Found:
    """Contacts whose Account Number may be one of these (archived ones too), in as few requests as the
    length budget allows. Callers keep exact matches: a number holding a double quote is looked for by
    part of it. `refused` is keyed by Account Number."""
    conditions = {text_condition("AccountNumber", number): number for number in account_numbers}
    conditions.pop("", None)
    found = _contacts_where(session, list(conditions))
    return Found(found.items, {conditions[c]: message for c, message in found.refused.items()})


def find_contacts_like(
    session: Session, *, account_numbers: list[str], names: list[str], spaced_numbers: bool
) -> Found:
    """Archived ones included: contacts whose Account Number is one of these or whose Name is (Xero's
    `where` text comparisons ignore case) and, with `spaced_numbers`, every contact whose Account Number
    holds a space — so that near misses can be told from exact matches by the caller."""
    conditions = [text_condition("AccountNumber", number) for number in account_numbers]
    conditions += [text_condition("Name", name) for name in names]
    if spaced_numbers:
        conditions.append('(AccountNumber!=null&&AccountNumber.Contains(" "))')
    return _contacts_where(session, list(dict.fromkeys(c for c in conditions if c)))


def _contacts_where(session: Session, conditions: list[str]) -> Found:
    def read(chunk: list[str]) -> list[XeroContact]:
        answer = _request(session, "get_contacts", where=" OR ".join(chunk), include_archived=True)
        return answers.readable(answers.contact, answer.get("Contacts"))

    return split_read(
        conditions, read, path="/Contacts", name="where", joiner=" OR ", fixed={"includeArchived": "true"}
    )


def create_contacts(session: Session, *, contacts: list[dict]) -> list[tuple[XeroContact | None, tuple[str, ...]]]:
    """Create contacts in one call; per element, the contact created or Xero's messages."""
    body = Contacts(
        contacts=[
            Contact(name=c["name"], account_number=c["account_number"], email_address=c.get("email") or None)
            for c in contacts
        ]
    )
    created = _request(session, "create_contacts", body, summarize_errors=False).get("Contacts") or []
    return [
        (None, answers.messages(c)) if answers.messages(c) else (answers.readable_one(answers.contact, c), ())
        for c in created
    ]


# --- Invoices and credit notes ----------------------------------------------------------------
def create_documents(session: Session, *, documents: list[DocumentOut]) -> list[DocumentIn]:
    """Create invoices, or credit notes, in one call (never both kinds in one batch). The Idempotency-Key
    is derived from the body, so a quick retry of the same batch repeats it and Xero replays its first
    answer instead of creating anything twice."""
    credit_notes = documents[0].credit_note
    if credit_notes:
        method, body = "create_credit_notes", CreditNotes(credit_notes=[_credit_note(d) for d in documents])
    else:
        method, body = "create_invoices", Invoices(invoices=[_invoice(d) for d in documents])
    answer = _request(
        session, method, body, summarize_errors=False, unitdp=4, idempotency_key=_body_key("documents", documents)
    )
    return answers.readable(answers.document_in, answer.get("CreditNotes" if credit_notes else "Invoices"))


def find_documents(session: Session, *, numbers: list[str], credit_notes: bool) -> Found:
    """Every document Xero holds under these numbers, whatever its type or status (to settle attempts
    whose outcome is unknown, and to warn of numbers already taken). The caller decides which is its own."""
    field, path = ("CreditNoteNumber", "/CreditNotes") if credit_notes else ("InvoiceNumber", "/Invoices")
    conditions = [c for c in dict.fromkeys(text_condition(field, number) for number in numbers) if c]

    def read(chunk: list[str]) -> list[DocumentFound]:
        answer = _request(session, _documents_read(credit_notes), where=" OR ".join(chunk))
        return answers.readable(answers.document_found, answer.get(_collection(credit_notes)))

    return split_read(conditions, read, path=path, name="where", joiner=" OR ")


def find_sales_numbers_from(session: Session, *, credit_notes: bool, prefix: str) -> list[DocumentFound]:
    """Sales documents Xero holds whose number starts with this prefix (the platform's next numbers may
    be among them), first page only: enough to warn before the first sync."""
    field = "CreditNoteNumber" if credit_notes else "InvoiceNumber"
    kind = "ACCRECCREDIT" if credit_notes else "ACCREC"
    where = f'Type=="{kind}"&&{field}!=null&&{field}.StartsWith("{unquoted(prefix)}")'
    answer = _request(session, _documents_read(credit_notes), where=where, order=f"{field} DESC", page=1)
    return answers.readable(answers.document_found, answer.get(_collection(credit_notes)))


def credit_position(session: Session, *, invoice_id: str, credit_note_id: str) -> CreditPosition:
    invoice = transport.first(_request(session, "get_invoice", invoice_id), "Invoices")
    note = transport.first(_request(session, "get_credit_note", credit_note_id), "CreditNotes")
    applied = sum(
        (
            answers.money(c.get("AppliedAmount")) or 0
            for c in invoice.get("CreditNotes") or []
            if str(c.get("CreditNoteID", "")).lower() == credit_note_id.lower()
        ),
        Decimal("0.00"),
    )
    return CreditPosition(
        amount_due=answers.money(invoice.get("AmountDue")) or Decimal("0.00"),
        remaining_credit=answers.money(note.get("RemainingCredit")) or Decimal("0.00"),
        applied_from_credit_note=applied,
    )


def allocate_credit_note(
    session: Session, *, credit_note_id: str, invoice_id: str, amount: Decimal, date: datetime.date
) -> None:
    body = Allocations(
        allocations=[Allocation(invoice=Invoice(invoice_id=invoice_id), amount=float(amount), date=date)]
    )
    _request(
        session,
        "create_credit_note_allocation",
        credit_note_id,
        body,
        idempotency_key=_body_key("allocation", (credit_note_id, invoice_id, amount, date)),
    )


# --- States back (webhooks and reconciliation) ------------------------------------------------
def read_invoice_states(session: Session, *, invoice_ids: list[str]) -> list[DocumentState]:
    """The current state of these invoices (`GET /Invoices?IDs=…`, as many ids a request as the budget allows)."""

    def read(chunk: list[str]) -> list[DocumentState]:
        return answers.readable(answers.invoice_state, _request(session, "get_invoices", i_ds=chunk).get("Invoices"))

    return split_read(invoice_ids, read, path="/Invoices", name="IDs", joiner=",").items


def read_credit_note_states(session: Session, *, credit_note_ids: list[str]) -> list[DocumentState]:
    """The current state of these credit notes: Xero's credit notes have no `IDs` filter, so the ids go
    in a `where`, as many a request as the budget allows."""

    def read(chunk: list[str]) -> list[DocumentState]:
        answer = _request(session, "get_credit_notes", where=" OR ".join(chunk))
        return answers.readable(answers.credit_note_state, answer.get("CreditNotes"))

    conditions = [f'CreditNoteID==Guid("{credit_note_id}")' for credit_note_id in credit_note_ids]
    return split_read(conditions, read, path="/CreditNotes", name="where", joiner=" OR ").items


def read_modified_states(
    session: Session, *, credit_notes: bool, modified_after: datetime.datetime, page: int = 1
) -> list[DocumentState]:
    """One page of the invoices (or credit notes) Xero changed after this moment, oldest change first."""
    answer = _request(
        session,
        _documents_read(credit_notes),
        if_modified_since=_naive_utc(modified_after),
        order="UpdatedDateUTC ASC",
        page=page,
        page_size=values.MODIFIED_PAGE_SIZE,
    )
    read_one = answers.credit_note_state if credit_notes else answers.invoice_state
    return answers.readable(read_one, answer.get(_collection(credit_notes)))


# --- One request ------------------------------------------------------------------------------
# --- PDFs on documents -------------------------------------------------------------------------
def attach_file(
    session: Session, *, document_id: str, credit_note: bool, file_name: str, content: bytes, include_online: bool
) -> None:
    """PUT a file on a document. Xero keeps a second copy when the same name is put twice: the Idempotency-Key
    (the same for the same document, name and bytes) makes a quick retry replay the first answer; a later one
    must look first (`attachment_names`)."""
    method = "create_credit_note_attachment_by_file_name" if credit_note else "create_invoice_attachment_by_file_name"
    key = _body_key("attachment", (document_id, file_name, hashlib.sha256(content).hexdigest()))
    answer = _request(
        session, method, document_id, file_name, content, include_online=include_online, idempotency_key=key
    )
    transport.first(answer, "Attachments")  # an answer without the attachment is a failed call, tried again


def attachment_names(session: Session, *, document_id: str, credit_note: bool) -> list[str]:
    method = "get_credit_note_attachments" if credit_note else "get_invoice_attachments"
    attachments = _request(session, method, document_id).get("Attachments") or []
    return [attachment.get("FileName", "") for attachment in attachments if isinstance(attachment, dict)]


def online_invoice_url(session: Session, *, invoice_id: str) -> str:
    """The address of the invoice's page on Xero's site, for the customer (sales invoices only)."""
    return transport.first(_request(session, "get_online_invoice", invoice_id), "OnlineInvoices").get(
        "OnlineInvoiceUrl", ""
    )


def _request(session: Session, method: str, *args, **options):
    """One paced request: wait for the organisation's slot, then call with a token fresh at that moment."""
    with session.slot() as slot:
        api = transport.accounting_api(session.token())
        status, problem = 200, ""
        try:
            return transport.answer(getattr(api, method), session.tenant_id, *args, heard=slot.heard, **options)
        except XeroError as error:
            status, problem = error.status or 0, getattr(error, "problem", "")
            raise
        finally:
            tallies.call_note(session.tenant_id, endpoint=method, status=status, problem=problem)


def _documents_read(credit_notes: bool) -> str:
    return "get_credit_notes" if credit_notes else "get_invoices"


def _collection(credit_notes: bool) -> str:
    return "CreditNotes" if credit_notes else "Invoices"


def _body_key(kind: str, content) -> str:
    """An Idempotency-Key that is the same exactly when the request body is (Xero keeps one ~6 minutes,
    answers the same key with a different body with a 400, and the key may be at most 128 characters)."""
    digest = hashlib.sha256(repr(content).encode()).hexdigest()
    return f"cocoonops-{kind}-{digest}"


def _lines(document: DocumentOut) -> list[LineItem]:
    return [
        LineItem(
            description=line.description,
            quantity=float(line.quantity),
            unit_amount=float(line.unit_amount),
            account_code=line.account_code,
            tax_type=line.tax_type,
            tracking=[LineItemTracking(name=category, option=option) for category, option in line.tracking] or None,
        )
        for line in document.lines
    ]


def _invoice(document: DocumentOut) -> Invoice:
    return Invoice(
        type="ACCREC",
        contact=Contact(contact_id=document.contact_id),
        invoice_number=document.number,
        reference=document.reference,
        currency_code=_currency(document.currency),
        currency_rate=_rate(document.currency_rate),
        branding_theme_id=document.branding_theme_id or None,
        date=document.date,
        due_date=document.due_date,
        line_amount_types=LineAmountTypes.EXCLUSIVE,
        status="AUTHORISED",
        line_items=_lines(document),
    )


def _credit_note(document: DocumentOut) -> CreditNote:
    return CreditNote(
        type="ACCRECCREDIT",
        contact=Contact(contact_id=document.contact_id),
        credit_note_number=document.number,
        reference=document.reference,
        currency_code=_currency(document.currency),
        currency_rate=_rate(document.currency_rate),
        branding_theme_id=document.branding_theme_id or None,
        date=document.date,
        line_amount_types=LineAmountTypes.EXCLUSIVE,
        status="AUTHORISED",
        line_items=_lines(document),
    )


def _rate(rate: Decimal | None) -> float | None:
    """Left out when None, so that Xero applies its daily rate (never 1 by default: that books the foreign amount
    as if it were in the base currency)."""
    return None if rate is None else float(rate)


def _currency(code: str) -> CurrencyCode:
    try:
        return CurrencyCode(code)
    except ValueError:
        raise XeroError(f"Xero does not know the currency {code}.", permanent=True) from None


def _naive_utc(moment: datetime.datetime) -> datetime.datetime:
    """If-Modified-Since as Xero reads it: UTC, without an offset."""
    return moment.astimezone(datetime.UTC).replace(tzinfo=None) if moment.tzinfo else moment
