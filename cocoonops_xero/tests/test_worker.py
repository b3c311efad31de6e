import datetime
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from cocoonops_xero.celery import app
from cocoonops_xero.tasks import HEARTBEAT_CACHE_KEY, worker_heartbeat


@pytest.fixture
def worker_queue(tmp_path):
    """A real Celery worker process on the configured broker, consuming a queue of its own."""
    queue = f"test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cocoonops_xero.settings_test",
        "VAR_DIR": str(settings.VAR_DIR),  # same broker folders and cache as this process
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cocoonops_xero",
                "worker",
                "--queues",
                queue,
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield queue
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        print(log_path.read_text())  # shown by pytest when the test failed


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_process_runs_a_task_sent_through_the_broker(worker_queue):
    cache.delete(HEARTBEAT_CACHE_KEY)
    worker_heartbeat.apply_async(queue=worker_queue)
    assert wait_for(lambda: cache.get(HEARTBEAT_CACHE_KEY) is not None), "the worker never ran the task"


@pytest.mark.redis
def test_on_redis_the_broker_and_the_cache_are_redis():
    assert app.conf.broker_url.startswith("redis://")
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    cache.set("ci-probe", "here", timeout=5)
    assert cache.get("ci-probe") == "here"


def test_tasks_are_never_run_inline():
    assert app.conf.task_always_eager is False


@pytest.mark.django_db
def test_the_footer_says_when_a_worker_was_last_seen_as_people_say_it(admin_client):
    seen = timezone.now() - datetime.timedelta(seconds=20)
    cache.set(HEARTBEAT_CACHE_KEY, seen.isoformat())
    page = admin_client.get("/addons/").content.decode()
    assert re.search(r"last seen 2\d\xa0seconds ago", page) and "minutes ago" not in page
