"""The sync's scheduler alone, on a simulated clock (no HTTP, no database): many linked organisations, a
few with work, under Xero's limits. `.venv/bin/python -m bench.scheduler_sim [--organisations N] …`;
`make bench` runs it too. Writes bench/results/scheduler.{json,md}.

It models the policy of `integrations/xero/outbound/sending.py` (`_next_turn`) and `api/pacing.py`:
- a call to an organisation takes its next slot, 60/limit × PACE_MARGIN seconds after the previous one,
  with at most `concurrent` in flight, and a slot in the app-wide pace (app limit, same margin);
- each call sends one batch of up to 50 of one organisation's due documents;
- the organisation whose turn it is: among those with due documents, one whose slot is free now, the least
  recently served first (never served before all); when every one is busy, the one free soonest.
The tests in integrations/xero/outbound/tests/test_turns.py show the SQL does the same.

Reported: the share of the app-wide budget used while 10 or more organisations have work, the wait of a
small organisation's documents (issued → sent, p95), and the largest share of calls any one organisation took.
"""

import argparse
import heapq
import json
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

PACE_MARGIN = 1.03  # as in integrations/xero/api/pacing.py
BATCH_SIZE = 50  # as in integrations/xero/outbound/sending.py
RESULTS = Path(__file__).parent / "results"


@dataclass
class Organisation:
    index: int
    waiting: list[float] = field(default_factory=list)  # issue times of documents not sent yet, oldest first
    next_slot: float = 0.0
    in_flight: int = 0
    last_turn: float | None = None
    calls: int = 0


@dataclass
class Outcome:
    calls: int = 0
    busy_calls: int = 0  # calls while 10 or more organisations had work
    busy_seconds: float = 0.0
    small_waits: list[float] = field(default_factory=list)
    elapsed: float = 0.0


def simulate(
    *,
    organisations: int,
    big_backlog: int,
    medium: int,
    medium_backlog: int,
    small: int,
    small_documents: int,
    org_limit: int,
    app_limit: int,
    concurrent: int,
    call_seconds: float,
    seed: int = 7,
) -> tuple[Outcome, list[Organisation]]:
    rng = random.Random(seed)
    orgs = [Organisation(i) for i in range(organisations)]
    orgs[0].waiting = [0.0] * big_backlog
    chosen = rng.sample(orgs[1:], medium + small)
    for org in chosen[:medium]:  # month end: a backlog each, all at once
        org.waiting = [0.0] * medium_backlog
    for org in chosen[medium:]:  # the small ones issue a few over the first two minutes
        org.waiting = sorted(rng.uniform(0, 120) for _ in range(small_documents))
    org_interval, app_interval = 60 / org_limit * PACE_MARGIN, 60 / app_limit * PACE_MARGIN
    outcome, now, app_next, last_start = Outcome(), 0.0, 0.0, 0.0
    finishing: list[tuple[float, int]] = []  # (when a call ends, organisation)
    with_work = {org.index for org in orgs if org.waiting}
    small_ones = {org.index for org in chosen[medium:]}
    while with_work or finishing:
        now = max(now, app_next)
        while finishing and finishing[0][0] <= now:
            orgs[heapq.heappop(finishing)[1]].in_flight -= 1
        org = _next_turn([orgs[i] for i in with_work], now, concurrent)
        if org is None:  # nothing due or every slot taken: the clock moves to the next event
            upcoming = [o.next_slot for i in with_work if (o := orgs[i]).waiting and o.waiting[0] <= now]
            upcoming += [orgs[i].waiting[0] for i in with_work if orgs[i].waiting[0] > now]
            upcoming += [finishing[0][0]] if finishing else []
            now = max(now, min(upcoming)) if upcoming else now + 1
            continue
        busy = sum(1 for i in with_work if orgs[i].waiting and orgs[i].waiting[0] <= now) >= 10
        start = max(now, org.next_slot)
        sent = [t for t in org.waiting[:BATCH_SIZE] if t <= start]
        org.waiting = org.waiting[len(sent) :]
        org.next_slot, org.last_turn, org.calls = start + org_interval, start, org.calls + 1
        org.in_flight += 1
        heapq.heappush(finishing, (start + call_seconds, org.index))
        app_next = start + app_interval
        outcome.calls += 1
        if busy:  # the time since the call before counts as time with 10 or more organisations waiting
            outcome.busy_calls += 1
            outcome.busy_seconds += start - last_start if outcome.calls > 1 else app_interval
        last_start = start
        if org.index in small_ones:
            outcome.small_waits += [start + call_seconds - issued for issued in sent]
        if not org.waiting:
            with_work.discard(org.index)
        outcome.elapsed = start + call_seconds
    return outcome, orgs


def _next_turn(candidates: list[Organisation], now: float, concurrent: int) -> Organisation | None:
    due = [org for org in candidates if org.waiting and org.waiting[0] <= now and org.in_flight < concurrent]
    if not due:
        return None
    return min(due, key=lambda org: (max(org.next_slot, now), org.last_turn is not None, org.last_turn or 0, org.index))


def run(args) -> dict:
    outcome, orgs = simulate(
        organisations=args.organisations,
        big_backlog=args.big_backlog,
        medium=args.medium,
        medium_backlog=args.medium_backlog,
        small=args.small,
        small_documents=args.small_documents,
        org_limit=args.org_limit,
        app_limit=args.app_limit,
        concurrent=args.concurrent,
        call_seconds=args.call_seconds,
    )
    waits = sorted(outcome.small_waits)
    return {
        "settings": vars(args),
        "calls": outcome.calls,
        "simulated_minutes": round(outcome.elapsed / 60, 2),
        "app_budget_used_while_10_or_more_have_work": _utilisation(outcome, args.app_limit),
        "small_wait_p50_seconds": round(statistics.median(waits), 2) if waits else None,
        "small_wait_p95_seconds": round(waits[int(0.95 * (len(waits) - 1))], 2) if waits else None,
        "largest_share_of_calls": round(max(org.calls for org in orgs) / outcome.calls, 4),
        "big_backlog_calls": orgs[0].calls,
    }


def _utilisation(outcome: Outcome, app_limit: int) -> float | None:
    """Calls made while 10 or more organisations had work, over what the app-wide limit allows in that time."""
    if not outcome.busy_calls:
        return None
    return round(outcome.busy_calls / (outcome.busy_seconds * app_limit / 60), 3)


def _percent(result: dict) -> str:
    used = result["app_budget_used_while_10_or_more_have_work"]
    return "never 10 with work" if used is None else f"{used:.1%}"


def markdown(result: dict) -> str:
    s = result["settings"]
    return "\n".join(
        [
            "# The scheduler alone, on a simulated clock",
            "",
            f"{s['organisations']:,} linked organisations; one with a backlog of {s['big_backlog']:,} documents, "
            f"{s['medium']:,} with {s['medium_backlog']:,} each, {s['small']:,} issuing {s['small_documents']} each "
            "over the first two minutes, the rest idle. Per organisation "
            f"{s['org_limit']} calls a minute and {s['concurrent']} in flight; app-wide {s['app_limit']:,} a minute; "
            f"a call takes {s['call_seconds']} s and sends up to {BATCH_SIZE} documents.",
            "",
            "| Measure | Value |",
            "|---|---|",
            f"| Calls | {result['calls']:,} in {result['simulated_minutes']} simulated minutes |",
            f"| App-wide budget used while 10+ organisations have work | {_percent(result)} |",
            f"| Small organisation's document, issued → sent | p50 {result['small_wait_p50_seconds']} s, "
            f"p95 {result['small_wait_p95_seconds']} s |",
            f"| Largest share of calls one organisation took | {result['largest_share_of_calls']:.2%} |",
            "",
        ]
    )


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=10_000)
    parser.add_argument("--big-backlog", type=int, default=5_000)
    parser.add_argument("--medium", type=int, default=400, help="organisations with a month-end backlog each")
    parser.add_argument("--medium-backlog", type=int, default=500)
    parser.add_argument("--small", type=int, default=300, help="organisations issuing a few documents each")
    parser.add_argument("--small-documents", type=int, default=20)
    parser.add_argument("--org-limit", type=int, default=60)
    parser.add_argument("--app-limit", type=int, default=10_000)
    parser.add_argument("--concurrent", type=int, default=5)
    parser.add_argument("--call-seconds", type=float, default=0.6)
    parser.add_argument("--results-name", default="scheduler")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    result = run(args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.results_name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{args.results_name}.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
