"""The webhook receiver, measured (issue 6): latency under 20 concurrent senders, and Xero calls per
100 events applied.

1. K invoices are issued and sent to the sandbox from the bench's own process (the sync's own code),
   then marked paid in the sandbox's books (one UPDATE: how they got paid is not what is measured).
2. gunicorn serves the receiver with a webhook key, each thread keeping its database connection;
   Celery workers and beat are started but held while the latency is measured (the processing's
   reads are served by the sandbox in the same web server: they would be counted as the receiver's).
3. For each payload size (1 event, 50 events), S senders (threads, each with its own keep-alive
   connection) POST pre-signed bodies at a set rate — each sender on its own schedule, a POST's latency
   counted from when it was due — and then as fast as they are answered (the ceiling). Events name the
   paid invoices round-robin with distinct moments, so every event is new (none dropped as a duplicate)
   and any 50 consecutive events name 50 different documents: the worst case for the bulk reads.
4. The workers are released; the bench waits until no event waits, then counts the sandbox's read calls
   (GET /Invoices) since the first POST against the events applied.
"""

import base64
import datetime
import hashlib
import hmac
import json
import statistics
import threading
import time
import uuid

import urllib3
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from integrations.xero.models import SyncRecord, WebhookEvent, WebhookRejection
from integrations.xero.outbound import sending
from xero_sandbox.models import Document, RequestLog

from . import figures, processes, workload
from .config import LIMITS_OFF, sandbox_env
from .processes import BenchError
from .workers import Workers, drop_waiting

RECEIVER_PATH = "/integrations/xero/webhooks/"
P99_GOAL_MS = 50
INVOICES_PATH = "/xero-sandbox/api.xro/2.0/Invoices"


def calls_per_100_goal() -> float:
    """100 documents read back in as few `GET /Invoices?IDs=…` as the request budget allows: each id 36
    characters and a URL-encoded comma (%2C). With 50 ids a call (before the budget) this was 2."""
    room = settings.XERO_REQUEST_BUDGET - len(INVOICES_PATH) - len("?IDs=")
    ids_per_call = 1 + (room - 36) // (36 + 3)
    return 100 / ids_per_call


SIZES = (1, 50)
CONN_MAX_AGE = 300
WARM_UP_PER_SENDER = 2


def run(bench, config) -> dict:
    """The receiver phase; `bench` is the run's `phases.Run` (linked, web server up with limits off)."""
    invoice_ids = _sent_and_paid(bench, config)
    env = {
        **bench.env,
        "XERO_CALLS_PER_MINUTE": str(LIMITS_OFF["MINUTE_LIMIT"]),
        "XERO_APP_CALLS_PER_MINUTE": str(LIMITS_OFF["APP_MINUTE_LIMIT"]),
    }
    drop_waiting(config.redis_url)  # the issues' push tasks: everything is sent already
    _serve_with_persistent_connections(bench, config)
    workers = Workers(config, env).start()
    try:
        started = timezone.now()
        # The workers are held while the latency is measured: the figure is the receiver's own, not shared
        # with the processing's reads, which the sandbox serves from the same web server and CPUs.
        latency = _measure_latency(config, bench.org.tenant_id, invoice_ids)
        workers.release()
        settled = _wait_until_processed(timeout=config.receiver_timeout, watch=workers.check_alive)
    finally:
        workers.stop()
    return {
        "invoices": len(invoice_ids),
        "senders": config.receiver_senders,
        "latency": latency,
        "processing": _processing(bench.org, started, settled),
    }


def goals(receiver: dict) -> list[dict]:
    rows = []
    for size in SIZES:
        measured = receiver["latency"][f"{size}_event"]
        rows.append(
            {
                "figure": f"Receiver latency, signed {size}-event payloads, {receiver['senders']} concurrent senders "
                f"at {measured['rate_asked']:g} POSTs/s in all (median; p99 over {measured['requests']} POSTs)",
                "measured": f"{measured['median_ms']} ms; {measured['p99_ms']} ms"
                + (f" ({measured['errors']} not 200)" if measured["errors"] else ""),
                "goal": f"p99 < {P99_GOAL_MS} ms",
                "met": measured["p99_ms"] < P99_GOAL_MS and not measured["errors"],
            }
        )
    processing = receiver["processing"]
    per_100 = processing["calls_per_100_applied"]
    rows.append(
        {
            "figure": f"Xero calls per 100 webhook events applied ({processing['applied']} applied, "
            f"{processing['read_calls']} read calls)",
            "measured": f"{per_100}",
            "goal": f"≤ {calls_per_100_goal():.2f}",
            "met": per_100 is not None and per_100 <= calls_per_100_goal() and processing["all_processed"],
        }
    )
    return rows


def markdown(receiver: dict) -> list[str]:
    lines = [
        "## Webhook receiver",
        "",
        f"- {receiver['invoices']} invoices sent and paid in the sandbox; {receiver['senders']} concurrent senders "
        "(threads in the bench process, each with a keep-alive connection) POSTing pre-signed bodies, first at a "
        "set rate (latency counted from when each POST was due), then as fast as answered (the ceiling: there, "
        "latency is senders ÷ throughput). The Celery workers were held meanwhile (see Processing).",
        "",
        "| Payload | Rate asked (POSTs/s) | POSTs | Events | POSTs/s done "
        "| median ms | p90 ms | p99 ms | max ms | not 200 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, f in receiver["latency"].items():
        lines.append(
            f"| {key.replace('_', ' ')} | {f['rate_asked']} | {f['requests']} | {f['events']} | {f['per_second']} | "
            f"{f['median_ms']} | {f['p90_ms']} | {f['p99_ms']} | {f['max_ms']} | {f['errors']} |"
        )
    processing = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in receiver["processing"].items())
    lines += ["", f"- Processing (Celery workers, released once the POSTs were done): {processing}.", ""]
    return lines


def _serve_with_persistent_connections(bench, config) -> None:
    """The web server again, each thread keeping its database connection (CONN_MAX_AGE), as a production
    deployment would: a new PostgreSQL connection per request would otherwise cost more than the receiver."""
    bench.web.stop()
    env = {**bench.env, **sandbox_env(LIMITS_OFF), "CONN_MAX_AGE": str(CONN_MAX_AGE)}
    bench.web = processes.gunicorn(config, env)
    processes.wait_for_http(bench.web, f"http://127.0.0.1:{config.port}/login/")


# --- The documents the events are about ----------------------------------------------------------
def _sent_and_paid(bench, config) -> list[str]:
    accounts = bench.new_accounts("W")
    pks = workload.drafts(
        label="W",
        accounts=accounts,
        count=config.receiver_invoices,
        order="round-robin",
        lines=1,
        catalogue=bench.catalogue,
        rng=bench.rng,
    )
    workload.issue_all(pks, threads=config.issue_threads)
    settings.XERO_CALLS_PER_MINUTE = LIMITS_OFF["MINUTE_LIMIT"]  # this process's pace: the sandbox's limits are off
    settings.XERO_APP_CALLS_PER_MINUTE = LIMITS_OFF["APP_MINUTE_LIMIT"]
    while sending.sync_round_push():
        pass
    xero_ids = [
        str(i) for i in SyncRecord.objects.filter(invoice_id__in=pks, state="sent").values_list("xero_id", flat=True)
    ]
    if len(xero_ids) != len(pks):
        raise BenchError(f"Only {len(xero_ids)} of {len(pks)} invoices reached the sandbox before the receiver phase.")
    Document.objects.filter(document_id__in=xero_ids).update(
        status="PAID", amount_paid=F("total"), updated_at=timezone.now(), fully_paid_on=timezone.localdate()
    )
    return xero_ids


# --- Senders -------------------------------------------------------------------------------------
def _measure_latency(config, tenant_id, invoice_ids) -> dict:
    """Per payload size: at the given rate (the goal's figure), then as fast as answered (the ceiling)."""
    moments, latency = _Moments(), {}
    for size in SIZES:
        rate = config.receiver_rate / (1 if size == 1 else 5)
        paced_posts = config.receiver_posts // (1 if size == 1 else 5)
        latency[f"{size}_event"] = _senders(
            config,
            _bodies(config, tenant_id, invoice_ids, size=size, count=paced_posts, moments=moments),
            size=size,
            rate=rate,
        )
        latency[f"{size}_event_saturated"] = _senders(
            config,
            _bodies(config, tenant_id, invoice_ids, size=size, count=paced_posts // 3, moments=moments),
            size=size,
            rate=None,
        )
    return latency


class _Moments:
    """Distinct event moments, a millisecond apart, shared by all senders."""

    def __init__(self):
        self.next, self.lock = datetime.datetime.now(datetime.UTC), threading.Lock()

    def take(self) -> str:
        with self.lock:
            self.next += datetime.timedelta(milliseconds=1)
            return self.next.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _senders(config, bodies: list[tuple[bytes, str]], *, size: int, rate: float | None, warm_up: bool = True) -> dict:
    """POST the bodies from `receiver_senders` threads. With a rate (POSTs a second, all senders together),
    each sender keeps its own schedule and a POST's latency counts from when it was due, so a server falling
    behind is charged for the wait; without one, each sender posts as soon as it has its answer (saturation)."""
    senders = config.receiver_senders
    warmed = WARM_UP_PER_SENDER * senders if warm_up else 0
    warm_up_bodies, bodies = bodies[:warmed], bodies[warmed:]
    if warm_up_bodies:  # untimed, all at once: every web thread opens its database and Redis connections
        _senders(config, warm_up_bodies, size=size, rate=None, warm_up=False)
    timings, errors, lock = [], [], threading.Lock()
    began = time.perf_counter() + 0.2

    def sender(index: int):
        pool = urllib3.HTTPConnectionPool("127.0.0.1", config.port, maxsize=1, retries=False)
        for count, (body, signature) in enumerate(bodies[index::senders]):
            due = time.perf_counter() if rate is None else began + (index + count * senders) / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            answer = pool.request("POST", RECEIVER_PATH, body=body, headers=_headers(signature))
            elapsed = (time.perf_counter() - due) * 1000
            with lock:
                timings.append(elapsed)
                if answer.status != 200 or answer.data:
                    errors.append(answer.status)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _latency(timings, errors, time.perf_counter() - began, rate, size)


def _bodies(config, tenant_id, invoice_ids, *, size: int, count: int, moments: "_Moments") -> list[tuple[bytes, str]]:
    key = config.secrets["XERO_WEBHOOK_KEY"]
    return [
        _signed(_payload(tenant_id, invoice_ids, start=i * size, size=size, moments=moments), key)
        for i in range(count + WARM_UP_PER_SENDER * config.receiver_senders)
    ]


def _payload(tenant_id, invoice_ids, *, start: int, size: int, moments: _Moments) -> bytes:
    events = [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_ids[(start + i) % len(invoice_ids)]}",
            "resourceId": invoice_ids[(start + i) % len(invoice_ids)],
            "eventDateUtc": moments.take(),
            "eventType": "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": str(tenant_id),
            "tenantType": "ORGANISATION",
        }
        for i in range(size)
    ]
    return json.dumps(
        {
            "events": events,
            "firstEventSequence": start + 1,
            "lastEventSequence": start + size,
            "entropy": uuid.uuid4().hex[:20].upper(),
        },
        separators=(",", ":"),
    ).encode()


def _signed(body: bytes, key: str) -> tuple[bytes, str]:
    return body, base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _headers(signature: str) -> dict:
    return {"Content-Type": "application/json", "x-xero-signature": signature}


def _latency(timings: list[float], errors: list, seconds: float, rate: float | None, size: int) -> dict:
    ordered = sorted(timings)

    def percentile(p):
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {
        "rate_asked": rate or "as fast as answered",
        "requests": len(ordered),
        "events": len(ordered) * size,
        "seconds": round(seconds, 1),
        "per_second": round(len(ordered) / seconds),
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": percentile(0.90),
        "p99_ms": percentile(0.99),
        "max_ms": round(ordered[-1], 1),
        "errors": len(errors),
    }


# --- Processing ---------------------------------------------------------------------------------
def _wait_until_processed(*, timeout: float, watch) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watch()
        if not WebhookEvent.objects.filter(state__in=["pending", "processing"]).exists():
            return True
        time.sleep(0.5)
    return False


def _processing(org, since, settled: bool) -> dict:
    counts = {
        state: WebhookEvent.objects.filter(state=state).count()
        for state in ("applied", "ignored", "pending", "processing")
    }
    reads = RequestLog.objects.filter(organisation=org, at__gte=since, method="GET").count()
    calls = figures.api_calls(org, since, timezone.now())
    return {
        "all_processed": settled,
        **counts,
        "rejected": WebhookRejection.objects.count(),
        "read_calls": reads,
        "calls_per_100_applied": round(100 * reads / counts["applied"], 2) if counts["applied"] else None,
        "calls_by_endpoint": calls["by_endpoint"],
    }
