"""Writes to the billing data. Views, admin actions and add-ons call these; keyword-only.

Rule violations raise `django.core.exceptions.ValidationError` with messages a person can act on.
"""

import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .amounts import DocumentTotals, LineAmounts, document_totals, line_amounts
from .models import (
    MONEY,
    Company,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Rate,
    RateCompanyCode,
    TaxRate,
    document_number,
)
from .signals import document_issued, document_issuing

logger = logging.getLogger(__name__)

Status = Invoice.Status
# Amounts and totals are stored with MONEY's digits: 12 before the point, so below a trillion.
MONEY_LIMIT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"])

# Status changes that come back from the accounting system, from → allowed targets. A paid
# document may lose its payment (back to issued) or, once it has, be voided or deleted there.
ACCOUNTING_TRANSITIONS = {
    Status.ISSUED: {Status.PAID, Status.VOIDED, Status.DELETED},
    Status.PAID: {Status.ISSUED, Status.VOIDED, Status.DELETED},
}


@dataclass(frozen=True)
class LineInput:
    rate: Rate
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: TaxRate


def rate_save(*, rate: Rate, company_codes: Mapping[Company, str] | None = None) -> Rate:
    """Save a rate and, in the same transaction, the companies' own revenue account codes given for it: a code
    is kept as that company's; a blank one deletes it, so that the rate's own code applies there again.
    Companies left out keep what they have."""
    company_codes = company_codes or {}
    rate.full_clean()
    _check_company_codes(company_codes)
    with transaction.atomic():
        rate.save()
        for company, code in company_codes.items():
            _set_company_code(rate=rate, company=company, code=code)
    return rate


def _check_company_codes(company_codes: Mapping[Company, str]) -> None:
    # Checked before anything is written, with the field's own validators (the rate's revenue code's), so a
    # refused code leaves the rate and every company's code as they were.
    problems = []
    for company, code in company_codes.items():
        if not code:  # blank: the company's code goes
            continue
        try:
            RateCompanyCode(revenue_account_code=code).clean_fields(exclude=["rate", "company"])
        except ValidationError as error:
            problems += [f"Revenue account code for {company}: {message}" for message in error.messages]
    if problems:
        raise ValidationError(problems)


def _set_company_code(*, rate: Rate, company: Company, code: str) -> None:
    if code:
        RateCompanyCode.objects.update_or_create(rate=rate, company=company, defaults={"revenue_account_code": code})
    else:
        RateCompanyCode.objects.filter(rate=rate, company=company).delete()


def invoice_save_draft(*, invoice: Invoice, lines: Iterable[LineInput]) -> Invoice:
    """Save a new or existing draft with exactly these lines, and compute its totals."""
    lines = list(lines)
    if invoice.company_id is None:
        invoice.company = invoice.billing_account.default_company or Company.objects.default()
    if invoice.branch_id is None:
        invoice.branch_id = invoice.billing_account.default_branch_id
    _check_tax_rates_are_the_companys(invoice, [line.tax_rate for line in lines])
    with transaction.atomic():
        if invoice.pk:
            _lock_draft(invoice.pk)
        invoice.full_clean()
        invoice.save()
        invoice.lines.all().delete()
        InvoiceLine.objects.bulk_create(
            _build_line(invoice=invoice, position=position, line=line) for position, line in enumerate(lines, start=1)
        )
        _update_totals(invoice)
    return invoice


def invoice_delete_draft(*, invoice: Invoice) -> None:
    with transaction.atomic():
        _lock_draft(invoice.pk).delete()


def invoice_issue(*, invoice: Invoice, today: datetime.date | None = None) -> Invoice:
    """Issue a draft: check it, give it its number and dates, lock it, and announce it after commit."""
    with transaction.atomic():
        locked = _lock_draft(invoice.pk)
        _check_issuable(locked)
        _update_totals(locked)  # tax percentages may have changed since the draft was saved
        _check_total(locked)
        locked.number = _take_next_number(locked.company, locked.kind)
        locked.issue_date = locked.issue_date or today or timezone.localdate()
        locked.due_date = locked.due_date or _due_date_from_terms(locked)
        if locked.due_date < locked.issue_date:
            raise ValidationError("The due date is before the issue date.")
        locked.status = Status.ISSUED
        locked.issued_at = locked.status_changed_at = timezone.now()
        locked.save()
        document_issuing.send(sender=Invoice, invoice=locked)
        transaction.on_commit(lambda: _announce_issued(locked))
    return locked


def invoice_record_accounting_status(*, invoice: Invoice, status: str, amount_paid: Decimal | None = None) -> bool:
    """Apply a status, and the amount paid (used, of a credit note) when known, learned from the accounting
    system; return whether the status changed.

    Idempotent: recording the status and amount a document already has changes nothing.
    """
    if status not in Status.values:
        raise ValidationError(f"“{status}” is not a document status.")
    if amount_paid is not None and not Decimal("0") <= amount_paid < MONEY_LIMIT:
        raise ValidationError(f"{amount_paid} is not an amount paid.")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        changed = locked.status != status
        if changed and status not in ACCOUNTING_TRANSITIONS.get(locked.status, set()):
            raise ValidationError(
                f"{locked} cannot go from {locked.get_status_display().lower()} to {Status(status).label.lower()}."
            )
        fields = []
        if amount_paid is not None and amount_paid != locked.amount_paid and not locked.is_draft:
            locked.amount_paid = amount_paid
            fields.append("amount_paid")
        if changed:
            locked.status, locked.status_changed_at = status, timezone.now()
            fields += ["status", "status_changed_at"]
        if fields:
            locked.save(update_fields=[*fields, "updated_at"])
    invoice.status, invoice.status_changed_at, invoice.amount_paid = (
        locked.status,
        locked.status_changed_at,
        locked.amount_paid,
    )
    return changed


def _lock_draft(pk: int) -> Invoice:
    invoice = Invoice.objects.select_for_update().select_related("billing_account").get(pk=pk)
    if not invoice.is_draft:
        raise ValidationError(
            f"{invoice} is {invoice.get_status_display().lower()}: an issued document cannot be "
            "changed. Correct it with a credit note."
        )
    return invoice


def _build_line(*, invoice: Invoice, position: int, line: LineInput) -> InvoiceLine:
    built = InvoiceLine(
        invoice=invoice,
        position=position,
        rate=line.rate,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        tax_rate=line.tax_rate,
    )
    built.full_clean(exclude=["invoice"])
    return built


def _update_totals(invoice: Invoice) -> None:
    """Recompute every line's amounts from its tax rate's current percentage, then the totals."""
    lines = list(invoice.lines.select_related("tax_rate"))
    for line in lines:
        amounts = line_amounts(quantity=line.quantity, unit_price=line.unit_price, tax_percent=line.tax_rate.rate)
        line.tax_percent, line.net_amount, line.tax_amount = line.tax_rate.rate, amounts.net, amounts.tax
    totals = document_totals([LineAmounts(net=line.net_amount, tax=line.tax_amount) for line in lines])
    _check_amounts_fit(lines, totals)
    InvoiceLine.objects.bulk_update(lines, ["tax_percent", "net_amount", "tax_amount"])
    invoice.subtotal, invoice.tax_total, invoice.total = totals.subtotal, totals.tax, totals.total
    invoice.save(update_fields=["subtotal", "tax_total", "total", "updated_at"])


def _check_amounts_fit(lines: list[InvoiceLine], totals: DocumentTotals) -> None:
    # Refused here, with the line to correct, rather than by the database (a server error on
    # PostgreSQL, and on SQLite a stored figure that can no longer be read back).
    largest = f"{MONEY_LIMIT - Decimal('0.01'):,}"
    problems = [
        f"Line {line.position}: {line.net_amount:,} plus {line.tax_amount:,} tax is more than a "
        f"document can hold (at most {largest}). Check the quantity and unit price."
        for line in lines
        if abs(line.net_amount) >= MONEY_LIMIT or abs(line.tax_amount) >= MONEY_LIMIT
    ]
    figures = (totals.subtotal, totals.tax, totals.total)
    if not problems and any(abs(figure) >= MONEY_LIMIT for figure in figures):
        problems.append(f"The total {totals.total:,} is more than a document can hold (at most {largest}).")
    if problems:
        raise ValidationError(problems)


def _due_date_from_terms(invoice: Invoice) -> datetime.date:
    try:
        return invoice.issue_date + datetime.timedelta(days=invoice.billing_account.payment_terms_days)
    except OverflowError:  # an issue date near the end of the calendar (year 9999)
        raise ValidationError(
            f"The issue date {invoice.issue_date} leaves no room for the payment terms: "
            "correct the issue date, or enter a due date."
        ) from None


def _check_tax_rates_are_the_companys(invoice: Invoice, tax_rates: list[TaxRate]) -> None:
    """Tax codes belong to a company's country: a line can only carry one of the issuing company's."""
    others = sorted({str(tax) for tax in tax_rates if tax.company_id != invoice.company_id})
    if others:
        raise ValidationError(
            f"{', '.join(others)} {'is' if len(others) == 1 else 'are'} another company's tax "
            f"{'rate' if len(others) == 1 else 'rates'}: choose {invoice.company}'s tax rates for its lines."
        )


def _check_issuable(invoice: Invoice) -> None:
    problems = []
    lines = list(invoice.lines.select_related("rate", "tax_rate"))
    if not lines:
        problems.append("Add at least one line before issuing.")
    for line in lines:
        if not line.rate.revenue_account_code:
            problems.append(
                f"Line {line.position}: the rate “{line.rate}” has no revenue account code. Give it one under Rates."
            )
        if line.tax_rate.company_id != invoice.company_id:
            problems.append(
                f"Line {line.position}: the tax rate “{line.tax_rate}” is another company's: "
                f"choose one of {invoice.company}'s tax rates."
            )
    if not invoice.billing_account.code:
        problems.append("The billing account has no billing account code.")
    if invoice.is_credit_note and invoice.credited_invoice_id:
        problems.extend(_credited_invoice_problems(invoice))
    if problems:
        raise ValidationError(problems)


def _credited_invoice_problems(credit_note: Invoice) -> list[str]:
    credited = credit_note.credited_invoice
    problems = []
    if credited.status not in (Status.ISSUED, Status.PAID):
        problems.append(
            f"The credited invoice {credited} is {credited.get_status_display().lower()}: "
            "only an issued or paid invoice can be credited."
        )
    if credited.billing_account_id != credit_note.billing_account_id:
        problems.append(f"The credited invoice {credited} belongs to another billing account.")
    if credited.currency != credit_note.currency:
        problems.append(f"The credited invoice {credited} is in {credited.currency}, not {credit_note.currency}.")
    if credited.company_id != credit_note.company_id:
        problems.append(
            f"The credited invoice {credited} was issued by {credited.company}: its credit note must be too."
        )
    return problems


def _check_total(invoice: Invoice) -> None:
    if invoice.total < 0:
        remedy = (
            "Enter the amounts credited as positive figures."
            if invoice.is_credit_note
            else "Issue a credit note instead."
        )
        raise ValidationError(f"The total is negative ({invoice.total}). {remedy}")


def _take_next_number(company: Company, kind: str) -> str:
    # The sequence row stays locked until the issuing transaction commits, so two documents
    # issued at once get consecutive numbers and a rolled-back issue leaves no gap.
    DocumentSequence.objects.get_or_create(company=company, kind=kind)
    sequence = DocumentSequence.objects.select_for_update().get(company=company, kind=kind)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return document_number(company.prefix(kind), sequence.last_number)


def _announce_issued(invoice: Invoice) -> None:
    # The issue has committed: a failing listener must not turn it into an error for the user.
    # Each failure is logged with its traceback; add-ons keep their own records to catch up.
    for receiver, result in document_issued.send_robust(sender=Invoice, invoice=invoice):
        if isinstance(result, Exception):
            logger.error("document_issued receiver %r failed for %s", receiver, invoice, exc_info=result)
