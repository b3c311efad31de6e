"""`make bench` (or `.venv/bin/python -m bench.run [--quick] [options]`): see bench/README.md.

Starts PostgreSQL/Redis if needed, a fresh database, gunicorn serving the app with the sandbox,
Celery workers and beat; links over OAuth; measures; writes bench/results/{latest,quick}.{json,md}.
Every process it starts is stopped on the way out, whatever happened.
"""

import os
import signal
import sys
import time

from . import config as bench_config
from . import processes
from .processes import BenchError


def main(argv: list[str] | None = None) -> int:
    config = bench_config.load(argv)
    from . import report

    return run_and_report(lambda: run(config), config, report)


def run_and_report(measure, config, report) -> int:
    """Run a bench (`measure()`), stopping every process it started whatever happens, then print and write
    its figures with `report` (a module with `write(results, name)` and `console(results)`)."""
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        results = measure()
    except BenchError as error:
        print(f"\nbench failed: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench interrupted", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
    paths = report.write(results, config.results_name)
    print(report.console(results))
    print(f"Written: {', '.join(str(p) for p in paths)}  (process logs: {config.run_dir})")
    return 0


def _exit_on_signal(signum, frame):
    print(f"\nbench stopped by signal {signum}: stopping the processes it started", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def run(config) -> dict:
    started = time.time()
    print(
        f"bench: {'quick' if config.quick else 'full'} run"
        f"{f' of the {config.only} phase only' if config.only else ''}, "
        f"N={config.invoices} invoices over A={config.accounts} accounts per sync phase; logs in {config.run_dir}",
        flush=True,
    )
    start_django(config)
    from . import machine, phases, receiver

    bench = phases.Run(config)
    results = {
        "mode": _mode(config),
        "command": _command(),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine.describe(config),
        "settings": _settings(config),
    }

    if config.only == "receiver":
        return _receiver_only(config, bench, results, started)
    _step("web server (sandbox enforcing 60 calls a minute) and link over OAuth")
    bench.serve(bench_config.LIMITS_ON)
    results["link"] = bench.link()
    if not config.skip_paced:
        _step("sync paced: the sandbox enforcing 60 calls a minute")
        results["paced"] = bench.sync_phase(
            label="P",
            accounts=bench.new_accounts("P"),
            worker_env=phases.PACED_WORKER_ENV,
            timeout=config.paced_timeout,
            calls_since=results["link"]["started_at"],
            drain=False,
        )

    _step(f"issue cost: {config.issues} issues with the add-on on, {config.issues} with billing alone")
    unpaced_accounts = bench.new_accounts("U")
    results["issue_cost"] = bench.issue_cost(unpaced_accounts)
    _step("a crafted new-invoice POST asking for 2,000 line forms, 50 times")
    results["oversized_form"] = bench.oversized_form_cost(unpaced_accounts)

    _step("sync with the sandbox's limits off (worker CPU and memory)")
    bench.serve(bench_config.LIMITS_OFF)
    results["unpaced"] = bench.sync_phase(
        label="U", accounts=unpaced_accounts, worker_env=phases.UNPACED_WORKER_ENV, timeout=config.fast_timeout
    )
    for length in config.code_length_list:
        _step(f"sync with billing account codes of {length} characters (limits off): calls within the length budget")
        results.setdefault("code_lengths", {})[str(length)] = bench.sync_phase(
            label=f"L{length}",
            accounts=bench.new_accounts(f"L{length}", code_length=length),
            worker_env=phases.UNPACED_WORKER_ENV,
            timeout=config.fast_timeout,
            drain=False,
        )
    results["exactly_once"] = phases.exactly_once(bench.org)
    _step(f"webhook receiver: {config.receiver_senders} concurrent senders, then the events' processing")
    results["receiver"] = receiver.run(bench, config)
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["duration_seconds"] = round(time.time() - started)
    return results


def _receiver_only(config, bench, results: dict, started: float) -> dict:
    from . import machine, receiver

    _step("web server (sandbox limits off) and link over OAuth")
    bench.serve(bench_config.LIMITS_OFF)
    results["link"] = bench.link()
    _step(f"webhook receiver: {config.receiver_senders} concurrent senders, then the events' processing")
    results["receiver"] = receiver.run(bench, config)
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["duration_seconds"] = round(time.time() - started)
    return results


def _mode(config) -> str:
    if config.only:
        return f"{config.only} only{', quick' if config.quick else ''}"
    if config.quick:
        return "quick"
    defaults = bench_config.FULL
    sizes_default = (config.invoices, config.accounts) == (defaults["invoices"], defaults["accounts"])
    return "full" if sizes_default and not config.skip_paced else "custom"


def _command() -> str:
    args = " ".join(sys.argv[1:])
    return f'make bench BENCH_ARGS="{args}"' if args else "make bench"


def start_django(config) -> dict:
    """What every bench does first: PostgreSQL, Redis and a fresh database; the run's environment in this
    process too; Django set up; Celery messages an interrupted run left deleted. Returns the environment."""
    _prepare_services(config)
    env = bench_config.base_env(config)
    os.environ.update(env)
    import django

    django.setup()
    from . import workers

    workers.purge(config.redis_url)
    return env


def _prepare_services(config) -> None:
    _step("PostgreSQL, Redis, a fresh database")
    processes.ensure_postgres(config.database_url)
    processes.ensure_redis(config.redis_url, config.run_dir)
    processes.recreate_database(config.database_url)
    processes.manage(bench_config.base_env(config), "migrate", "--noinput")


def _settings(config) -> dict:
    return {
        **config.public(),
        "sandbox_limits_unpaced": bench_config.LIMITS_OFF,
        "sandbox_limits_paced": bench_config.LIMITS_ON,
        "web": f"gunicorn gthread, {config.web_workers} workers × {config.web_threads} threads",
        "celery": f"{config.workers} prefork workers × {config.concurrency} processes, plus beat",
        "issuing": f"{config.issue_threads} threads in the bench process",
        "app_pace_unpaced": "XERO_CALLS_PER_MINUTE raised to the sandbox's limit",
        "app_pace_paced": "the application's defaults",
    }


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
