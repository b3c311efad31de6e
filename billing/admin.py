from django.contrib import admin

from .models import (
    BillingAccount,
    Branch,
    Company,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Rate,
    RateCompanyCode,
    TaxRate,
)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "base_currency", "tax_registration", "invoice_prefix", "credit_note_prefix"]
    search_fields = ["name", "tax_registration"]


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class RateCompanyCodeInline(admin.TabularInline):
    model = RateCompanyCode
    extra = 0


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "email", "currency", "payment_terms_days"]
    search_fields = ["code", "name", "email"]
    list_filter = ["currency"]


@admin.register(Rate)
class RateAdmin(admin.ModelAdmin):
    list_display = ["label", "category", "service", "cost_account_code", "revenue_account_code"]
    search_fields = ["label", "cost_account_code", "revenue_account_code"]
    list_filter = ["category"]
    inlines = [RateCompanyCodeInline]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["name", "rate", "accounting_code", "company"]
    search_fields = ["name", "accounting_code"]
    list_filter = ["company"]


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(admin.ModelAdmin):
    list_display = ["company", "kind", "last_number"]
    readonly_fields = ["last_number"]

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["position", "rate", "description", "quantity", "unit_price", "tax_rate", "net_amount", "tax_amount"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Read-only here: drafts are edited and issued through the billing screens and services,
    which compute totals, number documents and announce issues."""

    list_display = ["__str__", "kind", "billing_account", "status", "currency", "total", "issue_date"]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["number", "reference", "billing_account__code", "billing_account__name"]
    list_select_related = ["billing_account"]
    inlines = [InvoiceLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceLine)
class InvoiceLineAdmin(admin.ModelAdmin):
    list_display = ["invoice", "position", "rate", "description", "quantity", "unit_price", "net_amount"]
    list_select_related = ["invoice", "rate"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
