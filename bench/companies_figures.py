"""The figures of `bench.companies`, read from the database afterwards, and its results files.

Times are given in the sandbox's minutes (real seconds ÷ `--minute-seconds`): the clock both the sandbox's
limits and the platform's paces run on. Calls are the sandbox's RequestLog rows from release to the end that
got past authentication (those count against its limits); a 429 says which limit in `rate_limit_problem`.
"""

import bisect
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

from . import report

STEADY = (0.1, 0.9)  # the steady part: between the 10th and the 90th percentile of documents sent
BUSY_ORGANISATIONS = 10  # "while 10 or more organisations have work"
SLICES_PER_MINUTE = 10  # the budget's use is counted over slices of a tenth of a sandbox minute
GOAL_P95_MINUTES = 2.0
GOAL_BUDGET_USED = 0.9


def measure(*, args, big, issued_since: datetime, released_at: datetime, finished_at: datetime) -> dict:
    minute = args.minute_seconds
    documents = _documents(issued_since)
    calls = _calls(released_at, finished_at)
    small = [d for d in documents if d["company"] != big.pk]
    big_docs = [d for d in documents if d["company"] == big.pk]
    sent_times = sorted(d["sent_at"] for d in documents if d["sent_at"])
    steady = _steady_window(sent_times)
    return {
        "documents": {"issued": len(documents), "states": dict(Counter(d["state"] for d in documents))},
        "small": _small_latency(small, minute),
        "big": _big_drain(big_docs, released_at, minute),
        "calls": _call_figures(calls, steady, minute, args.app_limit),
        "budget": _budget_use(documents, calls, released_at, finished_at, minute, args.app_limit, big),
        "steady_window": [str(moment) for moment in steady] if steady else None,
    }


def _documents(issued_since: datetime) -> list[dict]:
    """The phase's documents (not the worker CPU runs')."""
    from billing.models import Invoice

    rows = Invoice.objects.filter(issued_at__gte=issued_since).values_list(
        "company_id", "issued_at", "xero_sync__sent_at", "xero_sync__state", "xero_sync__error"
    )
    return [
        {"company": company, "issued_at": issued, "sent_at": sent, "state": state or "none", "error": error}
        for company, issued, sent, state, error in rows
    ]


def _calls(since: datetime, until: datetime) -> list[tuple]:
    from xero_sandbox.models import RequestLog

    log = RequestLog.objects.filter(at__gte=since, at__lte=until, app__isnull=False).order_by("at")
    return list(log.values_list("at", "organisation_id", "status_code", "rate_limit_problem", "method", "path"))


def _small_latency(small: list[dict], minute: float) -> dict:
    waits = sorted((d["sent_at"] - d["issued_at"]).total_seconds() / minute for d in small if d["sent_at"])
    by_company = defaultdict(list)
    for d in small:
        if d["sent_at"]:
            by_company[d["company"]].append((d["sent_at"] - d["issued_at"]).total_seconds() / minute)
    company_p95 = sorted(_percentile(sorted(values), 0.95) for values in by_company.values())
    return {
        "documents": len(small),
        "sent": len(waits),
        "not_sent": len(small) - len(waits),
        "errors": dict(Counter(d["error"][:200] for d in small if d["state"] == "failed").most_common(5)),
        "minutes_p50": _round(_percentile(waits, 0.5)),
        "minutes_p95": _round(_percentile(waits, 0.95)),
        "minutes_max": _round(waits[-1] if waits else None),
        "companies": len(by_company),
        "worst_company_p95_minutes": _round(company_p95[-1] if company_p95 else None),
        "companies_with_p95_within_goal": sum(1 for value in company_p95 if value <= GOAL_P95_MINUTES),
    }


def _big_drain(big: list[dict], released_at: datetime, minute: float) -> dict:
    sent = sorted(d["sent_at"] for d in big if d["sent_at"])
    if not sent:
        return {"documents": len(big), "sent": 0}
    seconds = (sent[-1] - released_at).total_seconds()
    return {
        "documents": len(big),
        "sent": len(sent),
        "drain_seconds": round(seconds, 1),
        "drain_minutes": _round(seconds / minute),
        "documents_per_minute": round(len(sent) / (seconds / minute)) if seconds > 0 else None,
    }


def _call_figures(calls: list[tuple], steady, minute: float, app_limit: int) -> dict:
    refused = [call for call in calls if call[2] == 429]
    in_steady = [call for call in refused if steady and steady[0] <= call[0] <= steady[1]]
    counted = [call for call in calls if call[2] != 429]
    by_org = defaultdict(list)
    for call in counted:
        by_org[call[1]].append(call[0])
    return {
        "total": len(calls),
        "counted": len(counted),
        "statuses": dict(sorted(Counter(call[2] for call in calls).items())),
        "by_endpoint": dict(Counter(f"{call[4]} {_endpoint(call[5])}" for call in counted).most_common(8)),
        "429_by_problem": dict(Counter(call[3] or "unknown" for call in refused)),
        "429_in_steady_part_by_problem": dict(Counter(call[3] or "unknown" for call in in_steady)),
        "app_busiest_minute": _busiest_window([call[0] for call in counted], minute),
        "app_limit": app_limit,
        "organisation_busiest_minute": max((_busiest_window(times, minute) for times in by_org.values()), default=0),
    }


def _budget_use(documents, calls, since, until, minute, app_limit, big) -> dict:
    """The app's calls per sandbox minute over its limit, in the slices of time when 10 or more organisations
    had work (a document issued and not yet in Xero), and in all."""
    slice_seconds = minute / SLICES_PER_MINUTE
    work = _work_intervals(documents)
    starts = _call_starts(calls)
    busy_slices, busy_calls, big_calls, organisations_max = 0, 0, 0, 0
    moment, slices = since.timestamp(), 0
    while moment < until.timestamp():
        busy = sum(1 for intervals in work.values() if _has_work(intervals, moment))
        organisations_max = max(organisations_max, busy)
        in_slice = starts[bisect.bisect_left(starts, (moment,)) : bisect.bisect_left(starts, (moment + slice_seconds,))]
        if busy >= BUSY_ORGANISATIONS:
            busy_slices += 1
            busy_calls += len(in_slice)
            big_calls += sum(1 for _, company in in_slice if company == big.pk)
        moment, slices = moment + slice_seconds, slices + 1
    budget = busy_slices / SLICES_PER_MINUTE * app_limit
    counted = len(starts)
    whole = slices / SLICES_PER_MINUTE * app_limit
    return {
        "minutes_with_10_or_more_busy": _round(busy_slices / SLICES_PER_MINUTE),
        "calls_then": busy_calls,
        "share_used_with_10_or_more_busy": round(busy_calls / budget, 3) if budget else None,
        "big_company_share_of_those_calls": round(big_calls / busy_calls, 3) if busy_calls else None,
        "most_organisations_with_work": organisations_max,
        "minutes_in_all": _round(slices / SLICES_PER_MINUTE),
        "share_used_in_all": round(counted / whole, 3) if whole else None,
    }


def _work_intervals(documents) -> dict:
    """Per company, the merged spans (epoch seconds) during which it had a document issued and not yet sent."""
    spans = defaultdict(list)
    for d in documents:
        end = d["sent_at"].timestamp() if d["sent_at"] else float("inf")
        spans[d["company"]].append((d["issued_at"].timestamp(), end))
    merged = {}
    for company, items in spans.items():
        items.sort()
        out = [list(items[0])]
        for start, end in items[1:]:
            if start <= out[-1][1]:
                out[-1][1] = max(out[-1][1], end)
            else:
                out.append([start, end])
        merged[company] = out
    return merged


def _has_work(intervals, moment: float) -> bool:
    index = bisect.bisect_right(intervals, [moment, float("inf")]) - 1
    return index >= 0 and intervals[index][0] <= moment < intervals[index][1]


def _call_starts(calls) -> list[tuple]:
    """(epoch seconds, company) of each counted call, in order."""
    from integrations.xero.models import XeroConnection
    from xero_sandbox.models import Organisation

    tenants = dict(Organisation.objects.values_list("pk", "tenant_id"))
    companies = dict(XeroConnection.objects.active().values_list("tenant_id", "company_id"))
    return sorted(
        (at.timestamp(), companies.get(tenants.get(organisation)) or 0)
        for at, organisation, status, *_ in calls
        if status != 429
    )


def _busiest_window(times: list[datetime], minute: float) -> int:
    """The most calls in any one sandbox minute (a sliding window starting at a call)."""
    stamps, best, start = sorted(t.timestamp() for t in times), 0, 0
    for end, moment in enumerate(stamps):
        while moment - stamps[start] >= minute:
            start += 1
        best = max(best, end - start + 1)
    return best


def _steady_window(sent_times):
    if len(sent_times) < 10:
        return None
    return tuple(sent_times[min(len(sent_times) - 1, int(share * len(sent_times)))] for share in STEADY)


def _endpoint(path: str) -> str:
    return path.split("/api.xro/2.0", 1)[-1].split("?")[0].split("/")[1] if "/api.xro/2.0/" in path else path


def _percentile(values: list[float], share: float):
    if not values:
        return None
    return values[min(len(values) - 1, int(share * len(values)))]


def _round(value):
    return None if value is None else round(value, 2)


# --- goals and results files -------------------------------------------------------------------
def goals(results: dict) -> list[dict]:
    return [*_phase_goals(results), *_cpu_goals(results)]


def _phase_goals(results: dict) -> list[dict]:
    phase, settings = results["phase"], results["settings"]
    small, calls, budget, big = phase["small"], phase["calls"], phase["budget"], phase["big"]
    app_429 = calls["429_by_problem"].get("appminute", 0)
    org_429_steady = sum(n for problem, n in calls["429_in_steady_part_by_problem"].items() if problem != "appminute")
    used = budget["share_used_with_10_or_more_busy"]
    return [
        _row(
            f"Small companies' documents, issue to Xero, in sandbox minutes (p50; p95; max) — "
            f"{small['sent']} of {small['documents']} sent",
            f"{small['minutes_p50']}; {small['minutes_p95']}; {small['minutes_max']} "
            f"(worst company's p95 {small['worst_company_p95_minutes']})",
            f"p95 ≤ {GOAL_P95_MINUTES:g}",
            small["minutes_p95"] is not None and small["minutes_p95"] <= GOAL_P95_MINUTES and not small["not_sent"],
        ),
        _row(
            f"The big company's {big['documents']} documents drained (sandbox minutes; real seconds)",
            f"{big.get('drain_minutes')}; {big.get('drain_seconds')} s ({big['sent']} sent)",
            "all sent",
            big["sent"] == big["documents"],
        ),
        _row(
            "App-wide 429s (whole phase); per-organisation 429s in the steady part",
            f"{app_429}; {org_429_steady} (all 429s: {calls['429_by_problem'] or 0})",
            "0; 0",
            app_429 == 0 and org_429_steady == 0,
        ),
        _row(
            f"App-wide budget used while {BUSY_ORGANISATIONS}+ organisations have work "
            f"({budget['minutes_with_10_or_more_busy']} sandbox minutes of it)",
            "n/a (never that many at once)" if used is None else f"{used:.0%} of {settings['app_limit']} a minute",
            f"≥ {GOAL_BUDGET_USED:.0%}",
            used is not None and used >= GOAL_BUDGET_USED,
        ),
        _row(
            "Most calls in any sandbox minute: the app; one organisation",
            f"{calls['app_busiest_minute']}; {calls['organisation_busiest_minute']}",
            f"≤ {settings['app_limit']}; ≤ 60",
            calls["app_busiest_minute"] <= settings["app_limit"] and calls["organisation_busiest_minute"] <= 60,
        ),
    ]


def _cpu_goals(results: dict) -> list[dict]:
    from .companies_cpu import GOAL_WITHIN, figures_within_goal

    runs = results.get("worker_cpu") or {}
    if "idle_linked" not in runs:
        return []
    one, busy, idle = runs["one_linked"], runs["all_busy"], runs["idle_linked"]
    change, met = figures_within_goal(runs)
    return [
        _row(
            f"Worker CPU per document, {idle['documents']} documents (limits off): one organisation linked; "
            f"{busy['companies_linked']} linked, all sending; {idle['companies_linked']} linked, "
            f"{idle['companies_linked'] - idle['companies_sending']} of them idle",
            f"{one['ms_per_document']} ms; {busy['ms_per_document']} ms; {idle['ms_per_document']} ms "
            f"({change:+.0%} on one organisation)",
            f"within {GOAL_WITHIN:.0%} of one organisation's",
            met,
        )
    ]


def _row(name, measured, goal, met) -> dict:
    return {"figure": name, "measured": measured, "goal": goal, "met": bool(met)}


def write(results: dict, name: str) -> list[Path]:
    return report.write_with(results, name, goals=goals, markdown=markdown)


def console(results: dict) -> str:
    return report.console_lines(goals(results))


def markdown(results: dict) -> str:
    m, s, phase = results["machine"], results["settings"], results["phase"]
    return "\n".join(
        [
            f"# Several companies under one app-wide limit — {s['companies']} organisations",
            "",
            f"Run {results['started_at']}, {results['duration_seconds']} s in all, with `{results['command']}`. "
            f"Code: {m['git_commit'] or 'not recorded'}"
            f"{' plus uncommitted changes' if m['working_tree_changed'] else ''}.",
            f"Machine: {m['cpus']} CPUs ({m['arch']}, {m['cpu_model']}), {m['memory_gb']} GB; PostgreSQL "
            f"{m['postgresql']}, Redis {m['redis']}, Python {m['python']}. Load average (1, 5, 15 min) at the start "
            f"{m['load_average_at_start']}, at the end {m.get('load_average_at_end')}.",
            f"Settings: a sandbox minute is {s['minute_seconds']:g} real seconds; per organisation 60 calls a "
            f"minute and 5 at once, app-wide {s['app_limit']} a minute; the platform told the same "
            f"({s['platform_pace']['XERO_CALLS_PER_MINUTE']} and {s['platform_pace']['XERO_APP_CALLS_PER_MINUTE']} "
            f"a real minute). One company with {s['backlog']} documents waiting, {s['companies'] - 1} issuing "
            f"{s['small_documents']} each over {s['issue_window']:g} sandbox minutes; {s['web']}; {s['celery']}.",
            "",
            "| Figure | Measured | Goal | Met |",
            "|---|---|---|---|",
            *[
                f"| {r['figure']} | {r['measured']} | {r['goal']} | {'yes' if r['met'] else '**no**'} |"
                for r in results["goals"]
            ],
            "",
            "## Details",
            "",
            f"- Links: {report.kv(results['link'])}.",
            f"- Phase: {'everything sent' if phase['complete'] else '**not all sent before the timeout**'}, "
            f"{phase['seconds']} s after release; documents {phase['documents']}; the big backlog issued in "
            f"{phase['big_backlog_issue_seconds']} s while the workers were held.",
            f"- Small companies: {report.kv(phase['small'])}.",
            f"- Big company: {report.kv(phase['big'])}.",
            f"- Calls: {report.kv(phase['calls'])}.",
            f"- Budget: {report.kv(phase['budget'])}.",
            *[
                f"- Worker CPU, {run.replace('_', ' ')}: {report.kv(figures)}."
                for run, figures in results.get("worker_cpu", {}).items()
            ],
            *([f"- Idle links: {report.kv(results['idle_link'])}."] if "idle_link" in results else []),
            "",
            *report.how_and_settings(HOW, s),
        ]
    )


HOW = [
    "- Real pieces: PostgreSQL, Redis, gunicorn serving the app with the sandbox mounted, Celery prefork workers "
    "and beat. The sandbox holds one organisation per company (`seed_scale_organisations`, copies of the NZ "
    "books); each company is linked over HTTP as a person does it (LINK TO MY ACCOUNT on its card, the sandbox's "
    "consent page, the platform's callback), with the sandbox's limits off.",
    "- Then gunicorn restarts with the sandbox's minute compressed (`XERO_SANDBOX_MINUTE_SECONDS`), 60 calls a "
    "minute and 5 at once per organisation, and the app-wide limit (`XERO_SANDBOX_APP_MINUTE_LIMIT`); the "
    "platform's `XERO_CALLS_PER_MINUTE` and `XERO_APP_CALLS_PER_MINUTE` are the same figures per real minute.",
    "- The big company's documents are issued through `billing.services.invoice_issue` while the workers consume "
    "only a hold queue; once released, every other company issues its documents one at a time at random moments "
    "over the issue window (4 threads in the bench's process), each to one of a few customers new to its "
    "organisation (so the first sends also look up and create contacts).",
    "- Time to Xero: `SyncRecord.sent_at − Invoice.issued_at`, in sandbox minutes. Drain: the big company's last "
    "`sent_at` after release.",
    "- Calls: the sandbox's RequestLog rows from release to the end with an app (past authentication); 429s by "
    "`rate_limit_problem` (the `X-Rate-Limit-Problem` sent: minute, day, appminute, concurrent). The steady part "
    "runs from the 10th to the 90th percentile of all documents' `sent_at`.",
    "- Budget used: time cut into tenths of a sandbox minute; in those where 10 or more companies had a document "
    "issued and not yet sent, calls ÷ (their length × the app limit). The platform paces 3 % below the limit "
    "(`PACE_MARGIN`), so 97 % is its ceiling.",
    "- Worker CPU per document (`bench/companies_cpu.py`), with the sandbox's limits and the platform's paces off: "
    "the same documents to the same number of new customers, sent first by one company while it alone is linked "
    "(before the others are), then split one batch of 50 to each of the companies, then split so again once the "
    "idle companies are linked too; utime + stime of the worker processes and their pools from release until "
    "all are sent.",
]
