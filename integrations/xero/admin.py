from django.contrib import admin

from integrations.xero.models import XeroConnection


@admin.register(XeroConnection)
class XeroConnectionAdmin(admin.ModelAdmin):
    """Read-only: links are made and ended from the Add Ons page. The tokens are never shown."""

    list_display = ["tenant_name", "status", "linked_by", "linked_at", "last_success_at"]
    exclude = ["access_token_encrypted", "refresh_token_encrypted", "chart_of_accounts", "tax_rates"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
