"""The parts of a run, in order: link, the sync paced, the cost of issuing, the sync with limits off.

A sync phase issues its invoices while the workers are held (the tasks queue up in Redis, one per
issue, as the application queues them), then releases the workers and waits until every record is
sent or failed and the queue is empty.
"""

import random
import time

from django.utils import timezone

from integrations.xero.models import SyncRecord, XeroConnection
from xero_sandbox.models import Document

from . import figures, oauth_flow, processes, workload
from .config import LIMITS_OFF, base_env, sandbox_env
from .processes import BenchError
from .workers import Workers, drop_waiting, queue_depth, wait_until_drained

DRAIN_SECONDS_PER_TASK = 0.1  # generous: an empty task takes a few hundredths of a second


class Run:
    def __init__(self, config):
        self.config = config
        self.env = base_env(config)
        self.rng = random.Random(config.seed)
        self.web: processes.Service | None = None
        self.org = workload.seed_sandbox()
        self.password = config.secrets["SECRET_KEY"][:24]
        workload.admin_user(self.password)
        self.catalogue = workload.catalogue()
        self.autovacuum = workload.AutovacuumStandIn(config.analyze_every)

    # --- the web server (the platform and the sandbox) ----------------------------------------
    def serve(self, limits: dict) -> None:
        if self.web:
            self.web.stop()
        self.web = processes.gunicorn(self.config, {**self.env, **sandbox_env(limits)})
        processes.wait_for_http(self.web, f"http://127.0.0.1:{self.config.port}/login/")

    # --- linking -------------------------------------------------------------------------------
    def link(self) -> dict:
        started = timezone.now()
        oauth_flow.link_over_http(
            base_url=f"http://127.0.0.1:{self.config.port}",
            username=workload.USERNAME,
            password=self.password,
            tenant_id=str(self.org.tenant_id),
        )
        connection = XeroConnection.objects.current()
        if connection is None or connection.status != "active" or str(connection.tenant_id) != str(self.org.tenant_id):
            raise BenchError(
                f"The OAuth flow ended without an active link to the NZ organisation:\n{self.web.log_tail()}"
            )
        if not connection.reference_data_loaded_at:
            raise BenchError(f"Linked, but the reference data did not load: {connection.last_error}")
        return {
            "method": "OAuth flow over HTTP (sign in, LINK TO MY ACCOUNT, sandbox consent, callback)",
            "started_at": started,
            "calls": figures.api_calls(self.org, started, timezone.now()),
        }

    # --- what a crafted form costs ---------------------------------------------------------------
    def oversized_form_cost(self, accounts) -> dict:
        return workload.oversized_form_cost(account_pk=accounts[0].pk)

    # --- what issuing costs ----------------------------------------------------------------------
    def issue_cost(self, accounts) -> dict:
        count = self.config.issues
        pks = workload.drafts(
            label="C",
            accounts=accounts,
            count=2 * count,
            order="random",
            lines=self.config.lines_per_invoice,
            catalogue=self.catalogue,
            rng=self.rng,
        )
        cost = workload.issue_cost(on=pks[:count], off=pks[count:])
        on, off = cost["on"], cost["off"]
        cost["added_queries"] = on["queries_median"] - off["queries_median"]
        cost["added_ms_median"] = round(on["ms_median"] - off["ms_median"], 2)
        return cost

    # --- a sync phase ------------------------------------------------------------------------------
    def new_accounts(self, label: str, code_length: int = 0):
        return workload.new_accounts(
            label=label,
            count=self.config.accounts,
            known_share=self.config.known_share,
            org=self.org,
            rng=self.rng,
            code_length=code_length,
        )

    def sync_phase(
        self, *, label: str, accounts, worker_env: dict, timeout: float, calls_since=None, drain: bool = True
    ) -> dict:
        phase_started = timezone.now()
        workers = Workers(self.config, {**self.env, **worker_env}).start()
        try:
            time.sleep(2)  # let the idle workers settle before reading their memory
            rss_idle = workers.rss()
            pks = workload.drafts(
                label=label,
                accounts=accounts,
                count=self.config.invoices,
                order=self.config.order,
                lines=self.config.lines_per_invoice,
                catalogue=self.catalogue,
                rng=self.rng,
            )
            issue_seconds = workload.issue_all(pks, threads=self.config.issue_threads)
            self.autovacuum.now()
            record_ids = list(SyncRecord.objects.filter(state="waiting").values_list("pk", flat=True))
            queued = queue_depth(self.config.redis_url)
            issuing = {"issued": len(pks), "issue_seconds": round(issue_seconds, 1), "tasks_queued": queued["waiting"]}
            return self._measure(
                workers, label, record_ids, timeout, rss_idle, calls_since or phase_started, issuing, drain
            )
        finally:
            workers.stop()

    def _measure(
        self, workers: Workers, label: str, record_ids, timeout, rss_idle, calls_since, issuing, drain
    ) -> dict:
        watch = self._watcher(workers)
        analyze_runs, cpu_before = self.autovacuum.runs, workers.cpu_seconds()
        released_at, released = timezone.now(), time.monotonic()
        workers.release()
        complete = figures.wait_until_settled(record_ids, timeout=timeout, watch=watch, label=label)
        settled_seconds, cpu_settled = time.monotonic() - released, workers.cpu_seconds() - cpu_before
        if drain:
            timeout = max(120.0, issuing["tasks_queued"] * DRAIN_SECONDS_PER_TASK) if complete else 5.0
            drained = wait_until_drained(self.config.redis_url, timeout=timeout, watch=watch, label=label)
            cpu_drained = workers.cpu_seconds() - cpu_before
        else:  # what is left are tasks with nothing to send: dropped, to save the time
            drained, cpu_drained = f"no: {drop_waiting(self.config.redis_url)} tasks dropped once all had settled", None
        states = figures.states(record_ids)
        return {
            **issuing,
            "analyze_runs": self.autovacuum.runs - analyze_runs,
            "records": len(record_ids),
            "states": states,
            "complete": complete,
            "queue_drained": drained,
            "seconds_to_settle": round(settled_seconds, 1),
            "api_calls": figures.api_calls(self.org, calls_since, timezone.now()),
            "pace": figures.pace(record_ids, self.org, released_at),
            "failures": figures.failures(record_ids),
            "worker_cpu": _cpu_figures(states, cpu_settled, cpu_drained),
            "rss_mb": {
                "idle": rss_idle,
                "after": workers.rss(),
                "peak_main": round(workers.rss_peak["main"], 1),
                "peak_pool": round(workers.rss_peak["pool"], 1),
            },
        }

    def _watcher(self, workers: Workers):
        def watch():  # each second while waiting: processes alive, memory peak, planner statistics
            workers.sample()
            self.web.check_alive()
            self.autovacuum.tick()

        return watch


def _cpu_figures(states: dict, until_settled: float, until_drained: float | None) -> dict:
    handled = states.get("sent", 0) + states.get("failed", 0)  # each one was pushed

    def per_invoice(seconds):
        return round(seconds * 1000 / handled, 3) if handled and seconds is not None else None

    return {
        "invoices_handled": handled,
        "seconds_until_all_settled": round(until_settled, 2),
        "seconds_until_queue_empty": None if until_drained is None else round(until_drained, 2),
        "ms_per_invoice_until_all_settled": per_invoice(until_settled),
        "ms_per_invoice_until_queue_empty": per_invoice(until_drained),
    }


def exactly_once(org) -> dict:
    """Each platform document at most once in the sandbox's books, and every sent record there."""
    numbers = Document.objects.filter(organisation=org).values_list("number", flat=True)
    duplicates = len(numbers) - len(set(numbers))
    sent = set(SyncRecord.objects.filter(state="sent").values_list("invoice__number", flat=True))
    return {
        "documents_in_sandbox": len(numbers),
        "duplicate_numbers": duplicates,
        "sent_records": len(sent),
        "sent_but_missing_in_sandbox": len(sent - set(numbers)),
    }


UNPACED_WORKER_ENV = {
    "XERO_CALLS_PER_MINUTE": str(LIMITS_OFF["MINUTE_LIMIT"]),
    "XERO_APP_CALLS_PER_MINUTE": str(LIMITS_OFF["APP_MINUTE_LIMIT"]),
}
PACED_WORKER_ENV: dict = {}  # the application's own defaults: Xero's real limits
