"""The sync page and the metrics scrape with a large history (issue 19): `python -m bench.sync_page`; see
bench/README.md.

Writes `--records` issued documents (default 100,000) of one company, every one with its sync record, all
within the page's 30 days (the worst case for its queries): nearly all sent, with a time from issue to Xero,
1 % failed for the reasons the page groups, 0.5 % waiting; a webhook event applied for a third of them; the
calls of the last 48 hours minute by minute. Then renders the page `--renders` times in this process
(Django's test client: the view, its queries and the template, no network) and scrapes /metrics as often:
milliseconds, median and p95, and the queries each makes.

Its own database (bench_sync_page) and Redis number (10) unless DATABASE_URL / REDIS_URL say otherwise.
Writes bench/results/sync_page.{json,md}.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
import uuid
from decimal import Decimal

from . import config as bench_config
from .processes import BenchError
from .run import _step, run_and_report, start_django

PAGE_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_sync_page"
PAGE_REDIS = "redis://127.0.0.1:6379/10"  # its own: the cold renders empty the cache
GOAL_MS = 200  # the page's median, in the issue's words
COLD_RENDERS = 5  # renders with the days' figures dropped from the cache first (the first of a day)
CHUNK = 5000
FAILURES = (  # the reasons a failed document's error names, as the sync writes them
    "Not sent: The rate “Air” has revenue account code 999, which is not in Xero's chart of accounts.",
    "Xero refused it: The TaxType code 'OUTPUT9' does not exist or cannot be used with this type of transaction.",
    "Xero says the Account Number ACME01 is already taken, but no contact it lists has it.",
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_page", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="issued documents, each with its sync record")
    parser.add_argument("--renders", type=int, default=50, help="timed renders of the page (and scrapes)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--results", default="sync_page", help="results file name in bench/results/")
    args = parser.parse_args(argv)
    if args.records < 1000 or args.renders < 5:
        parser.error("need at least 1,000 records and 5 renders")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    config = bench_config.load_on_own_stores([], database=PAGE_DATABASE, redis=PAGE_REDIS, results=args.results)
    return run_and_report(lambda: run(args, config), config, sys.modules[__name__])


def run(args, config) -> dict:
    started = time.time()
    print(f"bench sync page: {vars(args)}; logs in {config.run_dir}", flush=True)
    start_django(config)
    from . import machine

    results = {
        "command": "python -m bench.sync_page " + " ".join(sys.argv[1:]),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine.describe(config),
        "settings": vars(args),
    }
    _step(f"{args.records:,} documents with their sync records, webhook events and 48 hours of calls")
    results["data"] = History(args).write()
    _step(f"the sync page rendered {args.renders} times, /metrics scraped {args.renders} times")
    results["page"] = timed("/integrations/xero/sync/", args.renders)
    results["page_cold"] = timed("/integrations/xero/sync/", COLD_RENDERS, cold=True)
    results["metrics"] = timed("/metrics", args.renders, bearer=os.environ["METRICS_TOKEN"])
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["duration_seconds"] = round(time.time() - started)
    return results


class History:
    def __init__(self, args):
        self.args, self.rng, self.now = args, random.Random(args.seed), None

    def write(self) -> dict:
        from django.utils import timezone

        from billing.models import BillingAccount, Company

        self.now = timezone.now()
        company = Company.objects.default()
        self.connection = _connection(company)
        accounts = BillingAccount.objects.bulk_create(
            BillingAccount(code=f"CUST{i:04d}", name=f"Customer {i:04d} Ltd", currency="NZD") for i in range(500)
        )
        started = time.monotonic()
        states = {"sent": 0, "failed": 0, "waiting": 0}
        for first in range(0, self.args.records, CHUNK):
            for state in self._chunk(company, accounts, first, min(CHUNK, self.args.records - first)):
                states[state] += 1
            print(f"  {first + CHUNK:,} of {self.args.records:,}", flush=True)
        events = self._webhook_events(states["sent"] // 3)
        minutes = self._call_minutes()
        _analyze()
        return {
            "documents": self.args.records,
            "by_state": states,
            "webhook_events": events,
            "call_minutes": minutes,
            "seconds_to_write": round(time.monotonic() - started, 1),
        }

    def _chunk(self, company, accounts, first: int, count: int) -> list[str]:
        from billing.models import Invoice
        from integrations.xero.models import SyncRecord

        window = 30 * 86400 - 3600
        issued = [self.now - datetime.timedelta(seconds=self.rng.uniform(0, window)) for _ in range(count)]
        invoices = Invoice.objects.bulk_create(
            Invoice(
                kind=Invoice.Kind.INVOICE,
                company=company,
                number=f"INV-{first + i + 1:07d}",
                billing_account=self.rng.choice(accounts),
                currency="NZD",
                status=Invoice.Status.ISSUED,
                issue_date=at.date(),
                due_date=at.date() + datetime.timedelta(days=30),
                subtotal=Decimal("100.00"),
                tax_total=Decimal("15.00"),
                total=Decimal("115.00"),
                issued_at=at,
            )
            for i, at in enumerate(issued)
        )
        records = [self._record(invoice) for invoice in invoices]
        SyncRecord.objects.bulk_create(records)
        return [record.state for record in records]

    def _record(self, invoice):
        from integrations.xero.models import SyncRecord

        roll = self.rng.random()
        if roll < 0.005:
            return SyncRecord(invoice=invoice, state="waiting", next_attempt_at=self.now)
        if roll < 0.015:
            return SyncRecord(
                invoice=invoice, state="failed", error=self.rng.choice(FAILURES), last_failed_at=invoice.issued_at
            )
        took = datetime.timedelta(seconds=self.rng.lognormvariate(2.5, 1.0))  # a median of some 12 s
        return SyncRecord(
            invoice=invoice,
            state="sent",
            tenant_id=self.connection.tenant_id,
            xero_id=uuid.uuid4(),
            xero_number=invoice.number,
            xero_status="AUTHORISED",
            sent_at=min(invoice.issued_at + took, self.now),
        )

    def _webhook_events(self, count: int) -> int:
        from integrations.xero.models import WebhookEvent

        for first in range(0, count, CHUNK):
            events = []
            for _ in range(min(CHUNK, count - first)):
                at = self.now - datetime.timedelta(seconds=self.rng.uniform(60, 30 * 86400 - 3600))
                applied = at + datetime.timedelta(seconds=self.rng.lognormvariate(1.5, 0.8))
                events.append(
                    WebhookEvent(
                        tenant_id=self.connection.tenant_id,
                        category="INVOICE",
                        event_type="UPDATE",
                        resource_id=uuid.uuid4(),
                        event_date=at,
                        received_at=at,
                        state="applied",
                        processed_at=applied,
                    )
                )
            WebhookEvent.objects.bulk_create(events)
        return count

    def _call_minutes(self) -> int:
        from integrations.xero.models import CallMinute

        this_minute = self.now.replace(second=0, microsecond=0)
        rows = [
            CallMinute(
                tenant_id=self.connection.tenant_id,
                minute=this_minute - datetime.timedelta(minutes=back),
                calls=self.rng.randint(0, 58),
                rate_limited=int(self.rng.random() < 0.01),
            )
            for back in range(48 * 60)
        ]
        CallMinute.objects.bulk_create(rows)
        return len(rows)


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum would have after such a load (the bench's PostgreSQL runs without
    it): without them a join over 100,000 rows freshly written is planned as if the tables were empty."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _connection(company):
    from django.utils import timezone

    from integrations.xero.models import XeroConnection

    connection = XeroConnection(
        company=company,
        tenant_id=uuid.uuid4(),
        connection_id=uuid.uuid4(),
        tenant_name="Bench Freight NZ Ltd",
        country_code="NZ",
        base_currency="NZD",
        linked_at=timezone.now(),
    )
    connection.access_token = connection.refresh_token = "not-used"
    connection.save()
    return connection


def timed(path: str, renders: int, *, bearer: str = "", cold: bool = False) -> dict:
    """Milliseconds of each request (after two untimed ones), and the queries of one. `cold`: the cache is
    emptied before each, as for the first render of a day, when the past days' figures are read again."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    client = Client(headers={"Authorization": f"Bearer {bearer}"} if bearer else {}, SERVER_NAME="127.0.0.1")
    if not bearer:
        user, _ = get_user_model().objects.get_or_create(username="bench-finance-lead", defaults={"is_staff": True})
        user.user_permissions.add(Permission.objects.get(codename="view_invoice"))
        client.force_login(user)
    for _ in range(2):
        answer = client.get(path)
        if answer.status_code != 200:
            raise BenchError(f"{path} answered {answer.status_code}: {answer.content[:300]!r}")
    queries = []  # counted as executed (a capture of the query log would be cleared by the request's reconnect)

    def counted(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        answer = client.get(path)
    times = []
    for _ in range(renders):
        if cold:
            cache.clear()
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "renders": renders,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
        "queries": len(queries),
        "bytes": len(answer.content),
    }


# --- report ------------------------------------------------------------------------------------------------
def goals(results: dict) -> list[dict]:
    page, metrics, data = results["page"], results["metrics"], results["data"]
    return [
        {
            "figure": f"Sync page with {data['documents']:,} sync records, ms (median; p95; max), queries",
            "measured": _timing(page),
            "goal": f"median < {GOAL_MS}",
            "met": page["median_ms"] < GOAL_MS,
        },
        {
            "figure": "… its first render of a day (the past days' figures read, not cached), ms, queries",
            "measured": _timing(results["page_cold"]),
            "goal": "— (measured)",
            "met": True,
        },
        {
            "figure": "/metrics scrape, ms (median; p95; max), queries",
            "measured": _timing(metrics),
            "goal": "— (measured)",
            "met": True,
        },
    ]


def _timing(figures: dict) -> str:
    return f"{figures['median_ms']}; {figures['p95_ms']}; {figures['max_ms']}; {figures['queries']} queries"


def write(results: dict, name: str):
    from . import report

    return report.write_with(results, name, goals=goals, markdown=markdown)


def console(results: dict) -> str:
    from . import report

    return report.console_lines(goals(results))


def markdown(results: dict) -> str:
    from . import machine

    data = results["data"]
    rows = "\n".join(
        f"| {row['figure']} | {row['measured']} | {row['goal']} | {'yes' if row['met'] else '**no**'} |"
        for row in results["goals"]
    )
    return f"""# Sync page and metrics with a large history

`{results["command"]}`, started {results["started_at"]}, {results["duration_seconds"]} s.
Machine: {machine.summary(results["machine"])}

Data: {data["documents"]:,} issued documents of one company within the last 30 days, each with its sync record
({data["by_state"]}); {data["webhook_events"]:,} webhook events applied; {data["call_minutes"]:,} minutes of calls
(48 hours). Written in {data["seconds_to_write"]} s.

| figure | measured | goal | met |
|---|---|---|---|
{rows}

Each figure is {results["page"]["renders"]} requests ({COLD_RENDERS} for the first render of a day) through
Django's test client in the bench's own process (the view, its queries on PostgreSQL and the template; no network,
no gunicorn), after two untimed ones. A day that ended more than ten minutes ago no longer changes, so its figures
are kept in the cache (Redis here) and a render reads only today's; the first render of a day reads the 29 days
before it again.
"""


if __name__ == "__main__":
    sys.exit(main())
