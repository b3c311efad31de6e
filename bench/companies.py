"""Many companies, each linked to its own sandbox organisation, under an app-wide limit that binds
(issue 17): `python -m bench.companies [--companies 50] [--backlog 1000]`; see bench/README.md.

One company has a backlog of documents issued while the workers are held; once they are released, every
other company issues its few documents one at a time at random moments over a window. The sandbox's
minute can be compressed (`--minute-seconds`; real by default, see bench/README.md for why) and the
platform's paces are scaled to it, so that a sandbox minute's 60 calls per organisation and the app's
`--app-limit` are what both sides count.
Writes bench/results/companies.{json,md}; the figures are computed in `companies_figures`.
"""

import argparse
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from . import companies_cpu, processes
from . import config as bench_config
from .processes import BenchError
from .run import _step, run_and_report, start_django

COMPANIES_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_companies"
COMPANIES_REDIS = "redis://127.0.0.1:6379/9"
ORG_MINUTE_LIMIT = 60  # Xero's per organisation, in sandbox minutes
LINKING_PEOPLE = 4  # companies linked at once, each by a person in their own session
LINKS_PER_CONSENT = 50  # idle companies' organisations granted by one consent
APP_LIMIT_PER_COMPANY = 12  # default app-wide limit: 600 a minute for 50 companies, a fifth of their sum


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.companies", description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=50, help="companies, each with its own organisation")
    parser.add_argument("--backlog", type=int, default=1000, help="documents the big company has waiting (N_big)")
    parser.add_argument("--small-documents", type=int, default=20, help="documents each other company issues")
    parser.add_argument("--small-accounts", type=int, default=5, help="customers each other company bills")
    parser.add_argument("--minute-seconds", type=float, default=60.0, help="real seconds in a sandbox minute")
    parser.add_argument("--app-limit", type=int, help="app-wide calls a sandbox minute (default 12 × companies)")
    parser.add_argument(
        "--issue-window", type=float, default=1.0, help="sandbox minutes over which the small companies issue"
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    # 8, not the other benches' 4: a call waits, asleep, for its organisation's next slot (a second apart at 60 a
    # minute), and a small company's first batch makes three in a row (contacts looked up, created, documents);
    # 8 processes spent the first seconds after release asleep in those waits (80 % of the budget used, 94 % with 16).
    parser.add_argument("--concurrency", type=int, default=8, help="pool processes per worker")
    parser.add_argument("--timeout", type=float, default=900.0, help="real seconds allowed for everything to be sent")
    parser.add_argument(
        "--idle", type=int, default=950, help="companies linked with nothing to send, for the worker CPU run (0: none)"
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--results", default="companies", help="results file name in bench/results/")
    args = parser.parse_args(argv)
    args.app_limit = args.app_limit or APP_LIMIT_PER_COMPANY * args.companies
    if args.companies < 2 or args.backlog < 1 or args.small_documents < 1 or args.minute_seconds <= 0:
        parser.error("need at least 2 companies, a backlog, small documents and a positive minute")
    return args


def bench_configuration(args) -> bench_config.BenchConfig:
    """The shared bench's settings (ports, secrets, services), on this run's own database and Redis."""
    return bench_config.load_on_own_stores(
        ["--workers", str(args.workers), "--concurrency", str(args.concurrency)],
        database=COMPANIES_DATABASE,
        redis=COMPANIES_REDIS,
        results=args.results,
    )


def sandbox_limits(args) -> dict:
    return {
        "MINUTE_LIMIT": ORG_MINUTE_LIMIT,
        "DAY_LIMIT": 5000,
        "CONCURRENT_LIMIT": 5,
        "APP_MINUTE_LIMIT": args.app_limit,
        "MINUTE_SECONDS": args.minute_seconds,
    }


def platform_pace(args) -> dict:
    """The platform's per-minute figures on the sandbox's compressed minute: a real minute holds
    60 / minute_seconds of them (as chaos does for its 10 s minute)."""
    scale = 60.0 / args.minute_seconds
    return {
        "XERO_CALLS_PER_MINUTE": str(round(ORG_MINUTE_LIMIT * scale)),
        "XERO_APP_CALLS_PER_MINUTE": str(round(args.app_limit * scale)),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    config = bench_configuration(args)
    from . import companies_figures

    return run_and_report(lambda: run(args, config), config, companies_figures)


def run(args, config) -> dict:

    started = time.time()
    print(f"bench companies: {vars(args)}; logs in {config.run_dir}", flush=True)
    env = start_django(config)
    from . import machine

    results = {
        "command": "python -m bench.companies " + " ".join(sys.argv[1:]),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine.describe(config),
        "settings": {
            **vars(args),
            "sandbox_limits": sandbox_limits(args),
            "platform_pace": platform_pace(args),
            "web": f"gunicorn gthread, {config.web_workers} workers × {config.web_threads} threads",
            "celery": f"{config.workers} prefork workers × {config.concurrency} processes, plus beat",
        },
    }
    _step(f"{args.companies} companies, organisations and links (sandbox limits off while linking)")
    fleet = Fleet(args, config, env)
    cpu = {}
    if args.idle:
        fleet.link(fleet.pairs()[:1])
        _step("worker CPU per document, one company linked (limits off)")
        cpu["one_linked"] = companies_cpu.measure(fleet, label="ONE", companies=1)
    results["link"] = fleet.link_all()
    _step(
        f"the big company's {args.backlog} documents, then {args.companies - 1} companies issuing "
        f"{args.small_documents} each (sandbox minute {args.minute_seconds:g} s, app limit {args.app_limit})"
    )
    results["phase"] = fleet.phase()
    if args.idle:
        _step(f"worker CPU per document, {args.companies} companies linked, all sending (limits off)")
        cpu["all_busy"] = companies_cpu.measure(fleet, label="BSY", companies=args.companies)
        _step(f"{args.idle} more companies linked with nothing to send ({LINKS_PER_CONSENT} to a consent)")
        results["idle_link"] = fleet.link_idle(args.idle)
        _step(f"worker CPU per document, the same {args.companies} sending among {len(fleet.companies)} linked")
        cpu["idle_linked"] = companies_cpu.measure(fleet, label="IDL", companies=args.companies)
    results["worker_cpu"] = cpu
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["duration_seconds"] = round(time.time() - started)
    return results


class Fleet:
    """The companies, their organisations and billing data, and the processes serving them."""

    def __init__(self, args, config, env: dict):
        from xero_sandbox.seeding_scale import seed_scale_organisations

        from . import workload

        self.args, self.config, self.env = args, config, env
        self.rng = random.Random(args.seed)
        self.web: processes.Service | None = None
        self.web_env: dict = {}
        self.linked_at = 0.0  # monotonic clock
        self.orgs = seed_scale_organisations(count=args.companies)
        self.password = config.secrets["SECRET_KEY"][:24]
        workload.admin_user(self.password)
        self.companies = _companies(args.companies)
        self.rates, self.taxes = _catalogue(self.companies)
        self.autovacuum = workload.AutovacuumStandIn(config.analyze_every)

    def serve(self, extra_env: dict) -> None:
        """gunicorn with these settings (restarted only when they change)."""
        if self.web and self.web_env == extra_env:
            return
        if self.web:
            self.web.stop()
        self.web, self.web_env = processes.gunicorn(self.config, {**self.env, **extra_env}), extra_env
        processes.wait_for_http(self.web, f"http://127.0.0.1:{self.config.port}/login/")

    def pairs(self) -> list:
        return list(zip(self.companies, self.orgs, strict=True))

    def link(self, pairs: list) -> None:
        """Each company by its own consent (LINK TO MY ACCOUNT on its card)."""
        from . import oauth_flow

        def link_each(browser, share):
            for company, org in share:
                oauth_flow.link_company(browser, tenant_id=str(org.tenant_id), company=company.pk)

        self._by_people(link_each, pairs)

    def link_all(self) -> dict:
        """Link every company not linked yet."""
        from integrations.xero.models import XeroConnection

        started = time.monotonic()
        linked = set(XeroConnection.objects.active().values_list("company_id", flat=True))
        self.link([(company, org) for company, org in self.pairs() if company.pk not in linked])
        return {
            "method": "the OAuth flow over HTTP, once per company (LINK TO MY ACCOUNT on its card, consent, "
            f"callback), {LINKING_PEOPLE} at once",
            "links": self._check_linked(),
            "seconds": round(time.monotonic() - started, 1),
        }

    def link_idle(self, count: int) -> dict:
        """`count` more companies, each with its own organisation, linked LINKS_PER_CONSENT to a consent (the
        choose page gives each organisation its company): they have nothing to send."""
        from xero_sandbox.seeding_scale import seed_scale_organisations

        from . import oauth_flow

        started = time.monotonic()
        first = len(self.companies)
        self.orgs = seed_scale_organisations(count=first + count)
        self.companies += _new_companies(range(first + 1, first + count + 1))
        idle = self.pairs()[first:]
        consents = [idle[i : i + LINKS_PER_CONSENT] for i in range(0, len(idle), LINKS_PER_CONSENT)]

        def link_groups(browser, share):
            for group in share:
                oauth_flow.link_companies(browser, {str(org.tenant_id): company.pk for company, org in group})

        self._by_people(link_groups, consents)
        linked_seconds = time.monotonic() - started
        self._load_reference_data()
        return {
            "method": f"the OAuth flow over HTTP, one consent granting {LINKS_PER_CONSENT} organisations, then the "
            f"choose page giving each its company, {LINKING_PEOPLE} people at once; each consent's first "
            "organisation's reference data read while linking, the others' by the workers",
            "links": self._check_linked(),
            "seconds_to_link": round(linked_seconds, 1),
            "seconds_until_reference_data_read": round(time.monotonic() - started, 1),
        }

    def _load_reference_data(self) -> None:
        """Let the workers read the reference data that linking queued for them, the paces off as while linking."""
        from integrations.xero.models import XeroConnection

        from .phases import UNPACED_WORKER_ENV
        from .workers import Workers

        crew = Workers(self.config, {**self.env, **UNPACED_WORKER_ENV}).start()
        try:
            crew.release()
            deadline = time.monotonic() + self.args.timeout
            while XeroConnection.objects.active().filter(reference_data_loaded_at__isnull=True).exists():
                if time.monotonic() > deadline:
                    raise BenchError("The idle links' reference data was not read before the timeout")
                crew.check_alive()
                time.sleep(1)
        finally:
            crew.stop()

    def _by_people(self, work, items: list) -> None:
        """`work(browser, share)` for LINKING_PEOPLE people at once, each signed in in their own session."""
        from . import oauth_flow, workload

        self.serve(bench_config.sandbox_env(bench_config.LIMITS_OFF))

        def person(share):
            browser = oauth_flow.signed_in(f"http://127.0.0.1:{self.config.port}", workload.USERNAME, self.password)
            work(browser, share)

        shares = [share for share in (items[i::LINKING_PEOPLE] for i in range(LINKING_PEOPLE)) if share]
        with ThreadPoolExecutor(LINKING_PEOPLE) as pool:
            list(pool.map(person, shares))
        self.linked_at = time.monotonic()

    def _check_linked(self) -> int:
        from integrations.xero.models import XeroConnection

        linked = XeroConnection.objects.active().filter(reference_data_loaded_at__isnull=False).count()
        if linked != len(self.companies):
            raise BenchError(f"Only {linked} of {len(self.companies)} links are active:\n{self.web.log_tail()}")
        return linked

    def phase(self) -> dict:
        from django.utils import timezone

        from . import companies_figures, workload
        from .workers import Workers

        pace_env = platform_pace(self.args)
        self.serve({**bench_config.sandbox_env(sandbox_limits(self.args)), **pace_env})
        big_pks, small_schedule = self._drafts()
        crew = Workers(self.config, {**self.env, **pace_env}).start()
        phase_started = timezone.now()
        try:
            issue_seconds = workload.issue_all(big_pks, threads=self.config.issue_threads)
            self.autovacuum.now()
            self._let_the_links_calls_age()
            released_at = timezone.now()
            crew.release()
            issuer = _ScheduledIssuer(small_schedule, threads=self.config.issue_threads)
            issuer.start()
            complete = self._wait(crew, issuer, issued_since=phase_started)
            finished_at = timezone.now()
        finally:
            _ScheduledIssuer.stop_all()
            crew.stop()
        return {
            "big_backlog_issue_seconds": round(issue_seconds, 1),
            "complete": complete,
            "released_at": released_at,
            "finished_at": finished_at,
            "seconds": round((finished_at - released_at).total_seconds(), 1),
            **companies_figures.measure(
                args=self.args,
                big=self.companies[0],
                issued_since=phase_started,
                released_at=released_at,
                finished_at=finished_at,
            ),
        }

    def _let_the_links_calls_age(self) -> None:
        """Release only once the links' calls have left the sandbox's app-wide window (a sandbox minute): the
        platform's pace never saw them (they were made with the limits off), and the phase should start
        with the app's minute empty. (Without the wait, 10 companies under 120 a minute met 3 appminute 429s.)"""
        wait = self.linked_at + self.args.minute_seconds - time.monotonic()
        if wait > 0:
            print(f"  waiting {wait:.0f} s for the links' calls to leave the sandbox's minute", flush=True)
            time.sleep(wait)

    def _drafts(self) -> tuple[list[int], list[tuple[float, int]]]:
        """The big company's backlog (in issue order), and each small document with its moment (real seconds
        after release), spread at random over the issue window."""
        big_accounts = _accounts("BIG", max(1, min(500, self.args.backlog // 10)))
        pool = _accounts("SML", max(self.args.small_accounts, 50))
        big = self._company_drafts(0, big_accounts, self.args.backlog)
        window = self.args.issue_window * self.args.minute_seconds
        schedule = []
        for index in range(1, len(self.companies)):
            accounts = self.rng.sample(pool, self.args.small_accounts)
            pks = self._company_drafts(index, accounts, self.args.small_documents)
            schedule += [(self.rng.uniform(0, window), pk) for pk in pks]
        return big, sorted(schedule)

    def _company_drafts(self, index: int, accounts, count: int) -> list[int]:
        from billing.models import Invoice, InvoiceLine

        company, tax = self.companies[index], self.taxes[index]
        invoices = Invoice.objects.bulk_create(
            Invoice(
                kind=Invoice.Kind.INVOICE,
                company=company,
                billing_account=self.rng.choice(accounts),
                currency="NZD",
                reference=f"CONS-{index:03d}-{i:06d}",
            )
            for i in range(1, count + 1)
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                rate=self.rng.choice(self.rates),
                tax_rate=tax,
                description=f"Consignment {invoice.reference}, leg {position}",
                quantity=Decimal(self.rng.randint(1, 400)) / 4,
                unit_price=Decimal(self.rng.randint(500, 90000)) / 100,
            )
            for invoice in invoices
            for position in (1, 2)
        )
        return [invoice.pk for invoice in invoices]

    def _wait(self, crew, issuer, *, issued_since) -> bool:
        from integrations.xero.models import SyncRecord

        records = SyncRecord.objects.filter(invoice__issued_at__gte=issued_since)
        deadline, last_print = time.monotonic() + self.args.timeout, 0.0
        while time.monotonic() < deadline:
            crew.sample()
            self.web.check_alive()
            issuer.check()
            self.autovacuum.tick()
            pending = records.filter(state__in=("waiting", "sending")).count()
            if issuer.done() and pending == 0:
                return True
            if time.monotonic() - last_print > 15:
                sent = records.filter(state="sent").count()
                print(f"  issued {issuer.issued} of {issuer.total} small; sent {sent}, pending {pending}", flush=True)
                last_print = time.monotonic()
            time.sleep(1)
        return False


def _companies(count: int):
    """The default company (the big one) and count - 1 more."""
    from billing.models import Company

    return [Company.objects.default(), *_new_companies(range(2, count + 1))]


def _new_companies(numbers: range):
    """Companies numbered so, each with its own number prefixes, in number order."""
    from billing.models import Company

    return Company.objects.bulk_create(
        Company(
            name=f"Bench Company {i:03d} Ltd",
            country="NZ",
            base_currency="NZD",
            invoice_prefix=f"I{i:03d}-",
            credit_note_prefix=f"C{i:03d}-",
        )
        for i in numbers
    )


def _catalogue(companies):
    """Rates whose revenue codes the scale organisations accept (shared), and each company's GST 15%."""
    from billing.models import Rate, TaxRate

    rates = [
        Rate.objects.create(label="Sea freight", revenue_account_code="SEA|200"),
        Rate.objects.create(label="Air freight", revenue_account_code="AIR|200"),
        Rate.objects.create(label="Warehousing", revenue_account_code="WH|260"),
    ]
    TaxRate.objects.bulk_create(
        TaxRate(company=company, name="GST 15%", rate=Decimal("15"), accounting_code="OUTPUT2") for company in companies
    )
    by_company = {tax.company_id: tax for tax in TaxRate.objects.all()}
    return rates, [by_company[company.pk] for company in companies]


def _accounts(label: str, count: int):
    from billing.models import BillingAccount

    return BillingAccount.objects.bulk_create(
        BillingAccount(
            code=f"{label}{i:05d}",
            name=f"Bench {label} Customer {i:05d} Ltd",
            currency="NZD",
            email=f"accounts@{label.lower()}{i:05d}.example",
            payment_terms_days=20,
        )
        for i in range(1, count + 1)
    )


class _ScheduledIssuer:
    """Issues documents at their moments (seconds after start) from a few threads, through
    `billing.services.invoice_issue`, as people pressing Issue in many companies would."""

    _stop = threading.Event()

    def __init__(self, schedule: list[tuple[float, int]], *, threads: int):
        self.schedule, self.threads, self.total, self.issued = schedule, threads, len(schedule), 0
        self.pool: ThreadPoolExecutor | None = None
        self.futures = []

    def start(self) -> None:
        _ScheduledIssuer._stop.clear()
        self.started = time.monotonic()
        self.pool = ThreadPoolExecutor(self.threads)
        shares = [self.schedule[i :: self.threads] for i in range(self.threads)]
        self.futures = [self.pool.submit(self._issue, share) for share in shares]

    def _issue(self, share) -> None:
        from django.db import connections

        from billing import services
        from billing.models import Invoice

        try:
            for due, pk in share:
                while not self._stop.is_set() and time.monotonic() < self.started + due:
                    time.sleep(min(0.05, max(0.0, self.started + due - time.monotonic())))
                if self._stop.is_set():
                    return
                services.invoice_issue(invoice=Invoice(pk=pk))
                self.issued += 1
        finally:
            connections.close_all()

    def done(self) -> bool:
        return all(future.done() for future in self.futures)

    def check(self) -> None:
        for future in self.futures:
            if future.done() and future.exception():
                raise BenchError(f"Issuing a small company's document failed: {future.exception()!r}")

    @classmethod
    def stop_all(cls) -> None:
        cls._stop.set()


if __name__ == "__main__":
    sys.exit(main())
