"""Reads of the billing data for screens and add-ons."""

from django.db.models import Q, QuerySet

from .models import NUMBER_PREFIXES, BillingAccount, DocumentSequence, Invoice, document_number


def billing_account_list(*, search: str = "") -> QuerySet[BillingAccount]:
    accounts = BillingAccount.objects.all()
    if search:
        accounts = accounts.filter(Q(code__icontains=search) | Q(name__icontains=search) | Q(email__icontains=search))
    return accounts


def invoice_list(
    *, search: str = "", status: str = "", kind: str = "", billing_account: BillingAccount | None = None
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.select_related("billing_account")
    if search:
        invoices = invoices.filter(
            Q(number__icontains=search)
            | Q(reference__icontains=search)
            | Q(billing_account__name__icontains=search)
            | Q(billing_account__code__icontains=search)
        )
    if status:
        invoices = invoices.filter(status=status)
    if kind:
        invoices = invoices.filter(kind=kind)
    if billing_account:
        invoices = invoices.filter(billing_account=billing_account)
    return invoices


def document_numbering(*, kind: str) -> tuple[str, int]:
    """The prefix the platform numbers this kind of document with, and the last number it gave."""
    sequence = DocumentSequence.objects.filter(kind=kind).first()
    return (sequence.prefix, sequence.last_number) if sequence else (NUMBER_PREFIXES[kind], 0)


def next_document_number(*, kind: str) -> str:
    """The number the next document of this kind would get if issued now (another may take it first)."""
    prefix, last = document_numbering(kind=kind)
    return document_number(prefix, last + 1)
