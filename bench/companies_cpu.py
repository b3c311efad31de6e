"""Worker CPU per document as idle links pile up around a few busy ones (issue 17): the same work measured
three times in one run of `bench.companies`, with the sandbox's limits and the platform's paces off so that
only the work counts:

1. one company linked, sending every document (the single-organisation figure);
2. `--companies` companies linked, each sending its share, one batch of 50 each, to its share of customers;
3. the same companies and work again, once `--idle` more companies are linked and have nothing to send.

Every run sends the same number of documents to the same number of customers new to their organisations
(so the contact look-ups and creations are as alike as the split allows). Worker CPU: utime + stime of every
worker process and its pool from release until all are settled (bench.workers), ÷ documents.
"""

import time
from collections import Counter

from . import config as bench_config
from .processes import BenchError

DOCUMENTS_PER_COMPANY = 50  # one full batch (Xero takes 50 documents a call)
CUSTOMERS_PER_COMPANY = 5
GOAL_WITHIN = 0.10  # within 10 % of the single-organisation figure


def measure(fleet, *, label: str, companies: int) -> dict:
    """Issue the work while the workers are held, release them, and time their CPU until all is settled.
    `companies`: how many of the fleet's first companies share the work (1: the first sends all of it)."""
    from integrations.xero.models import SyncRecord, XeroConnection

    from . import figures, workload
    from .phases import UNPACED_WORKER_ENV
    from .workers import Workers

    busy = fleet.args.companies
    documents, customers = busy * DOCUMENTS_PER_COMPANY, busy * CUSTOMERS_PER_COMPANY
    fleet.serve(bench_config.sandbox_env(bench_config.LIMITS_OFF))
    pks = _drafts(fleet, label, companies, documents // companies, customers // companies)
    crew = Workers(fleet.config, {**fleet.env, **UNPACED_WORKER_ENV}).start()
    try:
        workload.issue_all(pks, threads=fleet.config.issue_threads)
        fleet.autovacuum.now()
        record_ids = list(SyncRecord.objects.filter(invoice_id__in=pks).values_list("pk", flat=True))
        calls_from, cpu_before, started = _now(), crew.cpu_seconds(), time.monotonic()
        crew.release()
        complete = figures.wait_until_settled(
            record_ids, timeout=fleet.args.timeout, watch=lambda: _watch(fleet, crew), label=label
        )
        cpu, seconds = crew.cpu_seconds() - cpu_before, time.monotonic() - started
    finally:
        crew.stop()
    states = figures.states(record_ids)
    if not complete or states.get("sent", 0) != len(pks):
        raise BenchError(f"Worker CPU run {label!r}: not every document was sent: {states}")
    return {
        "companies_linked": XeroConnection.objects.active().count(),
        "companies_sending": companies,
        "documents": len(pks),
        "customers": customers,
        "seconds_to_send_all": round(seconds, 1),
        "worker_cpu_seconds": round(cpu, 2),
        "ms_per_document": round(cpu * 1000 / len(pks), 3),
        "calls": _calls(calls_from),
    }


def figures_within_goal(runs: dict) -> tuple[float | None, bool]:
    """How much more CPU a document took with the idle links than with one organisation linked."""
    one, idle = runs.get("one_linked"), runs.get("idle_linked")
    if not one or not idle:
        return None, False
    change = idle["ms_per_document"] / one["ms_per_document"] - 1
    return round(change, 3), change <= GOAL_WITHIN


def _drafts(fleet, label: str, companies: int, per_company: int, customers: int) -> list[int]:
    from .companies import _accounts

    pks = []
    for index in range(companies):
        accounts = _accounts(f"{label}{index:04d}", customers)
        pks += fleet._company_drafts(index, accounts, per_company)
    return pks


def _watch(fleet, crew) -> None:
    crew.sample()
    fleet.web.check_alive()
    fleet.autovacuum.tick()


def _now():
    from django.utils import timezone

    return timezone.now()


def _calls(since) -> dict:
    from xero_sandbox.models import RequestLog

    from .companies_figures import _endpoint

    rows = RequestLog.objects.filter(at__gte=since, app__isnull=False).values_list("method", "path")
    by_endpoint = Counter(f"{method} {_endpoint(path)}" for method, path in rows)
    return {"total": sum(by_endpoint.values()), "by_endpoint": dict(sorted(by_endpoint.items()))}
