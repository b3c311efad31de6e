"""The processes the browser journey runs against: PostgreSQL, Redis, gunicorn serving the app with the
Xero sandbox mounted, a Celery worker with beat, and the sandbox's webhook sender.

The bench starts the same pieces (bench/processes.py, bench/config.py); this reuses its process handling
(each process in a session of its own, stopped with its children, logs in the run folder) and its
environment, and changes what a person-driven run needs: DEBUG on as in `make run` (static files served,
the demo user), a webhook URL so that the sandbox's events come back, and a database and Redis number of
its own so that nothing else is touched.
"""

import fcntl
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bench import config as bench_config
from bench import processes
from bench.processes import BIN, ROOT, BenchError, Service

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cocoonops_e2e"
REDIS_DB = 11  # a Redis database number of its own: the suite flushes it at the start
LOCK_PATH = Path(tempfile.gettempdir()) / "cocoonops-e2e.lock"
LOCK_WAIT_SECONDS = 900


@dataclass
class Stack:
    url: str
    sandbox_url: str
    username: str
    password: str
    metrics_token: str  # Prometheus' bearer token for /metrics
    run_dir: Path
    services: list[Service]
    lock: object

    def check_alive(self) -> None:
        for service in self.services:
            service.check_alive()

    def logs(self) -> str:
        return "\n".join(f"{service.name}:\n{service.log_tail(15)}" for service in self.services)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop(grace=10)
        processes.stop_all()  # and a throw-away redis-server, if ensure_redis had to start one
        self.lock.close()


def database_url() -> str:
    """E2E_DATABASE_URL, or DATABASE_URL's server with a database of the suite's own (name holds "e2e")."""
    if os.environ.get("E2E_DATABASE_URL"):
        return os.environ["E2E_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return DEFAULT_DATABASE_URL
    return urllib.parse.urlsplit(base)._replace(path="/cocoonops_e2e").geturl()


def redis_url() -> str:
    if os.environ.get("E2E_REDIS_URL"):
        return os.environ["E2E_REDIS_URL"]
    base = os.environ.get("REDIS_URL", "") or "redis://127.0.0.1:6379/0"
    return urllib.parse.urlsplit(base)._replace(path=f"/{REDIS_DB}").geturl()


def ensure_services(db_url: str, cache_url: str, run_dir: Path) -> None:
    """PostgreSQL and Redis answer (started if installed but down, as .ci/run and the bench do)."""
    processes.ensure_postgres(db_url)
    processes.ensure_redis(cache_url, str(run_dir))


def start(run_dir: Path) -> Stack:
    db_url, cache_url = database_url(), redis_url()
    ensure_services(db_url, cache_url, run_dir)
    lock = _one_journey_at_a_time()
    try:
        return _start(run_dir, db_url, cache_url, lock)
    except BaseException:
        lock.close()
        raise


def _one_journey_at_a_time():
    """Two runs on one machine would drop each other's database and flush each other's queue: the second
    waits for the first (a developer's run beside another's, or `pytest -n` beside `make test-e2e`)."""
    handle = open(LOCK_PATH, "w")  # noqa: SIM115 - held open (and locked) until Stack.stop closes it
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise BenchError(f"another browser journey held {LOCK_PATH} for {LOCK_WAIT_SECONDS} s") from None
            time.sleep(1)


def _start(run_dir: Path, db_url: str, cache_url: str, lock) -> Stack:
    processes.recreate_database(db_url, marker="e2e")
    _flush_redis(cache_url)
    config = bench_config.BenchConfig(
        database_url=db_url,
        redis_url=cache_url,
        port=bench_config.free_port(),
        run_dir=str(run_dir),
        web_workers=2,
        web_threads=4,
        secrets=bench_config.run_secrets(),
    )
    env = _env(config)
    processes.manage(env, "migrate", "--noinput")
    password = _demo_setup(env)
    services = []
    try:
        services.append(processes.gunicorn(config, env))
        processes.wait_for_http(services[0], f"http://127.0.0.1:{config.port}/login/")
        services.append(_worker(config, env))
        services.append(
            Service(
                "webhooks", [str(BIN / "python"), "manage.py", "xero_sandbox_webhooks"], env, config.run_dir
            ).start()
        )
    except BaseException:
        for service in reversed(services):
            service.stop(grace=5)
        raise
    return Stack(
        url=f"http://127.0.0.1:{config.port}",
        sandbox_url=config.sandbox_url,
        username="demo",
        password=password,
        metrics_token=config.secrets["METRICS_TOKEN"],
        run_dir=run_dir,
        services=services,
        lock=lock,
    )


def _env(config) -> dict:
    env = bench_config.base_env(config)
    env.update(
        {
            "DEBUG": "true",  # as `make run`: static files from the app's folders, and demo_setup allowed
            "LOG_LEVEL": "INFO",
            "XERO_WEBHOOK_URL": f"http://127.0.0.1:{config.port}/integrations/xero/webhooks/",
            "XERO_WEBHOOK_GATHER_SECONDS": "1",
            "XERO_ENABLED": "false",  # the journey's provider switches the add-on on (after an invoice is issued)
            "XERO_ATTACH_PDFS": "true",  # the journey sees the PDF on Xero's online invoice
        }
    )
    return env


def _worker(config, env: dict) -> Service:
    """One worker with beat inside it, as Procfile.dev runs it."""
    argv = [
        str(BIN / "celery"),
        "-A",
        "cocoonops_xero",
        "worker",
        "--beat",
        "--loglevel=INFO",
        "--concurrency=2",
        "-n",
        "e2e@%h",
        "-s",
        str(Path(config.run_dir) / "celerybeat-schedule"),
    ]
    return Service("worker", argv, env, config.run_dir).start()


def _demo_setup(env: dict) -> str:
    """What a newcomer's `make run` does: demo data, the demo user (its password printed), the sandbox seeded."""
    answer = subprocess.run(
        [str(BIN / "python"), "manage.py", "demo_setup"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    found = re.search(r"sign in as\s+\S+\s*/\s*(\S+)", answer.stdout)
    if answer.returncode or not found:
        raise BenchError(f"manage.py demo_setup failed:\n{answer.stdout[-2000:]}{answer.stderr[-3000:]}")
    return found.group(1)


def _flush_redis(cache_url: str) -> None:
    import redis

    redis.Redis.from_url(cache_url).flushdb()  # its own database number: no queued task or cache key survives
