"""The sandbox's knobs, read at call time so that tests can change them with `settings`."""

from django.conf import settings

DEFAULTS = {
    "MINUTE_LIMIT": 60,  # calls per organisation per minute
    "DAY_LIMIT": 5000,  # calls per organisation per day
    "CONCURRENT_LIMIT": 5,  # calls in flight per organisation
    "APP_MINUTE_LIMIT": 10000,  # calls per app per minute, across organisations
    "MINUTE_SECONDS": 60.0,  # the length of a "minute": a benchmark can compress time
    "ACCESS_TOKEN_SECONDS": 1800,
    "REFRESH_TOKEN_DAYS": 60,
    "REFRESH_GRACE_SECONDS": 1800,  # a used refresh token still works this long (lost responses)
    "CODE_SECONDS": 300,  # authorization codes are single-use and short-lived
    "IDEMPOTENCY_SECONDS": 360,
    "MAX_BODY_BYTES": 3_500_000,
    "PAGE_SIZE": 100,
}


def sandbox_setting(name: str):
    return getattr(settings, "XERO_SANDBOX", {}).get(name, DEFAULTS[name])
