"""The figures of a sync phase, read from the database afterwards: the sandbox's request log (what
reached the Accounting API) and the platform's sync records (what was sent, and when)."""

import re
import statistics
import time
from collections import Counter

from django.conf import settings
from django.db.models import Count, Max

from integrations.xero.models import SyncRecord
from xero_sandbox.models import RequestLog

API_PREFIX = re.compile(r"^.*?/api\.xro/2\.0", re.IGNORECASE)
ID_PART = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27}", re.IGNORECASE)
FILE_NAME_PART = re.compile(r"/Attachments/[^/]+$", re.IGNORECASE)
STEADY = (0.1, 0.9)  # the steady part of a run: between the 10th and the 90th percentile of invoices sent


def api_calls(org, since, until) -> dict:
    log = RequestLog.objects.filter(organisation=org, at__gte=since, at__lte=until)
    by_endpoint = Counter()
    for method, path, status in log.values_list("method", "path", "status_code"):
        by_endpoint[f"{method} {_endpoint(path)}" + (" → 429" if status == 429 else "")] += 1
    durations = sorted(
        log.filter(method="PUT", path__icontains="/Invoices")
        .exclude(status_code=429)
        .values_list("duration_ms", flat=True)
    )
    too_many = log.filter(status_code=429).count()
    total = log.count()
    budget = settings.XERO_REQUEST_BUDGET
    return {
        "total": total,
        "counted": total - too_many,
        "too_many_requests": too_many,
        "longest_request": log.aggregate(longest=Max("target_length"))["longest"] or 0,
        "over_budget": log.filter(target_length__gt=budget).count(),
        "request_budget": budget,
        "answered_404": log.filter(status_code=404).count(),
        "by_endpoint": dict(sorted(by_endpoint.items())),
        "put_invoices_server_ms_median": statistics.median(durations) if durations else None,
        "statuses": dict(log.values_list("status_code").annotate(n=Count("pk")).order_by("status_code")),
    }


def _endpoint(path: str) -> str:
    endpoint = ID_PART.sub("/{id}", API_PREFIX.sub("", path).split("?")[0]) or "/"
    return FILE_NAME_PART.sub("/Attachments/{file name}", endpoint)


def states(record_ids: list[int]) -> dict:
    found = SyncRecord.objects.filter(pk__in=record_ids).values_list("state").annotate(n=Count("pk"))
    return dict(found)


def settled(record_ids: list[int]) -> bool:
    counts = states(record_ids)
    return counts.get("waiting", 0) + counts.get("sending", 0) == 0


def wait_until_settled(record_ids: list[int], *, timeout: float, watch, label: str) -> bool:
    """Poll until every record is sent or failed; `watch()` runs each second (samples, liveness)."""
    deadline = time.monotonic() + timeout
    last_print = 0.0
    while time.monotonic() < deadline:
        watch()
        if settled(record_ids):
            return True
        if time.monotonic() - last_print > 15:
            print(f"  {label}: {states(record_ids)}", flush=True)
            last_print = time.monotonic()
        time.sleep(1)
    return settled(record_ids)


def pace(record_ids: list[int], org, released_at) -> dict:
    """Invoices sent per minute over the steady part, and the 429s met in it and in all."""
    sent = sorted(SyncRecord.objects.filter(pk__in=record_ids, state="sent").values_list("sent_at", flat=True))
    if len(sent) < 2:
        return {"sent": len(sent), "steady_per_minute": None}
    first, last = (sent[min(len(sent) - 1, int(share * len(sent)))] for share in STEADY)
    steady_seconds = (last - first).total_seconds()
    steady_count = sum(1 for at in sent if first < at <= last)
    whole_seconds = (sent[-1] - released_at).total_seconds()
    return {
        "sent": len(sent),
        "steady_window_seconds": round(steady_seconds, 1),
        "steady_invoices": steady_count,
        "steady_per_minute": round(steady_count / steady_seconds * 60) if steady_seconds > 0 else None,
        "steady_429s": RequestLog.objects.filter(organisation=org, status_code=429, at__gt=first, at__lte=last).count(),
        "whole_run_seconds": round(whole_seconds, 1),
        "whole_run_per_minute": round(len(sent) / whole_seconds * 60) if whole_seconds > 0 else None,
    }


def failures(record_ids: list[int], limit: int = 5) -> dict:
    failed = SyncRecord.objects.filter(pk__in=record_ids, state="failed")
    messages = Counter(failed.values_list("error", flat=True))
    return {"count": failed.count(), "messages": [f"{n}× {text[:300]}" for text, n in messages.most_common(limit)]}
