"""Reads of the billing data for screens and add-ons."""

from django.db.models import Q, QuerySet

from .models import BillingAccount, Company, DocumentSequence, Invoice, document_number


def billing_account_list(*, search: str = "") -> QuerySet[BillingAccount]:
    accounts = BillingAccount.objects.all()
    if search:
        accounts = accounts.filter(Q(code__icontains=search) | Q(name__icontains=search) | Q(email__icontains=search))
    return accounts


def several_companies() -> bool:
    """Whether pages should name companies: an installation with one company shows none anywhere."""
    return Company.objects.count() > 1


def invoice_list(
    *,
    search: str = "",
    status: str = "",
    kind: str = "",
    billing_account: BillingAccount | None = None,
    company: Company | None = None,
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.select_related("billing_account", "company")
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
    if company:
        invoices = invoices.filter(company=company)
    return invoices


def document_numbering(*, company: Company, kind: str) -> tuple[str, int]:
    """The prefix a company numbers this kind of document with, and the last number it gave."""
    sequence = DocumentSequence.objects.filter(company=company, kind=kind).first()
    return company.prefix(kind), sequence.last_number if sequence else 0


def next_document_number(*, company: Company, kind: str) -> str:
    """The number the company's next document of this kind would get if issued now (another may take it first)."""
    prefix, last = document_numbering(company=company, kind=kind)
    return document_number(prefix, last + 1)
