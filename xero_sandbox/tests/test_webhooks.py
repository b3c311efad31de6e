"""The sandbox's webhook sender, against a real HTTP receiver on 127.0.0.1 that records raw requests."""

import base64
import hashlib
import hmac
import io
import json
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from xero_sandbox.events import record_event
from xero_sandbox.models import App, Contact, Document, WebhookDelivery, WebhookEvent
from xero_sandbox.tests.conftest import connect
from xero_sandbox.webhooks import deliver_due, intent_to_receive


class Receiver:
    """A webhook endpoint that keeps every request's raw bytes and answers as told: "verify" (200 for
    a right signature, 401 for a wrong one, as a correct receiver does), a status code, or "hang"."""

    def __init__(self, key: str):
        self.key = key
        self.answer = "verify"
        self.delay = 0.0
        self.set_cookie = False
        self.requests: list[tuple[dict, bytes]] = []
        self.release = threading.Event()  # ends hung requests at teardown
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/"

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def keep(self, headers: dict, body: bytes) -> None:
        with self._lock:
            self.requests.append((headers, body))

    def status_for(self, signature: str, body: bytes) -> int | None:
        if self.answer == "hang":
            return None
        if self.answer == "verify":
            return 200 if hmac.compare_digest(signature, expected_signature(body, self.key)) else 401
        return self.answer

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _handler_for(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.keep({k.lower(): v for k, v in self.headers.items()}, body)
            receiver.release.wait(receiver.delay)
            status = receiver.status_for(self.headers.get("x-xero-signature", ""), body)
            if status is None:
                receiver.release.wait(10)
                return
            self.send_response(status)
            if receiver.set_cookie:
                self.send_header("Set-Cookie", "sessionid=abc")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def expected_signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture(autouse=True)
def short_timeout(settings):
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "WEBHOOK_TIMEOUT_SECONDS": 0.5}


def knobs(settings, **values):
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, **{f"WEBHOOK_{k}": v for k, v in values.items()}}


@pytest.fixture
def receiver():
    receiver = Receiver(settings.XERO_WEBHOOK_KEY)
    yield receiver
    receiver.stop()


@pytest.fixture
def app(orgs, receiver) -> App:
    """The seeded app, connected to every org, its webhook URL pointing at the receiver."""
    app = App.objects.get(client_id=settings.XERO_CLIENT_ID)
    app.webhook_url = receiver.url
    app.save()
    connect(orgs)
    return app


def record(org, count=1, *, category="INVOICE", event_type="CREATE") -> list[str]:
    ids = [uuid.uuid4() for _ in range(count)]
    with transaction.atomic():
        for resource_id in ids:
            record_event(organisation=org, category=category, resource_id=resource_id, event_type=event_type)
    return [str(i) for i in ids]


def received_ids(receiver: Receiver) -> list[str]:
    return [event["resourceId"] for body in receiver.bodies for event in body["events"]]


# --- Events and their batches -------------------------------------------------------------------


def test_recorded_events_are_sent_in_one_batch_signed_over_the_raw_bytes(app, orgs, receiver):
    invoice_ids = record(orgs["NZ"], 2)
    contact_ids = record(orgs["GB"], category="CONTACT", event_type="update")

    [delivery] = deliver_due()

    [(headers, raw)] = receiver.requests
    assert headers["content-type"] == "application/json"
    assert hmac.compare_digest(headers["x-xero-signature"], expected_signature(raw, app.webhook_key))
    body = json.loads(raw)
    assert (body["firstEventSequence"], body["lastEventSequence"], len(body["entropy"])) == (1, 3, 20)
    assert [(e["resourceId"], e["eventCategory"], e["eventType"], e["tenantId"]) for e in body["events"]] == [
        (invoice_ids[0], "INVOICE", "CREATE", str(orgs["NZ"].tenant_id)),
        (invoice_ids[1], "INVOICE", "CREATE", str(orgs["NZ"].tenant_id)),
        (contact_ids[0], "CONTACT", "UPDATE", str(orgs["GB"].tenant_id)),
    ]
    assert {e["tenantType"] for e in body["events"]} == {"ORGANISATION"}
    assert delivery.state == "delivered" and delivery.last_status_code == 200


def test_an_event_says_when_it_happened_in_utc_and_where_the_resource_is(app, orgs, receiver):
    [invoice_id] = record(orgs["NZ"])
    deliver_due()
    [event] = receiver.bodies[0]["events"]
    happened = datetime.strptime(event["eventDateUtc"], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    assert abs(happened - WebhookEvent.objects.get().event_date) < timedelta(milliseconds=1)
    assert event["resourceUrl"] == f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_id}"


def test_events_point_at_the_sandbox_api_when_its_public_url_is_set(app, orgs, settings):
    settings.XERO_SANDBOX_PUBLIC_API_URL = "http://127.0.0.1:8000/xero-sandbox/api.xro/2.0/"
    [credit_note_id] = record(orgs["NZ"], category="creditnote")
    assert WebhookEvent.objects.get().resource_url == (
        f"http://127.0.0.1:8000/xero-sandbox/api.xro/2.0/CreditNotes/{credit_note_id}"
    )


def test_there_is_no_delete_event(app, orgs):
    with pytest.raises(ValueError):
        record(orgs["NZ"], event_type="DELETE")


def test_an_app_gets_events_only_from_connected_orgs_and_only_with_a_webhook_url(orgs, receiver):
    app = App.objects.get(client_id=settings.XERO_CLIENT_ID)
    app.webhook_url = receiver.url
    app.save()
    record(orgs["NZ"])  # not connected yet
    connect(orgs)
    App.objects.filter(pk=app.pk).update(webhook_url="")
    record(orgs["NZ"])  # connected, but no URL
    assert not WebhookEvent.objects.exists()


def test_a_credit_note_event_carries_its_type_and_status(app, orgs, receiver):
    org = orgs["NZ"]
    note = Document.objects.create(
        organisation=org,
        type=Document.CREDIT_NOTE,
        contact=Contact.objects.filter(organisation=org).first(),
        date=timezone.localdate(),
        currency_code="NZD",
        status="AUTHORISED",
    )
    record_event(organisation=org, category="CREDITNOTE", resource_id=note.document_id, event_type="CREATE")
    deliver_due()
    [event] = receiver.bodies[0]["events"]
    assert event["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}


def test_sequence_numbers_continue_across_batches_and_no_event_is_sent_twice(app, orgs, receiver, settings):
    knobs(settings, BATCH_SIZE=2)
    recorded = record(orgs["NZ"], 3)
    deliver_due()
    recorded += record(orgs["GB"])
    deliver_due()
    deliver_due(now=timezone.now() + timedelta(days=2))

    assert [(b["firstEventSequence"], b["lastEventSequence"]) for b in receiver.bodies] == [(1, 2), (3, 3), (4, 4)]
    assert received_ids(receiver) == recorded
    assert not WebhookEvent.objects.filter(delivery=None).exists()


# --- Failures, retries and giving up ------------------------------------------------------------


def test_a_failing_receiver_is_retried_with_growing_back_off_until_it_recovers(app, orgs, receiver):
    receiver.answer = 500
    record(orgs["NZ"])
    start = timezone.now()
    [delivery] = deliver_due(now=start)
    waits, now = [], start
    for _ in range(3):
        assert deliver_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == []
        waits.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
        [delivery] = deliver_due(now=now)
        assert (delivery.state, delivery.last_status_code) == ("pending", 500)
    receiver.answer = "verify"
    [delivery] = deliver_due(now=delivery.next_attempt_at)

    assert waits == [timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=2)]
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 5, 200)
    assert len({body for _, body in receiver.requests}) == 1  # a retry resends the very same bytes


def test_a_receiver_that_never_recovers_is_given_up_after_about_a_day(app, orgs, receiver):
    receiver.answer = 503
    record(orgs["NZ"])
    start = now = timezone.now()
    while sent := deliver_due(now=now):
        [delivery] = sent
        now = delivery.next_attempt_at or now

    assert (delivery.state, delivery.attempts) == ("failed", 10)
    assert timedelta(hours=20) < delivery.failed_at - start <= timedelta(hours=24)
    assert deliver_due(now=start + timedelta(days=3)) == []
    assert len(receiver.requests) == 10


def test_a_receiver_that_does_not_answer_in_time_is_retried(app, orgs, receiver):
    receiver.answer = "hang"
    record(orgs["NZ"])
    start = timezone.now()
    [delivery] = deliver_due(now=start)
    assert delivery.last_status_code is None and "timed out" in delivery.last_error
    assert delivery.next_attempt_at == start + timedelta(seconds=10)

    receiver.answer = "verify"
    [delivery] = deliver_due(now=delivery.next_attempt_at)
    assert delivery.state == "delivered"


def test_a_refused_connection_is_retried(app, orgs):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    App.objects.filter(pk=app.pk).update(webhook_url=f"http://127.0.0.1:{port}/webhooks/")
    record(orgs["NZ"])
    [delivery] = deliver_due()
    assert delivery.state == "pending" and delivery.attempts == 1 and "refused" in delivery.last_error.lower()


def test_two_deliverers_at_once_never_send_the_same_delivery_twice(app, orgs, receiver, settings):
    knobs(settings, BATCH_SIZE=1)
    receiver.delay = 0.1  # keep both deliverers busy at the same time
    recorded = record(orgs["NZ"], 6)
    start, now = threading.Barrier(2), timezone.now()
    sent = []

    def deliverer():
        try:
            start.wait()
            sent.extend(d.pk for d in deliver_due(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(received_ids(receiver)) == sorted(recorded)
    assert sorted(b["firstEventSequence"] for b in receiver.bodies) == [1, 2, 3, 4, 5, 6]
    assert len(sent) == len(set(sent)) == WebhookDelivery.objects.filter(delivered_at__isnull=False).count() == 6


# --- Chaos knobs --------------------------------------------------------------------------------


def test_the_duplicate_knob_sends_a_batch_twice_with_the_same_bytes(app, orgs, receiver, settings):
    knobs(settings, DUPLICATE_RATE=1.0)
    record(orgs["NZ"], 2)
    deliver_due()
    [(first_headers, first), (second_headers, second)] = receiver.requests
    assert first == second and first_headers["x-xero-signature"] == second_headers["x-xero-signature"]
    assert WebhookDelivery.objects.filter(delivered_at__isnull=False).count() == 2


def test_the_reorder_knob_sends_newer_deliveries_first(app, orgs, receiver, settings):
    knobs(settings, BATCH_SIZE=1, REORDER=True)
    recorded = record(orgs["NZ"], 3)
    deliver_due()
    assert [b["firstEventSequence"] for b in receiver.bodies] == [3, 2, 1]
    assert received_ids(receiver) == recorded[::-1]


# --- Intent to receive --------------------------------------------------------------------------


def test_intent_to_receive_passes_against_a_receiver_that_checks_signatures(app, receiver):
    result = intent_to_receive(app=app)

    assert result["passed"] is True
    assert sorted(a["status"] for a in result["answers"]) == [200, 200, 401, 401]
    assert all(b["events"] == [] and b["firstEventSequence"] == b["lastEventSequence"] == 0 for b in receiver.bodies)
    rows = WebhookDelivery.objects.filter(kind=WebhookDelivery.Kind.INTENT_TO_RECEIVE)
    assert sorted(rows.values_list("last_status_code", flat=True)) == [200, 200, 401, 401]
    assert deliver_due(now=timezone.now() + timedelta(days=1)) == []  # a check is never resent


def test_intent_to_receive_fails_against_a_receiver_that_accepts_a_wrong_signature(app, receiver):
    receiver.answer = 200
    result = intent_to_receive(app=app)
    assert result["passed"] is False
    assert {a["signature"] for a in result["answers"] if not a["passed"]} == {"wrong"}


def test_intent_to_receive_fails_when_the_receiver_sets_a_cookie(app, receiver):
    receiver.set_cookie = True
    result = intent_to_receive(app=app)
    assert result["passed"] is False
    assert "cookie" in WebhookDelivery.objects.filter(last_status_code=200).first().last_error


# --- The management command ---------------------------------------------------------------------


def test_the_command_sends_what_is_due_once(app, orgs, receiver):
    record(orgs["NZ"])
    out = io.StringIO()
    call_command("xero_sandbox_webhooks", "--once", stdout=out)
    assert len(receiver.requests) == 1
    assert "events 1-1: delivered" in out.getvalue()


def test_the_command_reports_a_failed_intent_to_receive(app, receiver):
    receiver.answer = 200
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("xero_sandbox_webhooks", "--intent-to-receive", stdout=out)
    assert "FAILED" in out.getvalue() and "wrong signature -> 200" in out.getvalue()


def test_the_command_keeps_sending_until_interrupted(app, orgs, receiver, monkeypatch):
    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("xero_sandbox.management.commands.xero_sandbox_webhooks.time.sleep", interrupt)
    record(orgs["NZ"])
    out = io.StringIO()
    call_command("xero_sandbox_webhooks", stdout=out)
    assert len(receiver.requests) == 1
    assert out.getvalue().rstrip().endswith("Stopped.")
