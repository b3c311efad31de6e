"""Totals and numbers: the arithmetic under the ledger's services in `books`. What a create or an
update asks for (`LineInput`, `DocumentInput`); how Xero rounds and taxes each line and adds a
document's lines up; how it gives a sales document its number and keeps numbers unique. `RuleBroken`,
Xero's refusal, is defined here because this is the lower of the two modules: `books` imports this
one, never the other way round."""

import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from .models import Document, DocumentLine, Organisation, TaxRate

LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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
    # Xero's `Tracking`, as checked against the organisation's categories: up to two
    # {"TrackingCategoryID", "TrackingOptionID", "Name", "Option"}, each of another category.
    tracking: list[dict] = field(default_factory=list)


@dataclass
class DocumentInput:
    """A create or an update as asked for. `fields` holds Document field names (contact, number, date,
    due_date, reference, currency_code, line_amount_types, status, branding_theme); an update changes only those given,
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


# --- Lines and totals ----------------------------------------------------------------------------
def _line_keys(lines: list[LineInput]) -> list[tuple]:
    return [(ln.description, ln.quantity, ln.unit_amount, ln.account_code, ln.tax_type, ln.tracking) for ln in lines]


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
            tracking=line.tracking,
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
                tracking=line.tracking,
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
def _lock_sequence(organisation: Organisation) -> None:
    """Serialise the numbering of documents that come without one, per organisation, so that two concurrent
    calls cannot both take the next number. (SQLite lets one writer at a time in anyway.)"""
    _advisory_lock("SELECT pg_advisory_xact_lock(%s, %s)", [0x5E7B0, organisation.pk])


def _lock_number(organisation: Organisation, type: str, number: str) -> None:
    """Serialise the check of one sales number, so that two concurrent calls cannot both take it. Only that
    number: Xero takes an organisation's five concurrent calls in parallel, and an organisation-wide lock,
    held to the end of the request's transaction, made them queue (five batches of 50 invoices one after the
    other). The lock waits for a call writing the same number to end; its check then sees that call's document."""
    if type in Document.SALES_TYPES and number:
        digest = hashlib.blake2b(f"{organisation.pk}:{type}:{number.upper()}".encode(), digest_size=8).digest()
        _advisory_lock("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


def _advisory_lock(sql: str, params: list) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


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
