"""Exactly once with real worker processes: a worker killed mid-batch, and a broker down at issue time.

The workers are real Celery processes on the configured broker (Redis when REDIS_URL is set, the
file broker otherwise), sharing this test's database and talking to the sandbox over HTTP. Each
test has a queue of its own, which is also the workers' default queue, so that what the workers
send themselves (the sweeper's push) stays with them and no other worker takes part.
"""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from kombu import pools
from kombu.exceptions import OperationalError

from billing import services
from billing.models import Invoice
from billing.signals import document_issued
from billing.tests.factories import BillingAccountFactory, draft_with_lines, line
from cocoonops_xero.celery import app
from integrations.xero import tasks
from integrations.xero.conftest import link
from integrations.xero.models import SyncRecord, XeroConnection
from integrations.xero.outbound import receivers
from xero_sandbox.models import Document, Fault, Organisation, RequestLog

INVOICES = 110  # a batch of 50 killed in flight, then 50 + 10 sent after it
BATCH = 50
ACCOUNT_CODES = ("ACME01", "WORKER-A", "WORKER-B", "WORKER-C")  # one known to Xero, three new
CLAIM_SECONDS = 5  # the workers' lease on claimed documents: short, so a dead worker's claims expire soon
SLOW_PUT_SECONDS = 3.0
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused

# Run with `python -c`: a worker whose default queue is the test's own queue.
WORKER_MAIN = """
import sys
from cocoonops_xero.celery import app
app.conf.task_default_queue = sys.argv[1]
app.worker_main(["worker", "--queues", sys.argv[1], "--pool", "solo", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"])
"""


class Workers:
    """Starts worker processes on one queue; stops the survivors and shows their logs at the end."""

    def __init__(self, queue: str, env: dict, log_dir: Path):
        self.queue, self.env, self.log_dir = queue, env, log_dir
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self) -> subprocess.Popen:
        log_path = self.log_dir / f"worker-{len(self.started) + 1}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER_MAIN, self.queue],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started.append((process, log_path))
        return process

    def stop_all(self) -> None:
        for process, log_path in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            print(f"----- {log_path.name} (exit {process.returncode}) -----\n{log_path.read_text()}")


@pytest.fixture
def workers(sandbox, live_server, tmp_path, monkeypatch):
    queue = f"test-{uuid.uuid4().hex}"
    # Whatever this process queues without naming a queue (an issued document's push) goes there too.
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    pool = Workers(queue, worker_environment(live_server), tmp_path)
    yield pool
    pool.stop_all()


def worker_environment(live_server) -> dict:
    sandbox_url = f"{live_server.url}/xero-sandbox"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cocoonops_xero.settings_test",
        "VAR_DIR": str(settings.VAR_DIR),  # the file broker's folders and the cache
        "DATABASE_URL": shared_database_url(),
        "XERO_ENABLED": "true",
        "XERO_LOGIN_URL": sandbox_url,
        "XERO_IDENTITY_URL": sandbox_url,
        "XERO_API_URL": sandbox_url,
        "XERO_SYNC_CLAIM_SECONDS": str(CLAIM_SECONDS),
    }


def shared_database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"  # a file under VAR_DIR (settings_test.py)
    user = quote(db["USER"] or "") + (f":{quote(str(db['PASSWORD']))}" if db["PASSWORD"] else "")
    host = (db["HOST"] or "") + (f":{db['PORT']}" if db["PORT"] else "")
    return f"postgresql://{user}@{host}/{db['NAME']}"


@pytest.fixture
def linked(sandbox, admin_client):
    # Not the conftest's: issues here queue their push for real Celery workers (no on-commit capture).
    link(admin_client, sandbox["NZ"])
    return XeroConnection.objects.get()


def issue(codes, account) -> Invoice:
    draft = draft_with_lines(
        line(rate=codes["rate"], tax_rate=codes["tax"], unit_price="100.00", quantity="2.5"), billing_account=account
    )
    return services.invoice_issue(invoice=draft)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def records(numbers):
    return SyncRecord.objects.filter(invoice__number__in=numbers)


def states_of(numbers) -> Counter:
    return Counter(records(numbers).values_list("state", flat=True))


def sweep_until_sent(queue: str, numbers, timeout: float) -> bool:
    """As the periodic sweeper would: hand back dead claims and push, until everything is sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks.sweep.apply_async(queue=queue)
        if wait_for(lambda: not records(numbers).exclude(state=SyncRecord.State.SENT).exists(), timeout=3):
            return True
    return False


class Phases:
    """Seconds each step took, printed with the test's figures."""

    def __init__(self):
        self.marks, self.last = [], time.monotonic()

    def mark(self, step: str) -> None:
        now = time.monotonic()
        self.marks.append(f"{step} {now - self.last:.1f} s")
        self.last = now

    def __str__(self):
        return ", ".join(self.marks)


def issue_invoices(codes, count: int) -> list[str]:
    """Issued over a few customers, one known to Xero.

    Each issue would queue a push of its own; those are held back (a hundred pushes with nothing left
    to do would only slow the workers down) and the test queues the pushes itself.
    """
    accounts = [BillingAccountFactory(code=code, name=f"Customer {code}") for code in ACCOUNT_CODES]
    document_issued.disconnect(dispatch_uid="xero-push")
    try:
        return [issue(codes, accounts[i % len(accounts)]).number for i in range(count)]
    finally:
        document_issued.connect(receivers.push_soon, dispatch_uid="xero-push")


def kill_the_worker_sending(workers, organisation, numbers) -> list[str]:
    """Start a worker, SIGKILL it while its first PUT /Invoices is in Xero's hands; return that batch."""
    slow_put = Fault.objects.create(
        organisation=organisation,
        kind=Fault.Kind.SLOW,
        delay_seconds=SLOW_PUT_SECONDS,
        method="PUT",
        path_contains="/Invoices",
        remaining=1,
    )
    worker = workers.start()
    tasks.push_documents.apply_async(queue=workers.queue)
    assert wait_for(lambda: Fault.objects.get(pk=slow_put.pk).remaining == 0, timeout=30), "the PUT never started"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    return list(records(numbers).filter(state=SyncRecord.State.SENDING).values_list("invoice__number", flat=True))


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(linked, codes, workers):
    organisation = Organisation.objects.get(tenant_id=linked.tenant_id)
    in_xero = Document.objects.filter(organisation=organisation)
    phases = Phases()
    numbers = issue_invoices(codes, INVOICES)
    phases.mark("issuing")
    killed_batch = kill_the_worker_sending(workers, organisation, numbers)
    assert len(killed_batch) == BATCH
    phases.mark("first worker until killed")
    # Xero finishes writing the batch although nobody is waiting for the answer any more.
    assert wait_for(lambda: in_xero.filter(number__in=killed_batch).count() == BATCH, timeout=SLOW_PUT_SECONDS + 20)
    phases.mark("Xero writing the killed batch")

    workers.start()  # the next push sends the other documents; the killed batch stays claimed
    tasks.push_documents.apply_async(queue=workers.queue)
    others = [number for number in numbers if number not in killed_batch]
    assert wait_for(lambda: records(others).filter(state=SyncRecord.State.SENT).count() == len(others), timeout=30)
    assert records(killed_batch).filter(state=SyncRecord.State.SENDING).count() == BATCH  # stuck until swept
    phases.mark("second worker sending the rest")
    assert sweep_until_sent(workers.queue, numbers, timeout=30), states_of(numbers)
    phases.mark("sweeping")

    copies = Counter(in_xero.filter(number__in=numbers).values_list("number", flat=True))
    puts = RequestLog.objects.filter(organisation=organisation, method="PUT", path__icontains="/Invoices")
    elements_sent = sum(puts.values_list("elements", flat=True))
    print(
        f"\n{INVOICES} invoices, a worker killed with {len(killed_batch)} in flight; Xero holds {len(copies)} "
        f"numbers in {sum(copies.values())} documents; {puts.count()} PUT /Invoices carrying {elements_sent} "
        f"invoices; {RequestLog.objects.filter(organisation=organisation).count()} calls in all; {phases}"
    )
    assert sorted(copies) == sorted(numbers)  # none missing
    assert set(copies.values()) == {1}  # none twice
    assert elements_sent == INVOICES  # the killed batch was looked up, not sent again
    for record in records(numbers).select_related("invoice"):
        assert (record.state, record.xero_number) == ("sent", record.invoice.number)
        assert record.xero_id == in_xero.get(number=record.invoice.number).document_id


@pytest.fixture
def broker_down(monkeypatch):
    """While on: Celery publishes through connections to a broker that refuses them, as when Redis is down."""

    @contextlib.contextmanager
    def switched_on():
        unreachable = pools.producers[app.connection_for_write(UNREACHABLE_BROKER)]
        with monkeypatch.context() as patch:
            patch.setattr(app.amqp, "_producer_pool", unreachable)  # what `delay()` publishes through
            yield
        unreachable.force_close_all()

    return switched_on


def test_with_the_broker_down_issuing_succeeds_and_the_sweeper_sends_the_document_later(
    linked, codes, workers, broker_down, caplog
):
    organisation = Organisation.objects.get(tenant_id=linked.tenant_id)
    with broker_down(), caplog.at_level(logging.ERROR, logger="billing.services"):
        invoice = issue(codes, BillingAccountFactory(code="ACME01"))

    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.ISSUED
    record = SyncRecord.objects.get(invoice=invoice)
    assert (record.state, record.attempts) == (SyncRecord.State.WAITING, 0)
    failures = [entry for entry in caplog.records if invoice.number in entry.getMessage()]
    assert len(failures) == 1 and "push_soon" in failures[0].getMessage()
    reason = failures[0].exc_info[1]
    assert isinstance(reason, OperationalError)
    print(f"\nlogged: {failures[0].getMessage()}: {type(reason).__name__}: {reason}")
    assert not Document.objects.filter(organisation=organisation, number=invoice.number).exists()

    workers.start()  # the broker is back; the periodic sweeper runs
    assert sweep_until_sent(workers.queue, [invoice.number], timeout=30)
    assert Document.objects.filter(organisation=organisation, number=invoice.number).count() == 1
