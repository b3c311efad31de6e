"""The short fault-injection run (`make chaos CHAOS_ARGS=--quick`), as a subprocess: a few hundred
documents through every kind of fault, and every check holding at the end (exit status 0).

It starts its own web servers, Celery workers and beat, and a redis-server of its own on a free port
(restarted during the run), on a PostgreSQL database of its own that it drops at the end.
"""

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.conf import settings

from bench.config import free_port

ROOT = Path(__file__).resolve().parents[2]
MINUTES = 12  # the run takes 4–6 minutes on a 2-core machine; the rest is slack for a loaded one


def _chaos_database_url() -> str:
    """The test database's server, with a database of the run's own (the run drops and recreates it)."""
    db = settings.DATABASES["default"]
    netloc = f"{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    if db.get("PASSWORD"):
        netloc = f"{db['USER']}:{urllib.parse.quote(db['PASSWORD'])}@{netloc.split('@', 1)[1]}"
    return f"postgres://{netloc}/chaos_test_{os.getpid()}"


@pytest.mark.postgres
@pytest.mark.redis
def test_quick_fault_injection_run_loses_nothing_duplicates_nothing_and_brings_every_status_back(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env["CHAOS_DATABASE_URL"] = _chaos_database_url()
    argv = [
        sys.executable,
        "-m",
        "chaos.run",
        "--quick",
        "--drop-database",
        "--redis-port",
        str(free_port()),
        "--results-dir",
        str(tmp_path),
    ]
    run = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=MINUTES * 60)
    figures = run.stdout[run.stdout.rfind("== Figures") :]
    assert run.returncode == 0, f"exit {run.returncode}\n{figures or run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "PASSED" in figures
