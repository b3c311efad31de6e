"""The billing data a run issues: billing accounts (some already customers in Xero), drafts, issues.

Drafts are written in bulk (their creation is not what is measured); every issue goes through
`billing.services.invoice_issue`, so the outbox row and the Celery task are the application's own.
"""

import random
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.models import BillingAccount, Company, Invoice, InvoiceLine, Rate, TaxRate
from billing.signals import document_issued, document_issuing
from xero_sandbox.models import Contact, Organisation
from xero_sandbox.seeding import seed_if_empty

USERNAME = "bench-admin"


@dataclass(frozen=True)
class Catalogue:
    rates: tuple[Rate, ...]
    tax_rate: TaxRate


def seed_sandbox() -> Organisation:
    seed_if_empty()
    return Organisation.objects.get(short_code="!nz001")  # the demo NZ organisation, not a scale copy


def admin_user(password: str):
    user = get_user_model().objects.create_user(USERNAME, password=password, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_xero_addon"))
    return user


def catalogue() -> Catalogue:
    """Rates whose revenue codes, and a tax rate whose code, the NZ organisation accepts."""
    rates = (
        Rate.objects.create(label="Sea freight", revenue_account_code="SEA|200"),
        Rate.objects.create(label="Air freight", revenue_account_code="AIR|200"),
        Rate.objects.create(label="Warehousing", revenue_account_code="WH|260"),
    )
    return Catalogue(
        rates=rates, tax_rate=TaxRate.objects.create(name="GST 15%", rate=Decimal("15"), accounting_code="OUTPUT2")
    )


def new_accounts(
    *, label: str, count: int, known_share: float, org: Organisation, rng: random.Random, code_length: int = 0
) -> list[BillingAccount]:
    """`count` billing accounts none of which has sent anything yet; a share is already a Xero contact.
    `code_length`: codes of exactly that many characters (the unique part first, then filler)."""
    accounts = BillingAccount.objects.bulk_create(
        BillingAccount(
            code=_code(f"B{label}{i:05d}", code_length),
            name=f"Bench {label} Customer {i:05d} Ltd",
            currency="NZD",
            email=f"accounts@b{label.lower()}{i:05d}.example",
            payment_terms_days=20,
        )
        for i in range(1, count + 1)
    )
    known = rng.sample(accounts, round(count * known_share))
    Contact.objects.bulk_create(  # typed into Xero by hand before the platform was linked
        Contact(organisation=org, name=account.name, account_number=account.code, status="ACTIVE", is_customer=True)
        for account in known
    )
    return accounts


def _code(unique: str, length: int) -> str:
    if not length:
        return unique
    if len(unique) >= length:
        raise ValueError(f"A code of {length} characters cannot hold {unique!r} and stay unique.")
    return (unique + "-" + "FREIGHTCUSTOMER" * 4)[:length]


def drafts(
    *,
    label: str,
    accounts: list[BillingAccount],
    count: int,
    order: str,
    lines: int,
    catalogue: Catalogue,
    rng: random.Random,
) -> list[int]:
    """Draft invoice ids in the order they will be issued."""
    chosen = [accounts[i % len(accounts)] if order == "round-robin" else rng.choice(accounts) for i in range(count)]
    company = Company.objects.default()
    invoices = Invoice.objects.bulk_create(
        Invoice(
            kind=Invoice.Kind.INVOICE,
            company=company,
            billing_account=account,
            currency="NZD",
            reference=f"CONS-{label}-{i:06d}",
        )
        for i, account in enumerate(chosen, start=1)
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            rate=rng.choice(catalogue.rates),
            tax_rate=catalogue.tax_rate,
            description=f"Consignment {invoice.reference}, leg {position}",
            quantity=Decimal(rng.randint(1, 400)) / 4,
            unit_price=Decimal(rng.randint(500, 90000)) / 100,
        )
        for invoice in invoices
        for position in range(1, lines + 1)
    )
    return [invoice.pk for invoice in invoices]


def issue_all(pks: list[int], *, threads: int) -> float:
    """Issue every draft, one transaction each, as people pressing Issue at once would (several
    threads, each with its own database connection); return the seconds taken."""
    started = time.monotonic()
    _stop_issuing.clear()
    with ThreadPoolExecutor(threads) as pool:
        try:
            list(pool.map(_issue_each, [pks[i::threads] for i in range(threads)]))
        except BaseException:
            _stop_issuing.set()  # the run is stopping (an error, Ctrl-C, SIGTERM): let the threads end now
            raise
    return time.monotonic() - started


_stop_issuing = threading.Event()


def _issue_each(pks: list[int]) -> None:
    try:
        for pk in pks:
            if _stop_issuing.is_set():
                return
            services.invoice_issue(invoice=Invoice(pk=pk))
    except BaseException:
        _stop_issuing.set()
        raise
    finally:
        connections.close_all()  # this thread's own connection


def issue_cost(*, on: list[int], off: list[int]) -> dict:
    """Queries and milliseconds of `invoice_issue` with the Xero add-on on, and with billing alone
    (no listener on its issue signals, as if the add-on were not installed), alternately."""
    samples = {True: [], False: []}
    for enabled_pk, alone_pk in zip(on, off, strict=True):
        samples[True].append(_one_issue(enabled_pk))
        with _billing_alone():
            samples[False].append(_one_issue(alone_pk))
    return {
        "on": _summary(samples[True]),
        "off": _summary(samples[False]),
        "added_queries_sql": _added_queries(samples[True][-1], samples[False][-1]),
    }


def _one_issue(pk: int) -> dict:
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        services.invoice_issue(invoice=Invoice(pk=pk))
        elapsed = time.perf_counter() - started
    return {"ms": elapsed * 1000, "sql": [query["sql"] for query in captured.captured_queries]}


def oversized_form_cost(*, account_pk: int, posts: int = 50) -> dict:
    """What a crafted new-invoice POST asking for 2,000 line forms (and holding none) costs the server:
    through the whole middleware stack, in this process, signed in as a finance user who may add invoices."""
    from django.test import Client

    finance, _ = get_user_model().objects.get_or_create(username="bench-finance", defaults={"is_staff": True})
    finance.user_permissions.add(Permission.objects.get(codename="add_invoice"))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(finance)
    data = {"billing_account": account_pk, "reference": "X", "form-TOTAL_FORMS": "2000", "form-INITIAL_FORMS": "0"}
    samples, statuses = [], set()
    for _ in range(posts):
        started = time.perf_counter()
        statuses.add(client.post("/invoices/new/", data).status_code)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "posts": posts,
        "statuses": sorted(statuses),
        "ms_median": round(statistics.median(samples), 2),
        "ms_max": round(max(samples), 2),
    }


@contextmanager
def _billing_alone():
    """No receiver on billing's issue signals for a moment: the baseline the add-on adds to."""
    saved = {signal: signal.receivers for signal in (document_issuing, document_issued)}
    for signal in saved:
        signal.receivers = []
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in saved.items():
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


def _summary(samples: list[dict]) -> dict:
    milliseconds = sorted(sample["ms"] for sample in samples)
    return {
        "issues": len(samples),
        "queries_median": statistics.median(len(sample["sql"]) for sample in samples),
        "ms_median": round(statistics.median(milliseconds), 2),
        "ms_p90": round(milliseconds[int(0.9 * (len(milliseconds) - 1))], 2),
    }


def _added_queries(on: dict, off: dict) -> dict:
    """The statements one issue runs only with the add-on on, and only with billing alone (their shapes)."""
    on_shapes, off_shapes = [statement_shape(sql) for sql in on["sql"]], [statement_shape(sql) for sql in off["sql"]]
    return {
        "only_on": [s for s in on_shapes if s not in off_shapes],
        "only_off": [s for s in off_shapes if s not in on_shapes],
    }


def statement_shape(sql: str) -> str:
    """A statement without its values, shortened: two issues' statements compare equal when alike."""
    shape = re.sub(r"\b\d+(\.\d+)?\b", "?", re.sub(r"'[^']*'", "?", sql))
    return " ".join(shape.split()[:10])


class AutovacuumStandIn:
    """ANALYZE every so often while the sync runs, where autovacuum is off (as on this project's CI
    PostgreSQL). A live database keeps fresh planner statistics through autovacuum; without them
    PostgreSQL plans the sync's joins as if the tables were empty (see bench/README.md)."""

    def __init__(self, every_seconds: float):
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            autovacuum_on = cursor.fetchone()[0] == "on"
        self.every = 0.0 if autovacuum_on else every_seconds
        self.last = 0.0
        self.runs = 0

    def now(self) -> None:
        if self.every:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            self.last, self.runs = time.monotonic(), self.runs + 1

    def tick(self) -> None:
        if self.every and time.monotonic() - self.last >= self.every:
            self.now()
