"""The sandbox's knobs, read at call time so that tests can change them with `settings`."""

from django.conf import settings

DEFAULTS = {
    "MINUTE_LIMIT": 60,  # calls per organisation per minute
    "DAY_LIMIT": 5000,  # calls per organisation per day
    "CONCURRENT_LIMIT": 5,  # calls in flight per organisation
    # Calls per app per minute, across all its organisations: past it, 429 `X-Rate-Limit-Problem: appminute`.
    "APP_MINUTE_LIMIT": 10000,
    "MINUTE_SECONDS": 60.0,  # the length of a "minute": a benchmark can compress time
    "ACCESS_TOKEN_SECONDS": 1800,
    "REFRESH_TOKEN_DAYS": 60,
    "REFRESH_GRACE_SECONDS": 1800,  # a used refresh token still works this long (lost responses)
    "CODE_SECONDS": 300,  # authorization codes are single-use and short-lived
    "IDEMPOTENCY_SECONDS": 360,
    "MAX_BODY_BYTES": 3_500_000,  # of a JSON body; an attachment's file has its own limit below
    # Attachments (api_attachments): Xero's help and integrators' docs give at most 10 files a document
    # and 10 MB a file (read here as 10 MiB); past either the sandbox answers 400 in its own words.
    "ATTACHMENTS_PER_DOCUMENT": 10,
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    # Xero's edge answers 404 (an HTML page) to a request whose path and query, URL-encoded, are longer
    # than this, before the API sees it (xero-api.md §10). Measured as edge.target_length does.
    "EDGE_MAX_REQUEST_CHARS": 2050,
    "PAGE_SIZE": 100,
    # Webhooks (xero_sandbox/webhooks.py)
    "WEBHOOK_BATCH_SIZE": 50,  # events per POST; 1 makes every event its own delivery
    "WEBHOOK_TIMEOUT_SECONDS": 5.0,  # Xero gives a receiver 5 seconds to answer
    # Seconds to wait after the 1st, 2nd, ... failed attempt; when they run out (about 23 h) give up.
    "WEBHOOK_RETRY_DELAYS": (10, 30, 120, 600, 3600, 7200, 14400, 28800, 28800),
    "WEBHOOK_DUPLICATE_RATE": 0.0,  # chaos: the share of batches that are also sent a second time
    "WEBHOOK_REORDER": False,  # chaos: send due deliveries newest first instead of in sequence order
}


def sandbox_setting(name: str):
    return getattr(settings, "XERO_SANDBOX", {}).get(name, DEFAULTS[name])
