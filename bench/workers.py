"""Real Celery workers (prefork) and beat for one phase, held idle until the backlog is in place.

Each worker starts consuming only a hold queue, so that its idle memory can be read and the
phase's invoices issued (their tasks queue up in Redis) before it touches any of them; `release`
then tells every worker to consume the application's queue, as a remote-control command.
"""

import socket
import time

import redis
from celery import current_app

from . import processes
from .processes import BenchError

HOLD_QUEUE = "bench.hold"
APP_QUEUE = "celery"


class Workers:
    def __init__(self, config, env: dict):
        self.config, self.env = config, env
        self.services: list[processes.Service] = []
        self.names = [f"bench{i}@{socket.gethostname()}" for i in range(1, config.workers + 1)]
        self.rss_peak: dict[str, float] = {"main": 0.0, "pool": 0.0}

    def start(self) -> "Workers":
        self.services = [
            processes.celery_worker(i, self.config, self.env, HOLD_QUEUE) for i in range(1, self.config.workers + 1)
        ]
        self.services.append(processes.celery_beat(self.config, self.env))
        self._wait_ready()
        return self

    def release(self) -> None:
        replies = current_app.control.add_consumer(APP_QUEUE, destination=self.names, reply=True, timeout=10)
        if len(replies) != len(self.names):
            raise BenchError(
                f"Only {len(replies)} of {len(self.names)} workers agreed to consume {APP_QUEUE}: {replies}"
            )

    def stop(self) -> None:
        for service in self.services:
            service.stop()

    def check_alive(self) -> None:
        for service in self.services:
            service.check_alive()

    def cpu_seconds(self) -> float:
        """CPU (user + system) of every worker process and its pool; beat is not counted."""
        return sum(processes.cpu_seconds(pid) for pid in self._worker_pids())

    def rss(self) -> dict:
        """Resident memory in MB: each worker's main process, and its pool processes."""
        mains = [service.pid for service in self._workers()]
        pools = [pid for pid in self._worker_pids() if pid not in mains]
        return {
            "main_mb": [round(processes.rss_mb(pid), 1) for pid in mains],
            "pool_mb": [round(processes.rss_mb(pid), 1) for pid in pools],
        }

    def sample(self) -> None:
        """One look at the processes: still alive, and their memory's peak so far."""
        self.check_alive()
        now = self.rss()
        self.rss_peak["main"] = max([self.rss_peak["main"], *now["main_mb"]])
        self.rss_peak["pool"] = max([self.rss_peak["pool"], *now["pool_mb"]])

    def _workers(self):
        return [service for service in self.services if service.name.startswith("worker")]

    def _worker_pids(self) -> list[int]:
        return [pid for service in self._workers() for pid in processes.process_tree(service.pid)]

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        answered = set()
        while time.monotonic() < deadline:
            self.check_alive()
            for reply in current_app.control.ping(destination=self.names, timeout=1.0):
                answered.update(reply)
            pools_up = all(len(processes.process_tree(s.pid)) > self.config.concurrency for s in self._workers())
            if answered >= set(self.names) and pools_up:
                return
        logs = "\n".join(service.log_tail(10) for service in self.services)
        raise BenchError(
            f"Celery workers did not come up within {timeout:.0f}s (answered: {sorted(answered)}):\n{logs}"
        )


def queue_depth(redis_url: str) -> dict:
    """Messages waiting in the application's queue, and delivered but not yet acknowledged."""
    client = redis.Redis.from_url(redis_url)
    waiting = sum(client.llen(key) for key in client.scan_iter(match=f"{APP_QUEUE}*") if client.type(key) == b"list")
    return {"waiting": waiting, "unacked": client.hlen("unacked")}


def wait_until_drained(redis_url: str, *, timeout: float, watch, label: str) -> bool:
    deadline = time.monotonic() + timeout
    last_print = time.monotonic()
    while time.monotonic() < deadline:
        watch()
        depth = queue_depth(redis_url)
        if depth["waiting"] == 0 and depth["unacked"] == 0:
            return True
        if time.monotonic() - last_print > 15:
            print(f"  {label}: all settled; tasks left in the queue {depth}", flush=True)
            last_print = time.monotonic()
        time.sleep(0.5)
    return False


def purge(redis_url: str) -> int:
    """Forget Celery messages left in the bench's Redis database by an earlier, interrupted run."""
    client = redis.Redis.from_url(redis_url)
    keys = [
        *client.scan_iter(match=f"{APP_QUEUE}*"),
        *client.scan_iter(match=f"{HOLD_QUEUE}*"),
        b"unacked",
        b"unacked_index",
    ]
    return client.delete(*keys)


def drop_waiting(redis_url: str) -> int:
    """Drop the tasks still waiting in the application's queue; return how many there were."""
    client = redis.Redis.from_url(redis_url)
    keys = [key for key in client.scan_iter(match=f"{APP_QUEUE}*") if client.type(key) == b"list"]
    dropped = sum(client.llen(key) for key in keys)
    if keys:
        client.delete(*keys)
    return dropped
