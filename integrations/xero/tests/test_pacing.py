"""Workers share each organisation's call budget instead of meeting Xero's 429s."""

import threading
import time

import pytest
from django.db import connection as db

from billing.tests.factories import BillingAccountFactory
from integrations.xero import client, pacing, sync
from integrations.xero.models import CallPace, SyncRecord, XeroConnection
from xero_sandbox.models import RequestLog

from .conftest import link
from .test_sync import codes, issued  # noqa: F401  (fixtures and helpers)


@pytest.fixture
def linked(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    return XeroConnection.objects.get()


def test_calls_to_one_organisation_are_spaced_evenly_across_threads(linked, settings):
    settings.XERO_CALLS_PER_MINUTE = 240  # one call every 0.25 s
    tenant, token = str(linked.tenant_id), linked.access_token
    started = time.monotonic()

    def calls():
        for _ in range(4):
            with pacing.call(tenant):
                client.read_organisation(access_token=token, tenant_id=tenant)
        db.close()

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert time.monotonic() - started >= 11 * 0.25 - 0.05  # 12 calls, 11 intervals
    assert CallPace.objects.get().in_flight == 0


def test_a_steady_stream_at_the_sandboxs_limit_meets_no_429(linked, settings):
    # The sandbox allows 10 calls per 2-second "minute" (5 a second); the workers pace at 4 a second.
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "MINUTE_LIMIT": 10, "MINUTE_SECONDS": 2.0}
    settings.XERO_CALLS_PER_MINUTE = 240
    tenant, token = str(linked.tenant_id), linked.access_token
    RequestLog.objects.all().delete()
    for _ in range(20):
        with pacing.call(tenant):
            client.read_organisation(access_token=token, tenant_id=tenant)
    assert RequestLog.objects.filter(status_code=429).count() == 0
    assert RequestLog.objects.filter(status_code=200).count() == 20


def test_without_pacing_the_same_stream_would_meet_429s(linked, settings):
    """The check above can fail: unpaced, the sandbox refuses part of the stream."""
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "MINUTE_LIMIT": 10, "MINUTE_SECONDS": 60.0}
    tenant, token = str(linked.tenant_id), linked.access_token
    refused = 0
    for _ in range(20):
        try:
            client.read_organisation(access_token=token, tenant_id=tenant)
        except client.XeroRateLimited:
            refused += 1
    assert refused > 0


def test_the_daily_limit_pauses_the_organisation_visibly_without_failing_documents(linked, settings, codes, admin_client):  # noqa: F811
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "DAY_LIMIT": 1, "MINUTE_SECONDS": 0.02}
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    RequestLog.objects.all().delete()
    sync.push_round()  # the contact lookup takes the day's one call; the PUT meets 429 day
    record = SyncRecord.objects.get(invoice=invoice)
    assert record.state == "waiting"
    assert pacing.paused(str(linked.tenant_id)) is not None
    assert "daily call limit" in admin_client.get("/addons/").content.decode()
    SyncRecord.objects.update(next_attempt_at=None)  # even when due, nothing is sent while paused
    sync.push_round()
    assert SyncRecord.objects.get(invoice=invoice).state == "waiting"
    assert RequestLog.objects.filter(method="PUT").count() == 1
