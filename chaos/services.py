"""The run's processes: its own redis-server, the web server (platform and sandbox), a second web
server for the webhook receiver alone, the sandbox's webhook sender, Celery workers and beat.

Started and stopped with bench's helpers (bench/processes.py); this module adds what a chaos run does
to them: SIGKILL a worker and start another, restart Redis, take the receiver down and back up.
"""

import contextlib
import os
import signal
import sys
import time

from bench import processes
from bench.config import base_env, sandbox_env
from bench.processes import BenchError, Service

APP_QUEUE = "celery"  # the application's queue; workers consume it from the start


def environment(config) -> dict:
    """Every process's environment: bench's (fresh secrets, DEBUG off, sandbox mounted) and the run's knobs."""
    env = base_env(config)
    env.update(
        sandbox_env(
            {
                # A compressed "minute" (10 s) so that a 429's Retry-After costs seconds, not a minute.
                "MINUTE_SECONDS": 10,
                "MINUTE_LIMIT": 100,
                "DAY_LIMIT": 1_000_000,
                "CONCURRENT_LIMIT": 5,
                "ACCESS_TOKEN_SECONDS": config.token_seconds,
            }
        )
    )
    env.update(
        {
            "XERO_WEBHOOK_URL": config.webhook_url,  # the sandbox app posts its events there
            "XERO_CALLS_PER_MINUTE": "480",  # 80% of the sandbox's 100 per 10 s
            "XERO_READ_TIMEOUT": str(config.read_timeout),  # slow answers take longer than this
            "XERO_REFRESH_MARGIN_SECONDS": "20",  # a third of the quick run's token lifetime (production: 5 of 30 min)
            "XERO_SYNC_CLAIM_SECONDS": "180",  # a killed worker's documents go back to waiting after this
            "XERO_RECONCILE_MINUTES": "2",  # the safety net for missed webhooks, on the run's compressed clock
            "CELERY_VISIBILITY_TIMEOUT": "120",  # a killed worker's task is delivered again after this
            "BENCH_WORKER_LOGLEVEL": os.environ.get("CHAOS_WORKER_LOGLEVEL", "WARNING"),
        }
    )
    return env


class Cluster:
    """The processes of one run, each restartable."""

    def __init__(self, config, env: dict):
        self.config, self.env = config, env
        self.redis: Service | None = None
        self.web: Service | None = None
        self.hooks: Service | None = None
        self.sender: Service | None = None
        self.workers: dict[int, Service] = {}
        self.beat: Service | None = None

    def start_redis(self) -> None:
        self.redis = processes.ensure_redis(self.config.redis_url, self.config.run_dir)
        if self.redis is None:
            raise BenchError(
                f"Something already answers on {self.config.redis_url}: the run needs a Redis of its "
                "own that it may restart (use --redis-port)"
            )

    def restart_redis(self, down_seconds: float) -> None:
        self.redis.stop(grace=10)  # nothing saved: queued tasks and cached flags are lost, as in a crash
        time.sleep(down_seconds)
        self.redis.start()
        processes.wait_for_redis(self.config.redis_url)

    def start_web(self) -> None:
        self.web = processes.gunicorn(self.config, self.env)
        processes.wait_for_http(self.web, f"{self.config.base_url}/login/")
        self.start_hooks()

    def start_hooks(self) -> None:
        """The webhook receiver's own server: the same application, on the port XERO_WEBHOOK_URL names."""
        argv = [
            str(processes.BIN / "gunicorn"),
            "cocoonops_xero.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.config.hooks_port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
        ]
        self.hooks = Service("hooks", argv, self.env, self.config.run_dir).start()
        processes.wait_for_http(self.hooks, f"http://127.0.0.1:{self.config.hooks_port}/login/")

    def stop_hooks(self) -> None:
        self.hooks.stop(grace=5)

    def start_sender(self, *, duplicate_rate: float, reorder: bool) -> None:
        argv = [sys.executable, "-m", "chaos.sender", "--duplicate-rate", str(duplicate_rate)]
        if reorder:
            argv.append("--reorder")
        self.sender = Service("webhook-sender", argv, self.env, self.config.run_dir).start()

    def start_workers(self) -> None:
        for index in range(1, self.config.workers + 1):
            self.start_worker(index)
        self.beat = processes.celery_beat(self.config, self.env)

    def start_worker(self, index: int) -> None:
        self.workers[index] = processes.celery_worker(index, self.config, self.env, APP_QUEUE)

    def kill_worker(self, index: int) -> None:
        """SIGKILL the worker and its pool at once (no warm shutdown, no acknowledgement), then start another."""
        service = self.workers[index]
        for pid in processes.process_tree(service.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        service.process.wait(10)
        service.stop()  # forgets it
        self.start_worker(index)

    def restart_exited_workers(self) -> list[int]:
        """Start again any worker that exited by itself, as a process supervisor (systemd's Restart=always)
        does in production. Celery 5.7's Redis transport can die on reconnecting after a Redis restart
        ("Unrecoverable error: AttributeError … 'hostname'"); what matters here is that nothing is lost."""
        exited = [index for index, service in self.workers.items() if service is not None and not service.alive()]
        for index in exited:
            self.workers[index].stop()
            self.start_worker(index)
        return exited

    def check_alive(self) -> None:
        for service in (self.web, self.sender, self.beat, *self.workers.values()):
            if service is not None:
                service.check_alive()
