"""The results: printed figure by figure, and written to chaos/results/<name>.md."""

import json
from pathlib import Path

from .config import RESULTS_DIR


def console(results: dict) -> str:
    lines = ["", "== Figures"]
    for check in results["checks"]:
        lines.append(f"  {'ok  ' if check['ok'] else 'MISS'}  {check['check']}: {check['measured']}")
    lines.append(f"\n{'PASSED' if results['passed'] else 'FAILED'}: {results['summary']}")
    return "\n".join(lines)


def write(results: dict, name: str, directory: str = str(RESULTS_DIR)) -> Path:
    Path(directory).mkdir(exist_ok=True)
    path = Path(directory) / f"{name}.md"
    path.write_text(markdown(results))
    return path


def markdown(results: dict) -> str:
    r, d = results, results["documents"]
    lines = [
        f"# Fault-injection run ({'quick' if r['settings']['quick'] else 'default'}): "
        f"{'PASSED' if r['passed'] else 'FAILED'}",
        "",
        f"`{r['command']}` at commit `{r['commit']}`, {r['started_at']}; {r['machine']}.",
        f"Storm {r['storm_seconds']:.0f} s (issuing and faults), then {r['settle_seconds']:.0f} s to settle; "
        f"{r['total_seconds']:.0f} s in all.",
        "",
        "## Checks",
        "",
        "| Check | Measured | |",
        "|---|---|---|",
        *[f"| {c['check']} | {c['measured']} | {'ok' if c['ok'] else '**MISS**'} |" for c in r["checks"]],
        "",
        "## Documents",
        "",
        f"{d['issued']} issued ({d['issued_invoices']} invoices, {d['issued_credit_notes']} credit notes) over "
        f"{r['settings']['accounts']} billing accounts "
        f"({round(100 * (1 - r['settings']['known_share']))} % new to Xero). "
        f"Sync states at the end: {_inline(d['sync_states'])}. Issued while Redis was down, their push not queued "
        f"(the sweeper sent them): {r['issues_whose_push_could_not_be_queued']}. Workers that exited by themselves "
        f"and were started again, as a supervisor would: {r.get('workers_that_exited_and_were_restarted') or 'none'}.",
        "",
        _block("Failures met on the way", r["failures"]),
        _block("Statuses (platform vs Xero)", r["statuses"]),
        _block("What people did in Xero meanwhile", r["xero_side"]),
        _block("Credit note allocations", r["allocations"]),
        _block("Supplier bills and credit notes sharing the platform's numbers", r["outside"]),
        _block("Sandbox faults (calls hit, from the sandbox's request log)", r["faults"]),
        _block("Webhooks", r["webhooks"]),
        _block("Tokens", r["tokens"]),
        _block("Customers in Xero", r["contacts"]),
        "## Timeline (seconds into the storm)",
        "",
        *[f"- {at:.0f} s: {text}" for at, text in r["timeline"]["log"]],
        *[f"- **failed**: {error}" for error in r["timeline"]["errors"]],
        "",
        _block("Settings", r["settings"]),
    ]
    return "\n".join(lines) + "\n"


def _block(title: str, values: dict) -> str:
    return f"### {title}\n\n```json\n{json.dumps(values, indent=2, default=str)}\n```\n"


def _inline(values: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())
