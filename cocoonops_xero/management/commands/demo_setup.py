import secrets
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing import services
from billing.models import BillingAccount, Branch, Invoice, Rate, TaxRate

DEMO_USERNAME = "demo"

ACCOUNTS = [
    {
        "code": "ACME01",
        "name": "Acme Imports Ltd",
        "email": "accounts@acme.example",
        "city": "Auckland",
        "country": "New Zealand",
    },
    {
        "code": "BLUEFIN",
        "name": "Bluefin Seafoods Ltd",
        "email": "ap@bluefin.example",
        "city": "Nelson",
        "country": "New Zealand",
    },
    {
        "code": "KIWI-TRADERS",
        "name": "Kiwi Traders",
        "email": "finance@kiwitraders.example",
        "city": "Wellington",
        "country": "New Zealand",
    },
    # Traps for the Xero set-up check (the sandbox's NZ books: README, "The seeded organisations"):
    # HARB-7 in Xero, differing only in case; PAC 02 in Xero, differing only by a space; a new customer.
    {
        "code": "harb-7",
        "name": "Harbour Logistics",
        "email": "accounts@harbour.example",
        "city": "Tauranga",
        "country": "New Zealand",
    },
    {
        "code": "PAC02",
        "name": "Pacific Shipping Co",
        "email": "ap@pacific.example",
        "city": "Napier",
        "country": "New Zealand",
    },
    {
        "code": "PORTSIDE",
        "name": "Portside Cold Storage Ltd",
        "email": "accounts@portside.example",
        "city": "Lyttelton",
        "country": "New Zealand",
    },
]
RATES = [
    {
        "label": "Sea freight",
        "category": Rate.Category.FREIGHT,
        "cost_account_code": "SEA|310",
        "revenue_account_code": "SEA|200",
        "service": "Sea",
    },
    {
        "label": "Air freight",
        "category": Rate.Category.FREIGHT,
        "cost_account_code": "AIR|310",
        "revenue_account_code": "AIR|200",
        "service": "Air",
    },
    {
        "label": "Cargo insurance",
        "category": Rate.Category.INSURANCE,
        "cost_account_code": "325",
        "revenue_account_code": "260",
    },
    {
        "label": "Demurrage",
        "category": Rate.Category.DEMURRAGE,
        "cost_account_code": "",
        "revenue_account_code": "DEM|260",
    },
    # Xero would reject these revenue codes: 250 is archived, 425 an expense account, 280 not in the chart.
    {
        "label": "Warehousing",
        "category": Rate.Category.OTHER,
        "cost_account_code": "",
        "revenue_account_code": "WH|250",
        "service": "Warehousing",
    },
    {
        "label": "Courier recharge",
        "category": Rate.Category.OTHER,
        "cost_account_code": "",
        "revenue_account_code": "425",
    },
    {"label": "Port handling", "category": Rate.Category.OTHER, "cost_account_code": "", "revenue_account_code": "280"},
]
# The branches documents are tracked by (Xero's demo organisation tracks them as "Branch"); ACME01's drafts
# take Auckland unless they name another.
BRANCHES = ["Auckland", "Wellington"]
DEFAULT_BRANCHES = {"ACME01": "Auckland"}
TAX_RATES = [
    {"name": "GST on income", "rate": Decimal("15"), "accounting_code": "OUTPUT2"},
    {"name": "Zero rated (exports)", "rate": Decimal("0"), "accounting_code": "ZERORATED"},
    # Xero would reject or differ: INPUT2 is for expenses, TAX001 archived, OUTPUT2 is 15% there.
    {"name": "GST on imports", "rate": Decimal("15"), "accounting_code": "INPUT2"},
    {"name": "GST (before 2010)", "rate": Decimal("12.5"), "accounting_code": "TAX001"},
    {"name": "GST on freight", "rate": Decimal("12.5"), "accounting_code": "OUTPUT2"},
]


def _kept_password() -> str:
    """The demo password, kept in VAR_DIR between runs (only its owner may read it), so that `make run`
    prints the same one and signs nobody out. Delete the file for a new one."""
    kept = Path(settings.VAR_DIR) / "demo-password"
    if kept.is_file() and kept.read_text().strip():
        return kept.read_text().strip()
    password = secrets.token_urlsafe(9)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.touch(mode=0o600)
    kept.write_text(password + "\n")
    return password


class Command(BaseCommand):
    help = "Create the demo staff user (printing its credentials) and a little demo data. DEBUG only."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup only runs with DEBUG on: it prints a password.")
        password = _kept_password()
        with transaction.atomic():
            self._reset_demo_user(password)
            self._create_demo_data()
        if apps.is_installed("xero_sandbox"):
            call_command("xero_sandbox_seed", stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"\n  Open http://127.0.0.1:8000 and sign in as  {DEMO_USERNAME} / {password}\n")
        )

    def _reset_demo_user(self, password: str) -> None:
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff = user.is_superuser = True
        if not user.check_password(password):  # the same password keeps everyone's session
            user.set_password(password)
        user.save()

    def _create_demo_data(self) -> None:
        for name in BRANCHES:
            Branch.objects.get_or_create(name=name)
        for account in ACCOUNTS:
            BillingAccount.objects.get_or_create(
                code=account["code"], defaults={**account, "currency": settings.BILLING_DEFAULT_CURRENCY}
            )
        for code, branch in DEFAULT_BRANCHES.items():
            BillingAccount.objects.filter(code=code, default_branch__isnull=True).update(
                default_branch=Branch.objects.get(name=branch)
            )
        for rate in RATES:
            Rate.objects.get_or_create(label=rate["label"], defaults=rate)
        for tax in TAX_RATES:
            TaxRate.objects.get_or_create(name=tax["name"], defaults=tax)
        if not Invoice.objects.exists():
            self._create_demo_draft()

    def _create_demo_draft(self) -> None:
        gst = TaxRate.objects.get(name="GST on income")
        services.invoice_save_draft(
            invoice=Invoice(
                billing_account=BillingAccount.objects.get(code="ACME01"),
                currency=settings.BILLING_DEFAULT_CURRENCY,
                reference="CONS-0001",
            ),
            lines=[
                services.LineInput(
                    rate=Rate.objects.get(label="Sea freight"),
                    description="LCL Shanghai → Auckland, 3.25 m³",
                    quantity=Decimal("3.25"),
                    unit_price=Decimal("185.50"),
                    tax_rate=gst,
                ),
                services.LineInput(
                    rate=Rate.objects.get(label="Cargo insurance"),
                    description="Cargo insurance",
                    quantity=Decimal("1"),
                    unit_price=Decimal("42.00"),
                    tax_rate=gst,
                ),
            ],
        )
