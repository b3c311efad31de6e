"""Workers share each organisation's call budget instead of meeting Xero's 429s."""

import threading
import time

import pytest
from django.db import connection as db

from billing.tests.factories import BillingAccountFactory
from integrations.xero.api import pacing
from integrations.xero.api.errors import XeroRateLimited
from integrations.xero.api.xero_api import XeroApi
from integrations.xero.conftest import issued, link
from integrations.xero.models import CallPace, SyncRecord, XeroConnection
from integrations.xero.outbound import sending
from xero_sandbox.models import RequestLog


def in_parallel(target, *, threads: int) -> None:
    running = [threading.Thread(target=target) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=60)


@pytest.fixture
def linked(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    return XeroConnection.objects.get()


def test_calls_to_one_organisation_are_spaced_evenly_across_threads(linked, settings):
    settings.XERO_CALLS_PER_MINUTE = 240  # one call every 0.25 s
    started = time.monotonic()

    def calls():
        for _ in range(4):
            XeroApi(linked).read_organisation()
        db.close()

    in_parallel(calls, threads=3)
    assert time.monotonic() - started >= 11 * 0.25 - 0.05  # 12 calls, 11 intervals
    assert CallPace.objects.get(tenant_id=linked.tenant_id).in_flight == 0


def test_a_steady_stream_at_the_sandboxs_limit_meets_no_429(linked, settings):
    # The sandbox allows 10 calls per 2-second "minute" (5 a second); the workers pace at 4 a second.
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "MINUTE_LIMIT": 10, "MINUTE_SECONDS": 2.0}
    settings.XERO_CALLS_PER_MINUTE = 240
    RequestLog.objects.all().delete()
    for _ in range(20):
        XeroApi(linked).read_organisation()
    assert RequestLog.objects.filter(status_code=429).count() == 0
    assert RequestLog.objects.filter(status_code=200).count() == 20


def test_without_pacing_the_same_stream_would_meet_429s(linked, settings):
    """The check above can fail: unpaced, the sandbox refuses part of the stream."""
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "MINUTE_LIMIT": 10, "MINUTE_SECONDS": 60.0}
    unpaced = XeroApi.for_consent(tenant_id=str(linked.tenant_id), access_token=linked.access_token)  # no slot
    refused = 0
    for _ in range(20):
        try:
            unpaced.read_organisation()
        except XeroRateLimited:
            refused += 1
    assert refused > 0


def test_a_used_up_daily_budget_pauses_the_organisation_before_xero_must_refuse(linked, settings, codes, admin_client):  # noqa: F811
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "DAY_LIMIT": 1, "MINUTE_SECONDS": 0.02}
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    RequestLog.objects.all().delete()
    sending.sync_round_push()  # the contact lookup takes the day's one call and Xero says none is left
    assert SyncRecord.objects.get(invoice=invoice).state == "waiting"
    assert pacing.paused(str(linked.tenant_id)) is not None
    assert "daily call limit" in admin_client.get("/addons/").content.decode()
    assert not RequestLog.objects.filter(method="PUT").exists()
    assert not RequestLog.objects.filter(status_code=429).exists()


def test_the_daily_limit_pauses_the_organisation_visibly_without_failing_documents(
    linked, settings, codes, admin_client
):  # noqa: F811
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "DAY_LIMIT": 1, "MINUTE_SECONDS": 0.02}
    invoice = issued(codes, account=BillingAccountFactory(code="ACME01"))
    # Linking already spent the day's call: the first call of the sync meets a daily-limit 429.
    sending.sync_round_push()
    record = SyncRecord.objects.get(invoice=invoice)
    assert record.state == "waiting"
    assert RequestLog.objects.filter(status_code=429).count() == 1
    assert pacing.paused(str(linked.tenant_id)) is not None
    assert "daily call limit" in admin_client.get("/addons/").content.decode()
    SyncRecord.objects.update(next_attempt_at=None)  # even when due, nothing is sent while paused
    sending.sync_round_push()
    assert SyncRecord.objects.get(invoice=invoice).state == "waiting"
    assert RequestLog.objects.filter(status_code=429).count() == 1


def test_parallel_workers_look_up_and_create_each_new_customer_once(linked, codes, monkeypatch):  # noqa: F811
    from xero_sandbox.models import Fault, Organisation

    accounts = [BillingAccountFactory(code=f"PAR-{n:02d}") for n in range(4)]
    for _ in range(2):
        for account in accounts:
            issued(codes, account=account)  # two batches of four, each naming all four new customers
    monkeypatch.setattr(sending, "BATCH_SIZE", 4)
    # A slow lookup keeps the first worker inside it while the second one arrives.
    Fault.objects.create(
        organisation=Organisation.objects.get(tenant_id=linked.tenant_id),
        kind=Fault.Kind.SLOW,
        method="GET",
        path_contains="/Contacts",
        delay_seconds=0.5,
    )
    RequestLog.objects.all().delete()

    def worker():
        sending.sync_round_push()
        db.close()

    in_parallel(worker, threads=2)
    assert SyncRecord.objects.filter(state="sent").count() == 8
    assert RequestLog.objects.filter(path__icontains="/Contacts").count() == 2  # one lookup, one create
    assert CallPace.objects.get(tenant_id=linked.tenant_id).contacts_lease_until is None


def test_a_minute_budget_xero_reports_spent_skips_a_slot(linked, settings):
    settings.XERO_CALLS_PER_MINUTE = 600  # a slot every 0.1 s (and a little)
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "MINUTE_LIMIT": 1, "MINUTE_SECONDS": 60.0}
    RequestLog.objects.all().delete()
    XeroApi(linked).read_organisation()  # the sandbox answers X-MinLimit-Remaining: 0
    answered = RequestLog.objects.get().at
    pace = CallPace.objects.get(tenant_id=linked.tenant_id)
    assert (pace.next_call_at - answered).total_seconds() > 0.15  # two slots, not one


def test_issuing_many_documents_queues_one_push_until_it_starts(linked, codes, monkeypatch):  # noqa: F811
    from integrations.xero import tasks

    queued = []
    monkeypatch.setattr(tasks.push_documents, "apply_async", lambda **options: queued.append(options))
    for _ in range(5):
        issued(codes)
    assert queued == [{"countdown": tasks.PUSH_GATHER_SECONDS}]
    tasks.push_documents()  # runs (sends all five); documents issued from now on need a new push
    issued(codes)
    assert len(queued) == 2
