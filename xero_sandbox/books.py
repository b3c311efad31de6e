"""The sandbox's ledger — sales documents, and the supplier bills and credit notes that sit beside
them in Xero — kept by Xero's rules: totals, numbers, status changes, payments and credit note
allocations. The Accounting API and the staff pages change documents only through these
services, so both refuse what Xero refuses, in Xero's words (`RuleBroken`), and both announce every
change as the webhook event Xero would send, inside the transaction that makes it."""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from . import events
from .models import Allocation, Contact, Document, DocumentLine, Organisation, Payment, TaxRate

DRAFT, SUBMITTED, AUTHORISED = "DRAFT", "SUBMITTED", "AUTHORISED"
PAID, VOIDED, DELETED = "PAID", "VOIDED", "DELETED"
STATUSES_ON_CREATE = (DRAFT, SUBMITTED, AUTHORISED)
NOT_YET_APPROVED = (DRAFT, SUBMITTED)
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

SETTLED = "This document cannot be edited as it has a payment or credit note allocated to it."
PAY_AUTHORISED_ONLY = "Payments can only be made against Authorised documents"
OVERPAYMENT = "Payment amount exceeds the amount outstanding on this document"


class RuleBroken(ValueError):
    """Xero refuses the change. `str()` is its first message; `messages` holds all of them."""

    def __init__(self, message: str, *more: str):
        super().__init__(message)
        self.messages = [message, *more]


@dataclass
class LineInput:
    description: str = ""
    quantity: Decimal = Decimal("1")
    unit_amount: Decimal = ZERO
    account_code: str = ""
    tax_type: str = ""
    tax_rate: Decimal = ZERO  # the tax type's effective rate, in percent
    line_item_id: object = None  # kept when an update names an existing line


@dataclass
class DocumentInput:
    """A create or an update as asked for. `fields` holds Document field names (contact, number, date,
    due_date, reference, currency_code, line_amount_types, status); an update changes only those given,
    and the lines only when `lines` is not None (then they replace the document's lines)."""

    fields: dict = field(default_factory=dict)
    lines: list[LineInput] | None = None


# --- Amounts -------------------------------------------------------------------------------------
def round_money(value: Decimal) -> Decimal:
    """Half away from zero, as Xero rounds (Python's default would round half to even)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_amounts(line: LineInput, line_amount_types: str) -> tuple[Decimal, Decimal]:
    """(LineAmount, TaxAmount) of one line. Xero rounds tax line by line, then adds the lines up."""
    amount = round_money(line.quantity * line.unit_amount)
    if line_amount_types == "NoTax":
        return amount, ZERO
    if line_amount_types == "Inclusive":
        return amount, round_money(amount * line.tax_rate / (100 + line.tax_rate))
    return amount, round_money(amount * line.tax_rate / 100)


# --- Documents -----------------------------------------------------------------------------------
@transaction.atomic
def document_create(*, organisation: Organisation, type: str, data: DocumentInput) -> Document:
    fields = data.fields
    status = fields.get("status") or DRAFT
    if status not in STATUSES_ON_CREATE:
        raise RuleBroken(f"A new {_noun(type)} can only be created as DRAFT, SUBMITTED or AUTHORISED.")
    _lock_numbers(organisation)
    number = fields.get("number") or _next_number(organisation, type)
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
    )
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
        _lock_numbers(document.organisation)
        _ensure_number_free(document.organisation, document.type, number, exclude=document)
    retax = fields.get("line_amount_types", document.line_amount_types) != document.line_amount_types
    for name, value in fields.items():
        setattr(document, name, value)
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


def _line_keys(lines: list[LineInput]) -> list[tuple]:
    return [(ln.description, ln.quantity, ln.unit_amount, ln.account_code, ln.tax_type) for ln in lines]


def _lines_of(document: Document) -> list[LineInput]:
    rates = {r.tax_type: r.effective_rate for r in TaxRate.objects.filter(organisation=document.organisation_id)}
    return [
        LineInput(
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            account_code=line.account_code,
            tax_type=line.tax_type,
            tax_rate=rates.get(line.tax_type, ZERO),
            line_item_id=line.line_item_id,
        )
        for line in document.lines.all()
    ]


def _write_lines(document: Document, lines: list[LineInput]) -> None:
    kept_ids = set(document.lines.values_list("line_item_id", flat=True))
    document.lines.all().delete()
    rows = []
    for line in lines:
        amount, tax = line_amounts(line, document.line_amount_types)
        rows.append(
            DocumentLine(
                document=document,
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                account_code=line.account_code,
                tax_type=line.tax_type,
                line_amount=amount,
                tax_amount=tax,
                **({"line_item_id": line.line_item_id} if line.line_item_id in kept_ids else {}),
            )
        )
    DocumentLine.objects.bulk_create(rows)
    gross = sum((row.line_amount for row in rows), ZERO)
    document.total_tax = sum((row.tax_amount for row in rows), ZERO)
    inclusive = document.line_amount_types == "Inclusive"
    document.sub_total = gross - document.total_tax if inclusive else gross
    document.total = document.sub_total + document.total_tax


# --- Numbers -------------------------------------------------------------------------------------
def _lock_numbers(organisation: Organisation) -> None:
    """Serialise number checks per organisation, so two concurrent calls cannot take the same number.
    (SQLite lets one writer at a time in anyway.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x5E7B0, organisation.pk])


def _next_number(organisation: Organisation, type: str) -> str:
    """The next number in the org's own sequence (INV-0001, CN-0001), as when Xero numbers a sales
    document. A supplier's document has the number the supplier gave it, or none."""
    if type not in Document.SALES_TYPES:
        return ""
    prefix = "CN-" if type == Document.CREDIT_NOTE else "INV-"
    taken = Document.objects.filter(organisation=organisation, type=type, number__istartswith=prefix)
    counters = [number[len(prefix) :] for number in taken.values_list("number", flat=True)]
    last = max((int(counter) for counter in counters if counter.isdigit()), default=0)
    return f"{prefix}{last + 1:04d}"


def _ensure_number_free(organisation: Organisation, type: str, number: str, exclude: Document | None = None):
    """A sales number is unique among its own type (a bill may share it). Suppliers type their numbers
    in by hand, so several bills, or supplier credit notes, may carry the same one."""
    if type not in Document.SALES_TYPES or not number:
        return
    # Voided and deleted documents keep their numbers: Xero never hands a number out twice.
    taken = Document.objects.filter(organisation=organisation, type=type, number__iexact=number)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise RuleBroken(f"{'Credit Note' if type == Document.CREDIT_NOTE else 'Invoice'} # must be unique.")


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
    *, document: Document, amount: Decimal, date: datetime.date | None = None, reference: str = ""
) -> Payment:
    """A payment on an invoice, or a cash refund of a credit note's remaining credit."""
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
    payment = Payment.objects.create(
        document=locked, amount=amount, date=date or timezone.localdate(), reference=reference
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
