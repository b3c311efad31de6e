"""The figures against the issue's goals: printed, and written as JSON and Markdown."""

import json
import math
import urllib.parse
from pathlib import Path

from .config import RESULTS_DIR

BATCH = 50
SANDBOX_CONTACTS_PATH = "/xero-sandbox/api.xro/2.0/Contacts"
SHORT_CODE_LENGTH = 7  # the paced and unpaced phases' codes: BP00001, BU00001
PACE_CEILING = 60 * BATCH  # 60 calls a minute × 50 invoices a call


def contact_lookups_per_resolution(code_length: int, budget: int) -> int:
    """GET /Contacts requests that looking up 50 new billing accounts' codes takes within the request budget:
    each `AccountNumber=="…"` term URL-encoded, joined by `+OR+`, after the path and the other parameters."""
    term = len(urllib.parse.quote_plus(f'AccountNumber=="{"X" * code_length}"'))
    room = budget - len(SANDBOX_CONTACTS_PATH) - len("?where=&includeArchived=true")
    per_request = 1 + (room - term) // (term + len("+OR+"))
    return math.ceil(BATCH / per_request)


def call_bound(invoices: int, accounts: int, code_length: int, budget: int) -> int:
    """ceil(N/50) PUT /Invoices, and per 50 new accounts their look-ups within the request budget and one
    PUT /Contacts, plus 4 for the link's reads: the organisation, its chart of accounts, tax rates and
    enabled currencies (or a re-read of the last three). With one look-up per 50 accounts this is the first
    release's bound, ceil(N/50) + 2·ceil(A/50) + 3, plus the currencies read since issue 16."""
    per_resolution = contact_lookups_per_resolution(code_length, budget) + 1
    return math.ceil(invoices / BATCH) + per_resolution * math.ceil(accounts / BATCH) + 4


def goals(results: dict) -> list[dict]:
    rows = _sync_goals(results) if "unpaced" in results else []
    if results.get("receiver"):
        from . import receiver  # Django models: imported only once a run has results

        rows += receiver.goals(results["receiver"])
    return rows


def _sync_goals(results: dict) -> list[dict]:
    rows = []
    unpaced, paced, cost = results["unpaced"], results.get("paced"), results["issue_cost"]
    for name, phase, accounts in (
        ("paced, link included", paced, results["settings"]["accounts"]),
        ("unpaced", unpaced, results["settings"]["accounts"]),
    ):
        if phase:
            calls = phase["api_calls"]
            bound = call_bound(phase["records"], accounts, SHORT_CODE_LENGTH, calls["request_budget"])
            rows.append(
                _row(
                    f"API calls, {name} ({phase['records']} invoices, {accounts} new accounts)",
                    f"{calls['counted']} (+{calls['too_many_requests']}× 429)",
                    f"≤ {bound}",
                    calls["counted"] <= bound and phase["complete"],
                )
            )
    for length, phase in results.get("code_lengths", {}).items():
        calls, accounts = phase["api_calls"], results["settings"]["accounts"]
        bound = call_bound(phase["records"], accounts, int(length), calls["request_budget"])
        rows.append(
            _row(
                f"API calls, codes of {length} characters ({phase['records']} invoices, {accounts} new accounts); "
                "longest request; 404s",
                f"{calls['counted']} (+{calls['too_many_requests']}× 429); {calls['longest_request']} characters; "
                f"{calls['answered_404']}",
                f"≤ {bound}; ≤ {calls['request_budget']}; 0",
                calls["counted"] <= bound
                and calls["over_budget"] == 0
                and calls["answered_404"] == 0
                and phase["complete"],
            )
        )
    if paced:
        pace = paced["pace"]
        per_minute = pace.get("steady_per_minute")
        unpaced_pace = unpaced["pace"].get("steady_per_minute")
        rows.append(
            _row(
                "Pace, 60 calls/min enforced: invoices/min in the steady part",
                f"{per_minute} ({_percent(per_minute)} of {PACE_CEILING:,}; limits off on this machine: "
                f"{unpaced_pace})",
                f"≥ {int(0.95 * PACE_CEILING):,}",
                per_minute is not None and per_minute >= 0.95 * PACE_CEILING and paced["complete"],
            )
        )
        rows.append(
            _row(
                "429s in the steady part (in the whole paced phase)",
                f"{pace.get('steady_429s')} ({paced['api_calls']['too_many_requests']})",
                "0",
                pace.get("steady_429s") == 0,
            )
        )
    cpu = unpaced["worker_cpu"]
    rows.append(
        _row(
            "Worker CPU per invoice pushed, limits off (until the queue is empty; until all settled)",
            f"{cpu['ms_per_invoice_until_queue_empty']} ms ({cpu['ms_per_invoice_until_all_settled']} ms)",
            "< 5 ms",
            cpu["ms_per_invoice_until_queue_empty"] is not None and cpu["ms_per_invoice_until_queue_empty"] < 5,
        )
    )
    rows.append(
        _row(
            "Queries the add-on adds to an issue (median, on − billing alone)",
            f"{cost['added_queries']:+g} ({cost['on']['queries_median']:g} vs {cost['off']['queries_median']:g})",
            "≤ 3",
            cost["added_queries"] <= 3,
        )
    )
    rows.append(
        _row(
            f"Time the add-on adds to an issue (median over {cost['on']['issues']}, on − billing alone)",
            f"{cost['added_ms_median']:+} ms ({cost['on']['ms_median']} vs {cost['off']['ms_median']} ms)",
            "≤ 5 ms",
            cost["added_ms_median"] <= 5,
        )
    )
    form = results.get("oversized_form")
    if form:
        rows.append(
            _row(
                f"A new-invoice POST asking for 2,000 line forms: answer, median and max over {form['posts']}",
                f"{'/'.join(map(str, form['statuses']))}; {form['ms_median']} ms; {form['ms_max']} ms",
                "400; < 100 ms",
                form["statuses"] == [400] and form["ms_median"] < 100,
            )
        )
    rss = unpaced["rss_mb"]
    idle_main, idle_pool = max(rss["idle"]["main_mb"]), max(rss["idle"]["pool_mb"])
    rows.append(
        _row(
            f"Worker RSS, idle → peak through {unpaced['records']} invoices (largest main; largest pool process)",
            f"{idle_main:.0f} → {rss['peak_main']:.0f} MB; {idle_pool:.0f} → {rss['peak_pool']:.0f} MB",
            "< 200 MB",
            max(rss["peak_main"], rss["peak_pool"]) < 200,
        )
    )
    return rows


def _row(name, measured, goal, met) -> dict:
    return {"figure": name, "measured": measured, "goal": goal, "met": bool(met)}


def _percent(value) -> str:
    return f"{value / PACE_CEILING:.0%}" if value is not None else "n/a"


def write(results: dict, name: str) -> list[Path]:
    return write_with(results, name, goals=goals, markdown=markdown)


def write_with(results: dict, name: str, *, goals, markdown) -> list[Path]:
    """bench/results/<name>.json and .md, with the goals each figure is judged by."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    results = {**results, "goals": goals(results)}
    json_path, md_path = RESULTS_DIR / f"{name}.json", RESULTS_DIR / f"{name}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(results))
    return [json_path, md_path]


def console(results: dict) -> str:
    return console_lines(goals(results))


def console_lines(rows: list[dict]) -> str:
    lines = ["", "Results", "-------"]
    for row in rows:
        lines.append(f"{'ok ' if row['met'] else 'MISS'} {row['figure']}: {row['measured']} (goal {row['goal']})")
    return "\n".join(lines)


def markdown(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    out = [
        f"# Xero {'sync ' if 'unpaced' in results else ''}benchmark — {results['mode']} run",
        "",
        f"Run {results['started_at']}, {results['duration_seconds']} s in all, "
        f"with `{results.get('command', 'make bench')}`. "
        f"Code: {m['git_commit']}"
        f"{' plus uncommitted changes' if m['working_tree_changed'] else ''}.",
        f"Machine: {m['cpus']} CPUs ({m['arch']}, {m['cpu_model']}), {m['memory_gb']} GB; "
        f"PostgreSQL {m['postgresql']}, Redis {m['redis']}, Python {m['python']}. "
        f"Load average (1, 5, 15 min) at the start {m['load_average_at_start']}, at the end "
        f"{m.get('load_average_at_end')}: the web server, the workers, PostgreSQL, the bench and anything else running "
        "share these CPUs.",
        f"Settings: N={s['invoices']} invoices over A={s['accounts']} new billing accounts per sync phase "
        f"({s['known_share']:.0%} already Xero contacts), {s['lines_per_invoice']} lines each, accounts picked "
        f"{s['order']}; {s['web']}; {s['celery']}.",
        "",
        *(
            [
                "**Quick run**: a few hundred invoices, under a minute of sync: the pace is not measured against a "
                "full minute's budget, and fixed costs weigh more per invoice. Use the full run's figures.",
                "",
            ]
            if results["mode"] == "quick"
            else []
        ),
        "| Figure | Measured | Goal | Met |",
        "|---|---|---|---|",
        *[
            f"| {r['figure']} | {r['measured']} | {r['goal']} | {'yes' if r['met'] else '**no**'} |"
            for r in results["goals"]
        ],
        "",
    ]
    for title, key in (
        ("Sync paced (60 calls a minute, real minute)", "paced"),
        ("Sync with the sandbox's limits off", "unpaced"),
    ):
        if results.get(key):
            out += _phase_section(title, results[key])
    for length, phase in results.get("code_lengths", {}).items():
        out += _phase_section(f"Billing account codes of {length} characters (limits off)", phase)
    if "issue_cost" in results:
        out += _issue_section(results["issue_cost"])
        out += ["## Exactly once", "", kv(results["exactly_once"]), ""]
    if results.get("receiver"):
        from . import receiver

        out += receiver.markdown(results["receiver"])
    out += how_and_settings(HOW, s)
    return "\n".join(out)


def how_and_settings(how: list[str], settings: dict) -> list[str]:
    """The closing sections of a results file: how it was measured, and every setting of the run."""
    return [
        "## How it was measured",
        "",
        *how,
        "",
        "## All settings",
        "",
        "```json",
        json.dumps(settings, indent=2, default=str),
        "```",
        "",
    ]


def _phase_section(title: str, phase: dict) -> list[str]:
    calls, pace, cpu, rss = phase["api_calls"], phase["pace"], phase["worker_cpu"], phase["rss_mb"]
    return [
        f"## {title}",
        "",
        f"- {phase['issued']} invoices issued in {phase['issue_seconds']} s while the workers were held "
        f"({phase['tasks_queued']} tasks queued); {phase['records']} records to send; "
        f"{'all settled' if phase['complete'] else '**not all settled before the timeout**'} "
        f"{phase['seconds_to_settle']} s after release; states {phase['states']}; "
        f"queue emptied: {phase['queue_drained']}.",
        f"- API calls: {calls['counted']} counted, {calls['too_many_requests']} answered 429; by endpoint: "
        + ", ".join(f"{k} {v}" for k, v in calls["by_endpoint"].items())
        + f"; median server time of a PUT /Invoices: {calls['put_invoices_server_ms_median']} ms; longest request "
        f"{calls.get('longest_request')} characters (budget {calls.get('request_budget')}), "
        f"{calls.get('over_budget')} over it, {calls.get('answered_404')} answered 404.",
        f"- Pace: {kv(pace)}.",
        f"- Worker CPU: {kv(cpu)}.",
        f"- Worker RSS (MB): idle {rss['idle']}, after {rss['after']}, "
        f"peak main {rss['peak_main']}, peak pool {rss['peak_pool']}.",
        f"- Failures: {phase['failures']['count']}" + "".join(f"\n  - {m}" for m in phase["failures"]["messages"]),
        "",
    ]


def _issue_section(cost: dict) -> list[str]:
    return [
        "## What issuing costs",
        "",
        "| Issue | Issues | Queries (median) | ms median | ms p90 |",
        "|---|---|---|---|---|",
        *[
            f"| {SIDES[side]} | {cost[side]['issues']} | {cost[side]['queries_median']:g} "
            f"| {cost[side]['ms_median']} | {cost[side]['ms_p90']} |"
            for side in ("on", "off")
        ],
        "",
        f"Statements only with the add-on: {cost['added_queries_sql']['only_on'] or 'none'}; "
        f"only with billing alone: {cost['added_queries_sql']['only_off'] or 'none'} (statements compared without "
        "their values, by their first words).",
        "",
    ]


SIDES = {"on": "with the Xero add-on on", "off": "billing alone (no listener on its issue signals)"}


def kv(values: dict) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in values.items())


HOW = [
    "- Real pieces: PostgreSQL, Redis, gunicorn serving the app with the sandbox mounted, Celery prefork "
    "workers and beat (the sweeper) as separate processes; no webhook sender (the sandbox app has no webhook URL).",
    "- Link: the OAuth flow driven over HTTP (sign in, LINK TO MY ACCOUNT, allow on the sandbox's consent page, "
    "follow the callback), with the sandbox enforcing its limits; its calls (organisation, accounts, tax rates) "
    "count in the paced phase, which follows.",
    "- Each sync phase issues its invoices through `billing.services.invoice_issue` while the workers consume only a "
    "hold queue (one `push_documents` task per issue queues up in Redis), then tells them to consume it: "
    "the sync starts with a backlog, so its pace is not limited by how fast the bench issues.",
    "- API calls: rows of the sandbox's RequestLog for the NZ organisation in the phase; 'counted' leaves out 429s.",
    "- Pace: SyncRecord.sent_at of the phase's invoices; the steady part runs from the 10th to the 90th percentile "
    "of them; 429s are counted in that window and in the whole phase.",
    "- Worker CPU: utime + stime from /proc/<pid>/stat of every worker process and its pool (beat not counted), "
    "from release until all records settled, and until the queue was empty (the rest of the one-per-issue tasks), "
    "divided by the invoices handled (sent or failed).",
    "- Issue cost: `CaptureQueriesContext` and `time.perf_counter` around `services.invoice_issue` in the bench's own "
    "process, alternating the add-on on and billing alone (its two issue signals with no receiver); the time includes "
    "queuing the Celery task after commit.",
    "- Memory: VmRSS from /proc/<pid>/status, idle before release, sampled every second, and after.",
]
