"""`make chaos` (or `.venv/bin/python -m chaos.run [--quick] [options]`): the sync and the statuses back
from Xero under injected faults and load, on PostgreSQL, the run's own Redis, gunicorn and Celery.

1. Its own redis-server (port 6390 by default) and a fresh PostgreSQL database (name containing "chaos").
2. gunicorn serving the platform with the sandbox mounted; a second one serving the webhook receiver;
   the sandbox's webhook sender (batches duplicated and reordered); Celery workers and beat.
3. Link over HTTP as a person does. Then the storm: documents issued in waves through billing's service,
   while the sandbox injects faults, workers are SIGKILLed, Redis restarts, the receiver goes down, the
   refresh token is revoked (and the platform re-linked), and people pay, part-pay and void in Xero.
4. Wait for quiet; compare the platform with Xero; print each figure; write chaos/results/<name>.md.
Exit status: 0 when every check holds, 1 when one misses, 2 when the run itself could not be done.
"""

import os
import random
import signal
import sys
import time

from bench import processes
from bench.processes import BenchError

from . import config as chaos_config
from .services import Cluster, environment


def main(argv: list[str] | None = None) -> int:
    config = chaos_config.load(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        results = run(config)
    except BenchError as error:
        print(f"\nchaos run failed: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nchaos run interrupted", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        if config.drop_database:
            _drop_database(config)
    from . import report

    print(report.console(results))
    print(
        f"Written: {report.write(results, config.results_name, config.results_dir)}  (process logs: {config.run_dir})"
    )
    return 0 if results["passed"] else 1


def _exit_on_signal(signum, frame):
    print(f"\nchaos stopped by signal {signum}: stopping the processes it started", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def run(config) -> dict:
    started = time.monotonic()
    print(
        f"chaos: {'quick' if config.quick else 'default'} run, {config.documents} documents over {config.accounts} "
        f"accounts, a {config.storm_seconds:.0f}s storm; logs in {config.run_dir}",
        flush=True,
    )
    env = environment(config)
    cluster = Cluster(config, env)
    _step(f"PostgreSQL, the run's own Redis on port {config.redis_port}, a fresh database")
    processes.ensure_postgres(config.database_url)
    cluster.start_redis()
    processes.recreate_database(config.database_url, marker="chaos")
    processes.manage(env, "migrate", "--noinput")
    os.environ.update(env)
    import django

    django.setup()
    from bench import machine

    from . import storm

    results = {"command": _command(), "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "settings": config.public()}
    described = machine.describe(config)
    results["commit"] = described["git_commit"] + (
        " (with uncommitted changes)" if described["working_tree_changed"] else ""
    )
    results["machine"] = (
        f"{described['cpus']} CPUs ({described['cpu_model']}), "
        f"PostgreSQL {described['postgresql']}, Redis {described['redis']}"
    )
    results.update(storm.Storm(config, cluster, random.Random(config.seed)).run())
    results["total_seconds"] = time.monotonic() - started
    return results


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _command() -> str:
    args = " ".join(sys.argv[1:])
    return f'make chaos CHAOS_ARGS="{args}"' if args else "make chaos"


def _drop_database(config) -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: BLE001 — Django may not have been set up yet
        pass
    processes.drop_database(config.database_url, marker="chaos")


if __name__ == "__main__":
    sys.exit(main())
