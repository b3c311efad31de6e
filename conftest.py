import os

import pytest
from django.conf import settings
from django.db import connection

IN_CI = bool(os.environ.get("CI"))


def _skip_or_fail(reason: str) -> None:
    # On CI the services are part of the contract: a missing one is a failure, never a skip.
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _require_marked_services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _skip_or_fail("needs PostgreSQL: set DATABASE_URL=postgres://…")
    if request.node.get_closest_marker("redis") and not settings.REDIS_URL.startswith("redis"):
        _skip_or_fail("needs Redis: set REDIS_URL=redis://…")


def pytest_collection_modifyitems(items):
    """Two tiers: a test that reaches a server it starts (the Xero sandbox behind pytest-django's live
    server) is marked `contract`; the rest run in milliseconds (`pytest -m "not contract"`)."""
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.contract)
