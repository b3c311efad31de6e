"""The processes a run starts (and always stops), the services it needs, and what /proc says about them.

Every process is started in a session of its own, so that stopping it (SIGTERM, then SIGKILL after a
grace period) reaches its children too — gunicorn's workers, Celery's pool — and nothing else.
"""

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .config import ROOT

BIN = ROOT / ".venv" / "bin"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1


class BenchError(Exception):
    """The run cannot go on; the message says why."""


class Service:
    """One started process group, its log file, and how to stop it."""

    started: list["Service"] = []

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: str):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = Path(log_dir) / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Service":
        # The child gets its own copy of the descriptor: ours can be closed as soon as it has started.
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        Service.started.append(self)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchError(f"{self.name} exited (code {self.process.returncode}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(f"  | {line}" for line in text[-lines:]) + f"\n  (full log: {self.log_path})"

    def stop(self, grace: float = 30.0) -> None:
        if self in Service.started:
            Service.started.remove(self)
        if not self.alive():
            return
        _signal_group(self.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.pid, signal.SIGKILL)
            self.process.wait(10)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if the bench itself dies without cleaning up (even SIGKILL)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _libc():
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here, not between fork and exec
    except OSError:
        return None  # not Linux/glibc: the bench's own clean-up still stops its processes


_LIBC = _libc()


def stop_all() -> None:
    for service in reversed(list(Service.started)):
        service.stop()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def wait_for_http(service: Service, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise BenchError(f"{service.name} did not answer {url} within {timeout:.0f}s:\n{service.log_tail()}")


# --- PostgreSQL and Redis -------------------------------------------------------------------
def ensure_postgres(database_url: str) -> None:
    """Start the local cluster if it is installed but down (as .ci/run does); else say what is missing."""
    import psycopg

    try:
        psycopg.connect(_maintenance_url(database_url), connect_timeout=3).close()
        return
    except psycopg.OperationalError as error:
        first_error = error
    host = urllib.parse.urlsplit(database_url).hostname
    clusters = Path("/etc/postgresql")
    if host not in ("127.0.0.1", "localhost") or not shutil.which("pg_ctlcluster") or not clusters.is_dir():
        raise BenchError(f"PostgreSQL is not reachable at {_safe(database_url)}: {first_error}")
    version = sorted(clusters.iterdir())[-1].name
    print(f"Starting PostgreSQL {version} (pg_ctlcluster; left running, as .ci/run does)")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
    _wait(lambda: _connects(database_url), 30, f"PostgreSQL did not start at {_safe(database_url)}")


def recreate_database(database_url: str, *, marker: str = "bench") -> None:
    """A fresh database for every run; only ever one whose name says it is for this kind of run (`marker`)."""
    import psycopg

    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    if marker not in name:
        raise BenchError(
            f"The run drops and recreates its database, and {name!r} does not look like one of its databases: "
            f"use one whose name contains {marker!r} (e.g. postgres://postgres@127.0.0.1:5432/{marker})."
        )
    drop_database(database_url, marker=marker)
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str, *, marker: str = "bench") -> None:
    import psycopg

    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    if marker not in name:
        raise BenchError(f"Not dropping {name!r}: its name does not contain {marker!r}.")
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _maintenance_url(database_url: str) -> str:
    return urllib.parse.urlsplit(database_url)._replace(path="/postgres").geturl()


def _connects(database_url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(_maintenance_url(database_url), connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


def ensure_redis(redis_url: str, log_dir: str) -> Service | None:
    """Start a throw-away redis-server for the run if none answers on a local URL; return it (None if
    one was already answering), so that a run can stop and start it again."""
    if _pings(redis_url):
        return None
    parts = urllib.parse.urlsplit(redis_url)
    if parts.hostname not in ("127.0.0.1", "localhost") or not shutil.which("redis-server"):
        raise BenchError(f"Redis is not reachable at {redis_url}")
    print(f"Starting redis-server on port {parts.port or 6379} for this run")
    service = Service(
        "redis",
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(parts.port or 6379),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            log_dir,
        ],
        dict(os.environ),
        log_dir,
    ).start()
    wait_for_redis(redis_url)
    return service


def wait_for_redis(redis_url: str, timeout: float = 15.0) -> None:
    _wait(lambda: _pings(redis_url), timeout, f"redis-server did not start for {redis_url}")


def _pings(redis_url: str) -> bool:
    import redis

    try:
        return redis.Redis.from_url(redis_url, socket_timeout=2).ping()
    except redis.RedisError:
        return False


def _wait(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise BenchError(message)


def _safe(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=f"{parts.hostname}:{parts.port or 5432}").geturl()


# --- /proc --------------------------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """The process and all its descendants, alive now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat_fields(int(entry.name))
            if stat:
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process (utime + stime)."""
    stat = _stat_fields(pid)
    return (int(stat[11]) + int(stat[12])) / CLOCK_TICKS if stat else 0.0


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1], utime [11], stime [12])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def gunicorn(config, env: dict) -> Service:
    argv = [
        str(BIN / "gunicorn"),
        "cocoonops_xero.wsgi:application",
        "--bind",
        f"127.0.0.1:{config.port}",
        "--workers",
        str(config.web_workers),
        "--threads",
        str(config.web_threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        # Idle keep-alive connections stay open a minute, as behind Xero's load balancers; gunicorn's
        # 2 s default makes the workers' pooled connections go stale between calls (ProtocolError).
        "--keep-alive",
        "60",
    ]
    return Service("web", argv, env, config.run_dir).start()


def celery_worker(index: int, config, env: dict, hold_queue: str) -> Service:
    """A worker that listens only to the hold queue until told to consume the real one."""
    argv = [
        str(BIN / "celery"),
        "-A",
        "cocoonops_xero",
        "worker",
        f"--loglevel={os.environ.get('BENCH_WORKER_LOGLEVEL', 'WARNING')}",
        "-n",
        f"bench{index}@%h",
        "-Q",
        hold_queue,
        f"--concurrency={config.concurrency}",
    ]
    return Service(f"worker{index}", argv, env, config.run_dir).start()


def celery_beat(config, env: dict) -> Service:
    argv = [
        str(BIN / "celery"),
        "-A",
        "cocoonops_xero",
        "beat",
        "--loglevel=WARNING",
        "-s",
        str(Path(config.run_dir) / "celerybeat-schedule"),
        "--pidfile",
        str(Path(config.run_dir) / "beat.pid"),
    ]
    return Service("beat", argv, env, config.run_dir).start()


def manage(env: dict, *args: str) -> None:
    answer = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if answer.returncode:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{answer.stdout[-2000:]}{answer.stderr[-3000:]}")
