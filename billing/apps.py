from django.apps import AppConfig


class BillingConfig(AppConfig):
    """The platform's own billing data: billing accounts, rates, tax rates, invoices and credit notes."""

    name = "billing"
    verbose_name = "Billing"
