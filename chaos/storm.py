"""The run after set-up: link, the storm (issuing, faults, people in Xero), quiet, the comparison."""

import logging
import threading
import time

from django.db import connections
from django.urls import NoReverseMatch, reverse

from bench import oauth_flow, workload
from bench.processes import BenchError
from integrations.xero.models import XeroConnection

from . import checks, faults
from .stream import Stream
from .xero_side import XeroSide, outside_documents_create

WEBHOOK_DUPLICATE_RATE = 0.2  # a fifth of the sandbox's webhook batches are sent twice
ISSUING_SHARE = 0.8  # documents are issued over the first 80% of the storm; faults go on to its end


class Storm:
    def __init__(self, config, cluster, rng):
        self.config, self.cluster, self.rng = config, cluster, rng
        self.org = workload.seed_sandbox()
        self.password = config.secrets["SECRET_KEY"][:24]
        workload.admin_user(self.password)
        self.stream = Stream(config, self.org, workload.catalogue(), rng)
        self.outside = outside_documents_create(
            self.org, documents=config.documents, share=config.outside_share, rng=rng
        )
        self.autovacuum = workload.AutovacuumStandIn(15.0)
        self.threads: list[threading.Thread] = []
        self.restarted_workers: list[int] = []  # workers that exited by themselves and were started again
        self.thread_errors: list[str] = []

    def run(self) -> dict:
        unqueued = _count_unqueued_pushes()
        _step("web server with the sandbox, the webhook receiver's server, the sandbox's webhook sender, workers, beat")
        self.cluster.start_web()
        self.cluster.start_sender(duplicate_rate=WEBHOOK_DUPLICATE_RATE, reorder=True)
        self.cluster.start_workers()
        _step("link over HTTP (sign in, LINK TO MY ACCOUNT, the sandbox's consent page, callback)")
        self._link()
        _step(f"the storm: {self.config.documents} documents issued in waves, faults injected, people paying in Xero")
        timeline = faults.Timeline(
            config=self.config, cluster=self.cluster, org=self.org, password=self.password, rng=self.rng
        )
        xero_side = XeroSide(
            self.org,
            target=round(self.config.xero_share * len(self.stream.invoice_pks)),
            seconds=self.config.storm_seconds,
            rng=self.rng,
        )
        storm_seconds = self._storm(timeline, xero_side)
        unused = checks.sandbox_faults(self.org)["left_unused"]
        unhit = faults.keep_only_unhit_faults(self.org)
        if unhit:
            _step(
                f"fault kinds that have hit nothing yet take one of the first calls of the settling: {', '.join(unhit)}"
            )
        _step("waiting for quiet: every document sent or failed, webhooks delivered and applied")
        quiet, settle_seconds = checks.wait_for_quiet(self.org, timeout=self.config.quiet_timeout, watch=self._watch)
        results = checks.figures(self.org, client_id=self.config.secrets["XERO_CLIENT_ID"], links=1 + timeline.relinks)
        results["faults"]["left_unused"] = unused
        results.update(
            {
                "storm_seconds": storm_seconds,
                "settle_seconds": settle_seconds,
                "quiet": quiet,
                "xero_side": dict(xero_side.done),
                "receiver": _receiver_missing(),
                "outside_documents_created": self.outside,
                "workers_that_exited_and_were_restarted": self.restarted_workers,
                "issues_whose_push_could_not_be_queued": unqueued.count,
                "timeline": {
                    "log": timeline.log,
                    "errors": timeline.errors + self.thread_errors,
                    "relinks": timeline.relinks,
                },
            }
        )
        results["checks"] = checks.verdict(results)
        missed = [c["check"] for c in results["checks"] if not c["ok"]]
        results["passed"] = not missed
        results["summary"] = "every check holds" if not missed else f"{len(missed)} missed: " + "; ".join(missed)
        return results

    def _link(self) -> None:
        oauth_flow.link_over_http(
            base_url=self.config.base_url,
            username=workload.USERNAME,
            password=self.password,
            tenant_id=str(self.org.tenant_id),
        )
        connection = XeroConnection.objects.current()
        if connection is None or connection.status != XeroConnection.Status.ACTIVE:
            raise BenchError(f"The OAuth flow ended without an active link:\n{self.cluster.web.log_tail()}")

    def _storm(self, timeline, xero_side) -> float:
        stop, issued = threading.Event(), threading.Event()
        started = time.monotonic()
        self._start("xero side", xero_side.run, stop)
        self._start("issuing", self._issue, stop, issued)
        timeline.run(stop, tick=lambda: self._tick(stop))
        while time.monotonic() - started < self.config.storm_seconds or not issued.is_set():
            self._tick(stop)
            if stop.wait(1):
                break
        stop.set()
        for thread in self.threads:
            thread.join(60)
        if self.thread_errors:
            raise BenchError("; ".join(self.thread_errors))
        return time.monotonic() - started

    def _issue(self, stop, issued) -> None:
        try:
            self.stream.issue(seconds=self.config.storm_seconds * ISSUING_SHARE, stop=stop)
        finally:
            issued.set()

    def _start(self, name: str, target, *args) -> None:
        def guarded():
            try:
                target(*args)
            except Exception as error:  # noqa: BLE001 — reported, and the run stops
                self.thread_errors.append(f"{name}: {type(error).__name__}: {error}")
            finally:
                connections.close_all()

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _tick(self, stop) -> None:
        self._watch()
        if self.thread_errors:
            stop.set()

    def _watch(self) -> None:
        """Each second: the processes that must never die are alive, a worker that exited is started again
        (as its supervisor would), and planner statistics are fresh."""
        for service in (self.cluster.web, self.cluster.sender, self.cluster.beat):
            service.check_alive()
        for index in self.cluster.restart_exited_workers():
            self.restarted_workers.append(index)
            logging.getLogger(__name__).warning("worker %d exited by itself: started again", index)
        self.autovacuum.tick()


class _Counter(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        self.count += 1


def _count_unqueued_pushes() -> _Counter:
    """While Redis is down, every issue logs that its push could not be queued (the sweeper sends the
    document later): counted here rather than printed, a traceback each."""
    counter = _Counter()
    for name in ("billing.services", "django.dispatch"):
        logger = logging.getLogger(name)
        logger.addHandler(counter if name == "billing.services" else logging.NullHandler())
        logger.propagate = False
    return counter


def _receiver_missing() -> str:
    try:
        reverse("xero:webhooks")
        return ""
    except NoReverseMatch:
        return "missing: no POST /integrations/xero/webhooks/, so no status can come back from Xero"


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)
