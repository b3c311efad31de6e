"""Fill an empty sandbox: the app registered as the platform's settings describe it, and the orgs."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import books
from .models import (
    Account,
    App,
    BrandingTheme,
    Contact,
    Document,
    ExchangeRate,
    Organisation,
    TaxRate,
    TrackingCategory,
    TrackingOption,
)
from .seed_data import ARCHIVED_ACCOUNTS, NZ_DEMO_CONTACTS, NZ_DOCUMENTS, ORGANISATIONS


def register_app() -> App:
    """The platform's Xero app, matching XERO_CLIENT_ID/SECRET, redirect URI and webhook settings."""
    app, _ = App.objects.update_or_create(
        client_id=settings.XERO_CLIENT_ID,
        defaults={
            "name": "CocoonOPS",
            "client_secret": settings.XERO_CLIENT_SECRET,
            "redirect_uris": settings.XERO_REDIRECT_URI,
            "webhook_url": settings.XERO_WEBHOOK_URL,
            "webhook_key": settings.XERO_WEBHOOK_KEY,
        },
    )
    return app


@transaction.atomic
def seed_organisation(spec: dict) -> Organisation:
    org = Organisation.objects.create(**organisation_fields(spec))
    fill_books([org], spec)
    Contact.objects.bulk_create(
        Contact(
            organisation=org,
            name=name,
            account_number=number,
            tax_number=tax_number,
            tax_number_type=tax_number_type,
            is_customer=True,
        )
        for name, number, tax_number, tax_number_type in spec.get("taxed_contacts", [])
    )
    return org


def organisation_fields(spec: dict) -> dict:
    return {
        "name": spec["name"],
        "country_code": spec["country_code"],
        "base_currency": spec["base_currency"],
        "currencies": spec.get("currencies", []),
        "short_code": spec["short_code"],
    }


def fill_books(orgs: list[Organisation], spec: dict, *, batch_size: int = 2000) -> None:
    """The chart of accounts (with the archived accounts), tax rates, contacts, exchange rates, tracking
    categories with their options and branding themes of `spec`, in each of these organisations: one bulk
    INSERT a table, so that hundreds of organisations take seconds."""
    accounts = [("ACTIVE", row) for row in spec["accounts"]] + [("ARCHIVED", row) for row in ARCHIVED_ACCOUNTS]
    Account.objects.bulk_create(
        (
            Account(
                organisation=org,
                code=code,
                name=name,
                type=type_,
                account_class=class_,
                system_account=system,
                tax_type=tax_type,
                status=status,
            )
            for org in orgs
            for status, (code, name, type_, class_, system, tax_type) in accounts
        ),
        batch_size=batch_size,
    )
    tax_rates = [("ACTIVE", row) for row in spec["tax_rates"]]
    tax_rates += [("ARCHIVED", row) for row in spec.get("archived_tax_rates", [])]
    TaxRate.objects.bulk_create(
        (
            TaxRate(
                organisation=org,
                name=name,
                tax_type=tax_type,
                effective_rate=percent,
                status=status,
                display_tax_rate=percent,
                can_apply_to_revenue=revenue,
                can_apply_to_expenses=expenses,
            )
            for org in orgs
            for status, (name, tax_type, percent, revenue, expenses) in tax_rates
        ),
        batch_size=batch_size,
    )
    Contact.objects.bulk_create(
        (
            Contact(organisation=org, name=name, account_number=number, status=status, is_customer=customer)
            for org in orgs
            for name, number, status, customer in spec["contacts"]
        ),
        batch_size=batch_size,
    )
    today = timezone.localdate()
    ExchangeRate.objects.bulk_create(
        (
            ExchangeRate(organisation=org, currency_code=code, date=today, rate=Decimal(rate))
            for org in orgs
            for code, rate in spec.get("exchange_rates", {}).items()
        ),
        batch_size=batch_size,
    )
    _fill_tracking(orgs, spec.get("tracking_categories", []), batch_size=batch_size)
    BrandingTheme.objects.bulk_create(
        (
            BrandingTheme(organisation=org, name=name, sort_order=sort_order)
            for org in orgs
            for name, sort_order in spec.get("branding_themes", [])
        ),
        batch_size=batch_size,
    )


def _fill_tracking(orgs: list[Organisation], categories: list, *, batch_size: int) -> None:
    """The categories, then their options: bulk_create gives the categories their keys (PostgreSQL and
    SQLite both return them), in the order they were given."""
    created = TrackingCategory.objects.bulk_create(
        [
            TrackingCategory(organisation=org, name=name, status=status)
            for org in orgs
            for name, status, _ in categories
        ],
        batch_size=batch_size,
    )
    options_of = [options for _ in orgs for _, _, options in categories]
    TrackingOption.objects.bulk_create(
        (
            TrackingOption(category=category, name=name, status=status)
            for category, options in zip(created, options_of, strict=True)
            for name, status in options
        ),
        batch_size=batch_size,
    )


def seed_if_empty() -> list[Organisation]:
    """Register the app (always brought in line with settings) and create the orgs if there are none."""
    register_app()
    if Organisation.objects.exists():
        return []
    return [seed_organisation(spec) for spec in ORGANISATIONS]


def seed_demo_documents(org: Organisation, documents: list = NZ_DOCUMENTS) -> None:
    """What a person typed into Xero by hand before linking: a customer (a trap for the set-up check) and a
    few invoices to pay or void in the demo."""
    Contact.objects.bulk_create(
        Contact(organisation=org, name=name, account_number=number, status=status, is_customer=customer)
        for name, number, status, customer in NZ_DEMO_CONTACTS
    )
    rates = {rate.tax_type: rate.effective_rate for rate in org.tax_rates.all()}
    today = timezone.localdate()
    for account_number, number, status, lines in documents:
        fields = {
            "contact": org.contacts.get(account_number=account_number),
            "number": number,
            "status": status,
            "date": today,
            "due_date": today + datetime.timedelta(days=20),
            "currency_code": org.base_currency,
        }
        inputs = [
            books.LineInput(
                description=description,
                quantity=Decimal(quantity),
                unit_amount=Decimal(unit),
                account_code=account,
                tax_type=tax_type,
                tax_rate=rates[tax_type],
            )
            for description, quantity, unit, account, tax_type in lines
        ]
        books.document_create(
            organisation=org, type=Document.INVOICE, data=books.DocumentInput(fields=fields, lines=inputs)
        )
