"""The sandbox's ledger — sales documents, and the supplier bills and credit notes that sit beside
them in Xero — kept by Xero's rules: totals, numbers, status changes, payments and credit note
allocations. The Accounting API and the staff pages change documents only through these
services, so both refuse what Xero refuses, in Xero's words (`RuleBroken`), and both announce every
change as the webhook event Xero would send, inside the transaction that makes it.

Inputs, line amounts, totals and numbers, and `RuleBroken`, are in `books_totals`, beneath these
services; the names callers use are imported here too (`books.RuleBroken`, `books.LineInput`, ...)."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from . import events
from .books_totals import (
    ZERO,
    DocumentInput,
    LineInput,
    RuleBroken,
    _ensure_number_free,
    _line_keys,
    _lines_of,
    _lock_number,
    _lock_sequence,
    _next_number,
    _write_lines,
    round_money,
)
from .models import Allocation, BrandingTheme, Contact, Document, Organisation, Payment

DRAFT, SUBMITTED, AUTHORISED = "DRAFT", "SUBMITTED", "AUTHORISED"
PAID, VOIDED, DELETED = "PAID", "VOIDED", "DELETED"
STATUSES_ON_CREATE = (DRAFT, SUBMITTED, AUTHORISED)
NOT_YET_APPROVED = (DRAFT, SUBMITTED)

SETTLED = "This document cannot be edited as it has a payment or credit note allocated to it."
PAY_AUTHORISED_ONLY = "Payments can only be made against Authorised documents"
OVERPAYMENT = "Payment amount exceeds the amount outstanding on this document"


# --- Documents -----------------------------------------------------------------------------------
@transaction.atomic
def document_create(*, organisation: Organisation, type: str, data: DocumentInput) -> Document:
    fields = data.fields
    status = fields.get("status") or DRAFT
    if status not in STATUSES_ON_CREATE:
        raise RuleBroken(f"A new {_noun(type)} can only be created as DRAFT, SUBMITTED or AUTHORISED.")
    number = fields.get("number")
    if not number:
        _lock_sequence(organisation)
        number = _next_number(organisation, type)
    _lock_number(organisation, type, number)
    _ensure_number_free(organisation, type, number)
    document = Document.objects.create(
        organisation=organisation,
        type=type,
        number=number,
        contact=fields["contact"],
        date=fields.get("date") or timezone.localdate(),
        due_date=fields.get("due_date"),
        reference=fields.get("reference") or "",
        status=status,
        currency_code=fields.get("currency_code") or organisation.base_currency,
        line_amount_types=fields.get("line_amount_types") or "Exclusive",
        branding_theme=fields.get("branding_theme") or default_branding_theme(organisation),
    )
    document.currency_rate = _document_rate(document, fields.get("currency_rate"))
    _write_lines(document, data.lines or [])
    if status == AUTHORISED:
        _ensure_approvable(document)
    _settle(document, on=document.date)
    document.save()
    # Xero marks a contact as a customer once it has a sales invoice, a supplier once it has a bill
    # (no event, no new UpdatedDateUTC).
    if type == Document.INVOICE:
        Contact.objects.filter(pk=document.contact_id, is_customer=False).update(is_customer=True)
    elif type == Document.BILL:
        Contact.objects.filter(pk=document.contact_id, is_supplier=False).update(is_supplier=True)
    _announce(document, "CREATE")
    return document


@transaction.atomic
def document_update(*, document: Document, data: DocumentInput) -> Document:
    document = _locked(document)
    fields = dict(data.fields)
    status = fields.pop("status", None) or document.status
    if _changes_content(document, fields, data.lines):
        _ensure_editable(document)
    if status != document.status:
        _ensure_transition(document, status)
    number = fields.get("number")
    if number and number.lower() != document.number.lower():
        _lock_number(document.organisation, document.type, number)
        _ensure_number_free(document.organisation, document.type, number, exclude=document)
    retax = fields.get("line_amount_types", document.line_amount_types) != document.line_amount_types
    rerate = {"currency_code", "currency_rate"} & fields.keys()
    for name, value in fields.items():
        setattr(document, name, value)
    if rerate:
        document.currency_rate = _document_rate(document, fields.get("currency_rate"))
    if data.lines is not None or retax:  # new lines, or the same lines taxed another way
        _write_lines(document, data.lines if data.lines is not None else _lines_of(document))
    document.status = status
    if status == AUTHORISED:
        _ensure_approvable(document)
    _settle(document, on=document.date)
    document.save()
    _announce(document, "UPDATE")
    return document


@transaction.atomic
def document_void(*, document: Document) -> None:
    locked = _locked(document)
    _ensure_voidable(locked)
    _set_status(locked, VOIDED)
    document.refresh_from_db()


@transaction.atomic
def document_delete(*, document: Document) -> None:
    locked = _locked(document)
    _ensure_deletable(locked)
    _set_status(locked, DELETED)
    document.refresh_from_db()


def _set_status(document: Document, status: str) -> None:
    document.status = status
    document.save()
    _announce(document, "UPDATE")


def default_branding_theme(organisation: Organisation) -> BrandingTheme | None:
    """The theme Xero gives a document created without a BrandingThemeID: the organisation's default, the
    one of the lowest SortOrder ("Standard" in a new organisation). Xero would take the contact's default
    theme first; sandbox contacts have none."""
    return BrandingTheme.objects.filter(organisation=organisation).order_by("sort_order", "pk").first()


def _noun(type: str) -> str:
    return "credit note" if type in Document.CREDIT_NOTE_TYPES else "invoice"


def _not_valid_status(document: Document) -> str:
    return f"{_noun(document.type).capitalize()} not of valid status for modification"


def _has_settlements(document: Document) -> bool:
    allocations = document.allocations_made if document.is_credit_note else document.allocations_received
    return document.payments.filter(status=AUTHORISED).exists() or allocations.exists()


def _ensure_editable(document: Document) -> None:
    """The content may change until something is paid or allocated, and never after a void or delete."""
    if _has_settlements(document):
        raise RuleBroken(SETTLED)
    if document.status not in (*NOT_YET_APPROVED, AUTHORISED):
        raise RuleBroken(_not_valid_status(document))


def _ensure_transition(document: Document, status: str) -> None:
    if status == VOIDED:
        _ensure_voidable(document)
    elif status == DELETED:
        _ensure_deletable(document)
    elif status == PAID or document.status not in NOT_YET_APPROVED or status not in STATUSES_ON_CREATE:
        # PAID comes from payments only, and an approved document never goes back to draft.
        raise RuleBroken(_not_valid_status(document))


def _ensure_voidable(document: Document) -> None:
    if _has_settlements(document):
        raise RuleBroken(SETTLED)
    if document.status != AUTHORISED:
        raise RuleBroken(_not_valid_status(document))


def _ensure_deletable(document: Document) -> None:
    if document.status not in NOT_YET_APPROVED:
        raise RuleBroken(_not_valid_status(document))


def _ensure_approvable(document: Document) -> None:
    if document.lines.filter(account_code="").exists():
        raise RuleBroken("Each line item must have an account code before the document can be approved.")


def _changes_content(document: Document, fields: dict, lines: list[LineInput] | None) -> bool:
    if any(getattr(document, name) != value for name, value in fields.items() if name != "number"):
        return True
    if fields.get("number") and fields["number"] != document.number:
        return True
    return lines is not None and _line_keys(lines) != _line_keys(_lines_of(document))


# --- Documents from outside the platform ----------------------------------------------------------
@transaction.atomic
def outside_document_create(
    organisation: Organisation,
    *,
    type: str,
    number: str,
    contact_name: str,
    total: Decimal,
    status: str = AUTHORISED,
    date: datetime.date | None = None,
) -> Document:
    """A document someone else put into the books — a supplier's bill (ACCPAY) or credit note
    (ACCPAYCREDIT), or a sales invoice or credit note typed into Xero before the platform was linked —
    with one untaxed line of `total`, for the contact of that name (created if there is none). For
    tests, chaos runs and demos: its number may be one the platform uses (xero-api.md §10).

    `status` may also be PAID (paid in full on its date), VOIDED or DELETED, reached as Xero would."""
    date = date or timezone.localdate()
    line = LineInput(
        description="Typed into Xero by hand",
        unit_amount=round_money(Decimal(str(total))),
        account_code=_outside_account_code(organisation, type),
        tax_type="NONE",
    )
    fields = {
        "contact": _contact_named(organisation, contact_name),
        "number": number,
        "date": date,
        "line_amount_types": "NoTax",
        "status": DRAFT if status == DELETED else AUTHORISED if status in (PAID, VOIDED) else status,
    }
    if type in Document.INVOICE_TYPES:
        fields["due_date"] = date + datetime.timedelta(days=20)
    document = document_create(organisation=organisation, type=type, data=DocumentInput(fields=fields, lines=[line]))
    if status == PAID and document.status != PAID:  # a zero total is paid already
        document_pay(document=document, amount=document.amount_due, date=date)
    elif status == VOIDED:
        document_void(document=document)
    elif status == DELETED:
        document_delete(document=document)
    document.refresh_from_db()
    return document


def _outside_account_code(organisation: Organisation, type: str) -> str:
    """The first account a person would post such a line to: revenue for a sale, expense for a purchase."""
    wanted = "REVENUE" if type in Document.SALES_TYPES else "EXPENSE"
    accounts = organisation.accounts.filter(account_class=wanted, status="ACTIVE", system_account="")
    return accounts.values_list("code", flat=True).first() or ""


def _contact_named(organisation: Organisation, name: str) -> Contact:
    """The active contact of that name (else an archived one), or a new one, announced as Xero would."""
    named = organisation.contacts.filter(name__iexact=name).order_by("status", "pk")  # ACTIVE before ARCHIVED
    found = named.first()
    if found is not None:
        return found
    contact = Contact.objects.create(organisation=organisation, name=name)
    events.record_event(
        organisation=organisation, category="CONTACT", resource_id=contact.contact_id, event_type="CREATE"
    )
    return contact


# --- Payments and allocations --------------------------------------------------------------------
@transaction.atomic
def document_pay(
    *,
    document: Document,
    amount: Decimal,
    date: datetime.date | None = None,
    reference: str = "",
    currency_rate: Decimal | None = None,
) -> Payment:
    """A payment on an invoice, or a cash refund of a credit note's remaining credit, in the document's currency
    at `currency_rate` (else the payment date's rate)."""
    locked = _locked(document)
    amount = round_money(amount)
    # Xero answers both at once, e.g. for a draft: "…Authorised documents; Payment amount exceeds…".
    problems = [PAY_AUTHORISED_ONLY] if locked.status != AUTHORISED else []
    if amount <= 0:
        problems.append("Payment amount must be greater than zero")
    elif amount > (locked.amount_due if locked.status == AUTHORISED else ZERO):
        problems.append(OVERPAYMENT)
    if problems:
        raise RuleBroken(*problems)
    date = date or timezone.localdate()
    payment = Payment.objects.create(
        document=locked,
        amount=amount,
        date=date,
        reference=reference,
        currency_rate=_rate(locked.organisation, locked.currency_code, date, given=currency_rate),
    )
    _rebalance(locked, on=payment.date)
    document.refresh_from_db()
    return payment


@transaction.atomic
def payment_delete(*, payment: Payment) -> None:
    """Delete a payment: the document owes the amount again (a PAID invoice goes back to AUTHORISED)."""
    document = _locked(payment.document)
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status == DELETED:
        raise RuleBroken("This payment has already been deleted")
    locked.status = DELETED
    locked.save(update_fields=["status"])
    _rebalance(document, on=None)
    payment.refresh_from_db()


@transaction.atomic
def credit_note_allocate(
    *, credit_note: Document, invoice: Document, amount: Decimal, date: datetime.date | None = None
) -> Allocation:
    credit_note, invoice = _locked_pair(credit_note, invoice)
    amount = round_money(amount)
    _ensure_allocatable(credit_note, invoice, amount)
    allocation = Allocation.objects.create(
        credit_note=credit_note, invoice=invoice, amount=amount, date=date or timezone.localdate()
    )
    _rebalance(invoice, on=allocation.date)
    _rebalance(credit_note, on=allocation.date)
    return allocation


@transaction.atomic
def allocation_delete(*, allocation: Allocation) -> None:
    credit_note, invoice = _locked_pair(allocation.credit_note, allocation.invoice)
    Allocation.objects.filter(pk=allocation.pk).delete()
    _rebalance(invoice, on=None)
    _rebalance(credit_note, on=None)


def _ensure_allocatable(credit_note: Document, invoice: Document, amount: Decimal) -> None:
    if not credit_note.is_credit_note or invoice.is_credit_note:
        raise RuleBroken("A credit note can only be allocated to an invoice")
    if credit_note.is_purchase != invoice.is_purchase:
        # A customer's credit cannot settle a supplier's bill, nor the other way round.
        wanted = Document.BILL if credit_note.is_purchase else Document.INVOICE
        raise RuleBroken(
            f"A credit note of type {credit_note.type} can only be allocated to an invoice of type {wanted}"
        )
    if credit_note.status not in (AUTHORISED, PAID):
        raise RuleBroken("Only AUTHORISED credit notes can be allocated")
    if invoice.status == PAID:
        raise RuleBroken("The invoice you are trying to allocate to has already been paid off")
    if invoice.status != AUTHORISED:
        raise RuleBroken("Credit notes can only be allocated to AUTHORISED invoices")
    if credit_note.currency_code != invoice.currency_code:
        raise RuleBroken("The credit note and the invoice must be in the same currency")
    if credit_note.contact_id != invoice.contact_id:
        raise RuleBroken("The credit note and the invoice must be for the same contact")
    if amount <= 0:
        raise RuleBroken("Allocation amount must be greater than zero")
    if amount > credit_note.amount_due:
        raise RuleBroken("Credit Note cannot be allocated as amount is greater than remaining credit")
    if amount > invoice.amount_due:
        raise RuleBroken("Credit Note cannot be allocated as amount is greater than amount outstanding")


def _rebalance(document: Document, *, on: datetime.date | None) -> None:
    """Re-add the document's payments and allocations, settle it, save it and announce the change."""
    allocations = document.allocations_made if document.is_credit_note else document.allocations_received
    document.amount_paid = document.payments.filter(status=AUTHORISED).aggregate(s=Sum("amount"))["s"] or ZERO
    document.amount_credited = allocations.aggregate(s=Sum("amount"))["s"] or ZERO
    _settle(document, on=on)
    document.save()
    _announce(document, "UPDATE")


def _settle(document: Document, *, on: datetime.date | None) -> None:
    """AUTHORISED with nothing left to pay is PAID (a zero-total invoice at once), and back again."""
    if document.status == AUTHORISED and document.amount_due <= 0:
        document.status, document.fully_paid_on = PAID, on or _last_settlement_date(document)
    elif document.status == PAID and document.amount_due > 0:
        document.status, document.fully_paid_on = AUTHORISED, None


def _last_settlement_date(document: Document) -> datetime.date:
    allocations = document.allocations_made if document.is_credit_note else document.allocations_received
    dates = [p.date for p in document.payments.filter(status=AUTHORISED)] + [a.date for a in allocations.all()]
    return max(dates, default=document.date)


# --- Currencies ----------------------------------------------------------------------------------
def _document_rate(document: Document, given: Decimal | None) -> Decimal:
    return _rate(document.organisation, document.currency_code, document.date, given=given)


def _rate(organisation: Organisation, currency_code: str, date: datetime.date, *, given: Decimal | None) -> Decimal:
    """1 in the base currency, whatever was sent; in another, the rate sent, else Xero's daily rate for the date."""
    if currency_code == organisation.base_currency:
        return Decimal("1")
    if given:
        return given
    rate = organisation.rate_on(currency_code, date)
    if rate is None:  # Xero always has XE.com's rate; a sandbox organisation seeded without one does not
        raise RuleBroken(f"The sandbox has no exchange rate for {currency_code}: add one on the organisation's page.")
    return rate


# --- Plumbing ------------------------------------------------------------------------------------
def _locked(document: Document) -> Document:
    """The document's row, locked until the transaction ends, so that concurrent payments add up."""
    return Document.objects.select_for_update().select_related("organisation").get(pk=document.pk)


def _locked_pair(credit_note: Document, invoice: Document) -> tuple[Document, Document]:
    # Lock in primary key order, so that two allocations between the same documents cannot deadlock.
    locked = Document.objects.select_for_update().filter(pk__in=[credit_note.pk, invoice.pk]).order_by("pk")
    rows = {row.pk: row for row in locked}
    return rows[credit_note.pk], rows[invoice.pk]


def _announce(document: Document, event_type: str) -> None:
    events.record_event(
        organisation=document.organisation,
        category="CREDITNOTE" if document.is_credit_note else "INVOICE",
        resource_id=document.document_id,
        event_type=event_type,
    )
