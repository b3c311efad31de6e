"""What a freight finance team's documents cost in Xero (issue 18): `python -m bench.finance`; see bench/README.md.

1. PDF rendering, in the bench's own process: `--render` issued invoices rendered one after another
   (`billing.pdf.document_pdf`): milliseconds per document, median and p95.
2. `--invoices` invoices with tracking (every line's service line and its document's branch), a branding
   theme (half the customers have one chosen, the others take the organisation's default) and their PDFs
   attached with "include online", to the NZ organisation under Xero's limits (60 calls a minute, 5 at once,
   5,000 a day) on a sandbox minute of `--minute-seconds`: time until all are sent and until all PDFs are
   attached (sandbox minutes), the calls by endpoint, the workers' memory while they render.
3. `--backfill` earlier documents (issued while the add-on was off), put in the outbox on request
   (`backfill.backfill_start`) and sent at the same pace: time, calls, the request's memory, the workers'
   memory (idle, peak, after) and the documents Xero holds twice (0).

Its own database (bench_finance) and Redis number (8) unless DATABASE_URL / REDIS_URL say otherwise.
Writes bench/results/finance.{json,md}.
"""

import argparse
import statistics
import sys
import time
import tracemalloc

from . import config as bench_config
from .processes import BenchError
from .run import _step, run_and_report, start_django

FINANCE_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_finance"
FINANCE_REDIS = "redis://127.0.0.1:6379/8"
SERVICES = ("Sea", "Air", "Warehousing")  # the catalogue's three rates, in order
BRANCHES = ("Auckland", "Wellington", "Christchurch")
PREMIUM = "Freight Premium"  # the NZ organisation's second branding theme (Standard is its default)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.finance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=3000, help="invoices sent with tracking, branding and PDFs")
    parser.add_argument("--backfill", type=int, default=20000, help="earlier documents sent on request")
    parser.add_argument("--render", type=int, default=200, help="PDFs rendered in the bench's process for timing")
    parser.add_argument("--minute-seconds", type=float, default=12.0, help="real seconds in a sandbox minute")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="pool processes per worker")
    parser.add_argument("--timeout", type=float, default=3600.0, help="real seconds allowed for each phase")
    parser.add_argument("--results", default="finance", help="results file name in bench/results/")
    args = parser.parse_args(argv)
    if min(args.invoices, args.backfill, args.render) < 1 or args.minute_seconds <= 0:
        parser.error("need invoices, earlier documents, renders and a positive minute")
    return args


def limits(args) -> dict:
    return {**bench_config.LIMITS_ON, "MINUTE_SECONDS": args.minute_seconds}


def platform_pace(args) -> dict:
    """Xero's 60 a minute for the platform's pace, on the sandbox's compressed minute."""
    return {"XERO_CALLS_PER_MINUTE": str(round(60 * 60.0 / args.minute_seconds))}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    config = bench_config.load_on_own_stores(
        ["--workers", str(args.workers), "--concurrency", str(args.concurrency)],
        database=FINANCE_DATABASE,
        redis=FINANCE_REDIS,
        results=args.results,
    )
    return run_and_report(lambda: run(args, config), config, sys.modules[__name__])


def run(args, config) -> dict:
    started = time.time()
    print(f"bench finance: {vars(args)}; logs in {config.run_dir}", flush=True)
    start_django(config)
    from . import machine, phases

    bench = phases.Run(config)
    results = {
        "command": "python -m bench.finance " + " ".join(sys.argv[1:]),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine.describe(config),
        "settings": {
            **vars(args),
            "sandbox_limits": limits(args),
            "platform_pace": platform_pace(args),
            "celery": f"{config.workers} prefork workers × {config.concurrency} processes, plus beat",
        },
    }
    _step("link over OAuth (sandbox limits off); tracking mapped, service lines, branches and branding themes")
    bench.serve(bench_config.LIMITS_OFF)
    bench.link()
    accounts = _finance_data(bench)
    _step(
        f"{args.invoices} invoices with tracking, branding themes and PDFs (sandbox minute {args.minute_seconds:g} s)"
    )
    results["attach"] = _send_with_pdfs(args, bench, accounts)
    _step(f"PDF rendering: {args.render} invoices, one after another, in the bench's process")
    results["render"] = _render(args)
    _step(f"{args.backfill} earlier documents, issued with the add-on off, sent on request")
    results["backfill"] = _backfill(args, bench, accounts)
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["duration_seconds"] = round(time.time() - started)
    return results


def _finance_data(bench) -> list:
    """Service lines on the catalogue's rates, branches as the accounts' defaults, tracking mapped as the set-up
    check maps it, and the premium theme chosen for every other account."""
    from billing.models import BillingAccount, Branch, Rate
    from integrations.xero.models import XeroConnection
    from integrations.xero.outbound import branding, tracking

    for rate, service in zip(bench.catalogue.rates, SERVICES, strict=True):
        Rate.objects.filter(pk=rate.pk).update(service=service)
    branches = [Branch.objects.get_or_create(name=name)[0] for name in BRANCHES]
    connection = XeroConnection.objects.current()
    tracking.tracking_choose(connection=connection, for_service="Service", for_branch="Branch")
    accounts = bench.new_accounts("F")
    for index, account in enumerate(accounts):
        account.default_branch = branches[index % len(branches)]
    BillingAccount.objects.bulk_update(accounts, ["default_branch"])
    (premium,) = [theme["id"] for theme in connection.branding_themes if theme["name"] == PREMIUM]
    for account in accounts[::2]:
        branding.theme_choose(billing_account=account, connection=connection, theme_id=premium)
    return accounts


def _drafts(bench, accounts, label: str, count: int) -> list[int]:
    """Drafts written in bulk (workload.drafts), each with its account's default branch as a draft saved in
    the app would have."""
    from django.db.models import OuterRef, Subquery

    from billing.models import BillingAccount, Invoice

    from . import workload

    pks = workload.drafts(
        label=label,
        accounts=accounts,
        count=count,
        order="random",
        lines=bench.config.lines_per_invoice,
        catalogue=bench.catalogue,
        rng=bench.rng,
    )
    default_branch = BillingAccount.objects.filter(pk=OuterRef("billing_account_id")).values("default_branch")
    Invoice.objects.filter(pk__in=pks).update(branch=Subquery(default_branch[:1]))
    return pks


def _send_with_pdfs(args, bench, accounts) -> dict:
    from django.utils import timezone

    from integrations.xero.models import PdfAttachment, SyncRecord

    from . import figures, workload
    from .workers import Workers

    pks = _drafts(bench, accounts, "A", args.invoices)
    bench.serve(limits(args))
    crew = Workers(bench.config, {**bench.env, **platform_pace(args), "XERO_ATTACH_PDFS": "true"}).start()
    try:
        time.sleep(2)
        rss_idle = crew.rss()
        workload.issue_all(pks, threads=bench.config.issue_threads)
        bench.autovacuum.now()
        record_ids = list(SyncRecord.objects.filter(invoice_id__in=pks).values_list("pk", flat=True))
        released_at, released = timezone.now(), time.monotonic()
        crew.release()
        watch = _watcher(bench, crew)
        sent = figures.wait_until_settled(record_ids, timeout=args.timeout, watch=watch, label="sent")
        sent_seconds = time.monotonic() - released
        attached = _wait_until_attached(record_ids, timeout=args.timeout, watch=watch)
        attached_seconds = time.monotonic() - released
        rss_after = crew.rss()
    finally:
        crew.stop()
    pdf_states = _counts(PdfAttachment.objects.filter(record_id__in=record_ids), "state")
    return {
        "invoices": len(pks),
        "all_sent": sent,
        "states": figures.states(record_ids),
        "minutes_until_all_sent": _minutes(sent_seconds, args),
        "pdf_states": pdf_states,
        "all_attached": attached,
        "minutes_until_all_attached": _minutes(attached_seconds, args),
        "seconds_until_all_attached": round(attached_seconds, 1),
        "calls": figures.api_calls(bench.org, released_at, timezone.now()),
        "carried": _carried(pks),
        "rss_mb": {"idle": rss_idle, "after": rss_after, "peak_pool": round(crew.rss_peak["pool"], 1)},
    }


def _wait_until_attached(record_ids, *, timeout: float, watch) -> bool:
    from integrations.xero.models import PdfAttachment

    deadline, last_print = time.monotonic() + timeout, 0.0
    waiting = PdfAttachment.objects.filter(record_id__in=record_ids, state=PdfAttachment.State.WAITING)
    while time.monotonic() < deadline:
        watch()
        if not waiting.exists():
            return True
        if time.monotonic() - last_print > 15:
            print(f"  PDFs waiting: {waiting.count()}", flush=True)
            last_print = time.monotonic()
        time.sleep(1)
    return not waiting.exists()


def _carried(pks: list[int]) -> dict:
    """What Xero holds of the invoices sent: lines with both tracking options, and documents per theme."""
    from integrations.xero.models import SyncRecord
    from xero_sandbox.models import Document, DocumentLine

    ids = SyncRecord.objects.filter(invoice_id__in=pks, state="sent").values("xero_id")
    documents = Document.objects.filter(document_id__in=ids)
    lines = DocumentLine.objects.filter(document__in=documents)
    tracked = sum(1 for entries in lines.values_list("tracking", flat=True) if entries and len(entries) == 2)
    return {
        "lines": lines.count(),
        "lines_with_service_and_branch": tracked,
        "documents_by_theme": _counts(documents, "branding_theme__name"),
    }


def _render(args) -> dict:
    from billing.models import Invoice
    from billing.pdf import document_pdf

    documents = list(Invoice.objects.exclude(status=Invoice.Status.DRAFT).order_by("pk")[: args.render])
    timings, sizes = [], []
    tracemalloc.start()
    for document in documents:
        started = time.perf_counter()
        sizes.append(len(document_pdf(document)))
        timings.append((time.perf_counter() - started) * 1000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    timings.sort()
    return {
        "documents": len(documents),
        "ms_median": round(statistics.median(timings), 1),
        "ms_p95": round(timings[int(0.95 * (len(timings) - 1))], 1),
        "ms_max": round(timings[-1], 1),
        "kb_median": round(statistics.median(sizes) / 1024, 1),
        "python_heap_peak_mb": round(peak / 1e6, 1),
    }


def _backfill(args, bench, accounts) -> dict:
    from django.db.models import Count
    from django.test.utils import override_settings
    from django.utils import timezone

    from integrations.xero.models import SyncRecord, XeroConnection
    from integrations.xero.outbound import backfill
    from xero_sandbox.models import Document

    from . import figures, workload
    from .workers import Workers

    pks = _drafts(bench, accounts, "E", args.backfill)
    with override_settings(XERO_ENABLED=False):  # issued before the add-on was on: no outbox rows
        issue_seconds = workload.issue_all(pks, threads=bench.config.issue_threads)
    if SyncRecord.objects.filter(invoice_id__in=pks).exists():
        raise BenchError("Documents issued with the add-on off have outbox rows: the backfill would find none")
    crew = Workers(bench.config, {**bench.env, **platform_pace(args)}).start()
    try:
        time.sleep(2)
        rss_idle = crew.rss()
        tracemalloc.start()
        started = time.monotonic()
        request = backfill.backfill_start(
            connection=XeroConnection.objects.current(), issued_from=timezone.localdate(), user=None
        )
        start_seconds = time.monotonic() - started
        heap_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        record_ids = list(SyncRecord.objects.filter(backfill=request).values_list("pk", flat=True))
        released_at, released = timezone.now(), time.monotonic()
        crew.release()
        settled = figures.wait_until_settled(
            record_ids, timeout=args.timeout, watch=_watcher(bench, crew), label="earlier"
        )
        seconds = time.monotonic() - released
        rss_after = crew.rss()
    finally:
        crew.stop()
    progress = backfill.backfill_progress(request)
    numbers = Document.objects.filter(organisation=bench.org, type="ACCREC").values("number")
    twice = numbers.annotate(n=Count("pk")).filter(n__gt=1).count()
    return {
        "documents": len(pks),
        "issue_seconds": round(issue_seconds, 1),
        "outbox_rows_written": request.documents,
        "start_seconds": round(start_seconds, 2),
        "start_python_heap_peak_mb": round(heap_peak / 1e6, 1),
        "all_settled": settled,
        "progress": {"sent": progress.sent, "matched": progress.matched, "failed": progress.failed},
        "minutes_until_all_sent": _minutes(seconds, args),
        "seconds_until_all_sent": round(seconds, 1),
        "calls": figures.api_calls(bench.org, released_at, timezone.now()),
        "numbers_xero_holds_twice": twice,
        "rss_mb": {"idle": rss_idle, "after": rss_after, "peak_pool": round(crew.rss_peak["pool"], 1)},
    }


def _watcher(bench, crew):
    def watch():
        crew.sample()
        bench.web.check_alive()
        bench.autovacuum.tick()

    return watch


def _counts(queryset, field: str) -> dict:
    from django.db.models import Count

    return {str(key): n for key, n in queryset.values_list(field).annotate(n=Count("pk")).order_by(field)}


def _minutes(seconds: float, args) -> float:
    return round(seconds / args.minute_seconds, 1)


# --- the report (run_and_report's `write` and `console`) -------------------------------------------------
def goals(results: dict) -> list[dict]:
    from .companies_figures import _row

    attach, render, earlier = results["attach"], results["render"], results["backfill"]
    counted = attach["calls"]["counted"]
    return [
        _row(
            f"{attach['invoices']} invoices with tracking, branding and PDFs: sandbox minutes until all sent; "
            "until all PDFs attached",
            f"{attach['minutes_until_all_sent']}; {attach['minutes_until_all_attached']} ({counted} calls counted, "
            f"{attach['calls']['too_many_requests']} answered 429)",
            "all sent and attached, within Xero's 5,000 calls a day",
            attach["all_sent"] and attach["all_attached"] and counted <= 5000,
        ),
        _row(
            "PDF rendering per invoice, ms (median; p95)",
            f"{render['ms_median']}; {render['ms_p95']} ({render['documents']} invoices)",
            "printed",
            True,
        ),
        _row(
            f"{earlier['documents']} earlier documents sent on request: sandbox minutes; calls; held twice in Xero",
            f"{earlier['minutes_until_all_sent']}; {earlier['calls']['counted']}; "
            f"{earlier['numbers_xero_holds_twice']}",
            "all sent, 0 twice",
            earlier["all_settled"]
            and earlier["progress"]["sent"] == earlier["documents"]
            and earlier["numbers_xero_holds_twice"] == 0,
        ),
    ]


def write(results: dict, name: str):
    from . import report

    return report.write_with(results, name, goals=goals, markdown=markdown)


def console(results: dict) -> str:
    from . import report

    return report.console_lines(goals(results))


def markdown(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    attach, render, earlier = results["attach"], results["render"], results["backfill"]
    rows = "\n".join(
        f"| {row['figure']} | {row['measured']} | {row['goal']} | {'yes' if row['met'] else '**no**'} |"
        for row in results["goals"]
    )
    return f"""# What a freight finance team's documents cost in Xero (issue 18)

Run {results["started_at"]}, {results["duration_seconds"]} s in all, with `{results["command"]}`. Code:
{m["git_commit"] or "not recorded"}{" plus uncommitted changes" if m["working_tree_changed"] else ""}.
Machine: {m["cpus"]} CPUs ({m["arch"]}, {m["cpu_model"]}), {m["memory_gb"]} GB; PostgreSQL {m["postgresql"]},
Redis {m["redis"]}, Python {m["python"]}. Load average at the start {m["load_average_at_start"]}, at the end
{m.get("load_average_at_end")}.
Settings: the NZ organisation under Xero's limits (60 calls a minute, 5 at once, 5,000 a day) on a sandbox minute
of {s["minute_seconds"]:g} real seconds, the platform's pace told the same; {s["celery"]}.

| figure | measured | goal | met |
|---|---|---|---|
{rows}

## Invoices with tracking, branding themes and PDFs

- {attach["invoices"]} invoices, {attach["carried"]["lines"]} lines in Xero, of which
  {attach["carried"]["lines_with_service_and_branch"]} carry both tracking options (service line, branch);
  documents per branding theme: {attach["carried"]["documents_by_theme"]}.
- Sent: {attach["states"]} after {attach["minutes_until_all_sent"]} sandbox minutes; PDFs {attach["pdf_states"]} after
  {attach["minutes_until_all_attached"]} sandbox minutes ({attach["seconds_until_all_attached"]} real seconds).
- Calls: {attach["calls"]["by_endpoint"]}.
- Worker memory (MB): idle {attach["rss_mb"]["idle"]}, after {attach["rss_mb"]["after"]}, pool peak while rendering
  and attaching {attach["rss_mb"]["peak_pool"]}.

## PDF rendering (the bench's own process)

{render["documents"]} invoices of two lines: median {render["ms_median"]} ms, p95 {render["ms_p95"]} ms,
max {render["ms_max"]} ms; median size {render["kb_median"]} kB; Python heap peak {render["python_heap_peak_mb"]} MB.

## Earlier documents sent on request

- {earlier["documents"]} documents issued with the add-on off ({earlier["issue_seconds"]} s to issue); the request
  wrote {earlier["outbox_rows_written"]} outbox rows in {earlier["start_seconds"]} s, Python heap peak
  {earlier["start_python_heap_peak_mb"]} MB.
- Sent: {earlier["progress"]} after {earlier["minutes_until_all_sent"]} sandbox minutes
  ({earlier["seconds_until_all_sent"]} real seconds); numbers Xero holds twice: {earlier["numbers_xero_holds_twice"]}.
- Calls: {earlier["calls"]["by_endpoint"]}.
- Worker memory (MB): idle {earlier["rss_mb"]["idle"]}, after {earlier["rss_mb"]["after"]}, pool peak
  {earlier["rss_mb"]["peak_pool"]}.
"""


if __name__ == "__main__":
    sys.exit(main())
