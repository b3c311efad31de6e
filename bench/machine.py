"""What the figures were measured on."""

import os
import platform
import subprocess
from pathlib import Path

import redis
from django.db import connection

from .config import ROOT


def describe(config) -> dict:
    return {
        "cpus": os.cpu_count(),
        "arch": platform.machine(),
        "cpu_model": _cpu_model(),
        "memory_gb": _memory_gb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _postgres_version(),
        "redis": redis.Redis.from_url(config.redis_url).info("server").get("redis_version"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "working_tree_changed": bool(_git("status", "--porcelain")),
        "load_average_at_start": load_average(),
    }


def summary(m: dict) -> str:
    """What `describe` found, as a sentence for a results file."""
    return (
        f"{m['cpus']} CPUs ({m['arch']}, {m['cpu_model']}), {m['memory_gb']} GB; PostgreSQL {m['postgresql']}, "
        f"Redis {m['redis']}, Python {m['python']}; load average (1, 5, 15 min) {m['load_average_at_start']} at "
        f"the start, {m.get('load_average_at_end')} at the end. Code {m['git_commit'] or 'not recorded'}"
        f"{' plus uncommitted changes' if m['working_tree_changed'] else ''}."
    )


def load_average() -> list[float]:
    """Other work on the machine slows every figure here: it is recorded with them."""
    return [round(value, 2) for value in os.getloadavg()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW autovacuum")
        return f"{version}, autovacuum {cursor.fetchone()[0]}"


def _git(*args: str) -> str:
    """Read-only: which code was measured (not asked when BENCH_NO_GIT is set, e.g. while others commit)."""
    if os.environ.get("BENCH_NO_GIT"):
        return ""
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
