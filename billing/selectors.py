"""Reads of the billing data for screens and add-ons."""

from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from .models import MONEY, BillingAccount, Company, DocumentSequence, Invoice, Rate, document_number


def billing_account_list(*, search: str = "") -> QuerySet[BillingAccount]:
    accounts = BillingAccount.objects.all()
    if search:
        accounts = accounts.filter(Q(code__icontains=search) | Q(name__icontains=search) | Q(email__icontains=search))
    return accounts


def rate_list() -> QuerySet[Rate]:
    """Rates, each with `company_code_count`: how many companies book its revenue to an account of their own
    (counted in the list's one query)."""
    return Rate.objects.annotate(company_code_count=Count("company_codes"))


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


def invoices_open_to_credit(*, keep: int | None = None):
    """Issued invoices with something still due (paid, voided and fully credited ones left out), each with its
    `due` computed in the query; `keep` is the invoice a draft credit note names already, kept whatever it owes."""
    credited = Sum(
        "credit_notes__total",
        filter=Q(credit_notes__status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID]),
        default=Value(Decimal("0.00")),
    )
    money = DecimalField(max_digits=MONEY["max_digits"], decimal_places=MONEY["decimal_places"])
    due = ExpressionWrapper(F("total") - Coalesce(credited, Value(Decimal("0.00"))) - F("amount_paid"), money)
    return (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE)
        .annotate(due=due)
        .filter(Q(status=Invoice.Status.ISSUED, due__gt=0) | Q(pk=keep))
        .select_related("billing_account")
        .order_by("-issue_date", "-number")
    )
