"""Many organisations at once, for the benchmark and tests of several companies each with its own Xero
organisation: every one a full copy of the NZ demo organisation's books (chart of accounts, tax rates,
currencies, contacts), named "Scale Org 0001 Ltd", "Scale Org 0002 Ltd", ...

Written with one bulk INSERT a table, so that hundreds take seconds, not minutes.
"""

from django.db import transaction

from .models import Account, Contact, Organisation, TaxRate
from .seed_data import ARCHIVED_ACCOUNTS, ORGANISATIONS
from .seeding import seed_if_empty

SCALE_BOOKS = ORGANISATIONS[0]  # the NZ demo organisation's books
BATCH_SIZE = 2000


def scale_organisation_name(number: int) -> str:
    return f"Scale Org {number:04d} Ltd"


@transaction.atomic
def seed_scale_organisations(*, count: int) -> list[Organisation]:
    """Scale Org 0001 … `count`: created where missing, so that running it twice gives `count`, not twice
    as many. The demo organisations (and the platform's app) come first if the sandbox is empty.
    Returns all `count` organisations, in number order."""
    seed_if_empty()
    names = [scale_organisation_name(number) for number in range(1, count + 1)]
    existing = set(Organisation.objects.filter(name__in=names).values_list("name", flat=True))
    created = Organisation.objects.bulk_create(
        [_organisation(number, name) for number, name in enumerate(names, start=1) if name not in existing],
        batch_size=BATCH_SIZE,
    )
    _fill_books(created)
    by_name = {org.name: org for org in Organisation.objects.filter(name__in=names)}
    return [by_name[name] for name in names]


def _organisation(number: int, name: str) -> Organisation:
    return Organisation(
        name=name,
        country_code=SCALE_BOOKS["country_code"],
        base_currency=SCALE_BOOKS["base_currency"],
        currencies=SCALE_BOOKS.get("currencies", []),
        short_code=f"!sc{number:04d}",
    )


def _fill_books(orgs: list[Organisation]) -> None:
    accounts = [("ACTIVE", row) for row in SCALE_BOOKS["accounts"]] + [("ARCHIVED", row) for row in ARCHIVED_ACCOUNTS]
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
        batch_size=BATCH_SIZE,
    )
    tax_rates = [("ACTIVE", row) for row in SCALE_BOOKS["tax_rates"]]
    tax_rates += [("ARCHIVED", row) for row in SCALE_BOOKS.get("archived_tax_rates", [])]
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
        batch_size=BATCH_SIZE,
    )
    Contact.objects.bulk_create(
        (
            Contact(organisation=org, name=name, account_number=number, status=status, is_customer=customer)
            for org in orgs
            for name, number, status, customer in SCALE_BOOKS["contacts"]
        ),
        batch_size=BATCH_SIZE,
    )
