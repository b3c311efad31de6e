"""Reads of the billing data for screens and add-ons."""

from django.db.models import Q, QuerySet

from .models import BillingAccount, Invoice


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
