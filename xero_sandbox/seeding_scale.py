"""Many organisations at once, for the benchmark and tests of several companies each with its own Xero
organisation: every one a full copy of the NZ demo organisation's books (chart of accounts, tax rates,
currencies, contacts), named "Scale Org 0001 Ltd", "Scale Org 0002 Ltd", ...

Written with one bulk INSERT a table, so that hundreds take seconds, not minutes.
"""

from django.db import transaction

from .models import Organisation
from .seed_data import ORGANISATIONS
from .seeding import fill_books, organisation_fields, seed_if_empty

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
    fill_books(created, SCALE_BOOKS, batch_size=BATCH_SIZE)
    by_name = {org.name: org for org in Organisation.objects.filter(name__in=names)}
    return [by_name[name] for name in names]


def _organisation(number: int, name: str) -> Organisation:
    return Organisation(**(organisation_fields(SCALE_BOOKS) | {"name": name, "short_code": f"!sc{number:04d}"}))
