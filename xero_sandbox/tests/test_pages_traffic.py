"""The staff pages for the sandbox's traffic: faults to inject, the request log, webhook deliveries."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from xero_sandbox import page_selectors
from xero_sandbox.models import App, Fault, RequestLog, WebhookDelivery
from xero_sandbox.webhooks import sign

from .conftest import connect
from .test_pages import page


# --- Faults -------------------------------------------------------------------------------------------
def test_a_fault_is_added_and_removed(staff, orgs):
    nz = orgs["NZ"]
    staff.post(
        reverse("xero_sandbox:fault_add", args=[nz.pk]),
        {
            "kind": "500_after",
            "method": "PUT",
            "path_contains": "/Invoices",
            "remaining": "2",
            "probability": "0.5",
            "delay_seconds": "",
        },
    )
    fault = Fault.objects.get(organisation=nz)
    assert (fault.kind, fault.method, fault.path_contains, fault.remaining, fault.probability) == (
        "500_after",
        "PUT",
        "/Invoices",
        2,
        0.5,
    )
    assert "/Invoices" in page(staff.get(reverse("xero_sandbox:organisation_detail", args=[nz.pk])))
    staff.post(reverse("xero_sandbox:fault_remove", args=[nz.pk, fault.pk]))
    assert not Fault.objects.exists()


def test_a_fault_with_a_probability_over_one_is_refused(staff, orgs):
    response = staff.post(
        reverse("xero_sandbox:fault_add", args=[orgs["NZ"].pk]), {"kind": "429", "probability": "3"}, follow=True
    )
    assert "Ensure this value is less than or equal to 1.0." in page(response)
    assert not Fault.objects.exists()


def test_a_fault_of_another_organisation_is_not_removed(staff, orgs):
    fault = Fault.objects.create(organisation=orgs["GB"], kind=Fault.Kind.DROP)
    assert staff.post(reverse("xero_sandbox:fault_remove", args=[orgs["NZ"].pk, fault.pk])).status_code == 404
    assert Fault.objects.filter(pk=fault.pk).exists()


# --- Request log --------------------------------------------------------------------------------------
def log_call(org, *, at, status=200, path="/xero-sandbox/api.xro/2.0/Invoices"):
    row = RequestLog.objects.create(organisation=org, method="GET", path=path, status_code=status)
    RequestLog.objects.filter(pk=row.pk).update(at=at)  # `at` is set on insert; move it back in time


def test_the_traffic_per_organisation_is_counted_in_one_aggregate_query(orgs, django_assert_num_queries):
    now, nz = timezone.now(), orgs["NZ"]
    for seconds_ago, status in [
        (10, 200),
        (20, 200),
        (30, 429),
        (90, 200),
        (14 * 60 + 30, 200),
        (20 * 60, 429),
        (2 * 3600, 429),
    ]:
        log_call(nz, at=now - timedelta(seconds=seconds_ago), status=status)
    log_call(None, at=now - timedelta(seconds=5), status=401)
    with django_assert_num_queries(2):  # the organisations, then one aggregate over the log
        traffic = {
            row.organisation.country_code if row.organisation else None: row
            for row in page_selectors.request_traffic(now=now)
        }
    assert (traffic["NZ"].last_minute, traffic["NZ"].throttled_last_hour) == (3, 2)
    assert traffic["NZ"].per_minute == [3, 1] + [0] * 12 + [1]
    assert (traffic["GB"].last_minute, traffic["GB"].throttled_last_hour) == (0, 0)
    assert traffic[None].last_minute == 1


def test_the_request_log_filters_by_organisation_and_status(staff, orgs):
    now = timezone.now()
    log_call(orgs["NZ"], at=now, status=429, path="/nz-throttled")
    log_call(orgs["NZ"], at=now, status=200, path="/nz-fine")
    log_call(orgs["GB"], at=now, status=429, path="/gb-throttled")
    url = reverse("xero_sandbox:request_log")
    html = page(staff.get(url, {"organisation": orgs["NZ"].pk, "status": "4xx"}))
    assert "/nz-throttled" in html and "/nz-fine" not in html and "/gb-throttled" not in html
    html = page(staff.get(url, {"status": "200"}))
    assert "/nz-fine" in html and "/nz-throttled" not in html


def test_the_request_log_shows_each_organisations_recent_calls(staff, orgs):
    now = timezone.now()
    for _ in range(4):
        log_call(orgs["GB"], at=now - timedelta(seconds=5))
    html = page(staff.get(reverse("xero_sandbox:request_log")))
    assert 'data-testid="last-minute">4<' in html


# --- Webhooks -----------------------------------------------------------------------------------------
class Receiver:
    """A webhook receiver on loopback; `honest` ones check the signature as the integration must."""

    def __init__(self, key: str, honest: bool = True):
        self.key, self.honest, self.bodies = key, honest, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                good = self.headers.get("x-xero-signature") == sign(body, receiver.key)
                self.send_response(200 if good or not receiver.honest else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/"


@pytest.fixture
def app_with_receiver(orgs):
    def start(honest=True):
        app = App.objects.get(name="CocoonOPS")
        receiver = Receiver(app.webhook_key, honest=honest)
        App.objects.filter(pk=app.pk).update(webhook_url=receiver.url)
        app.refresh_from_db()
        started.append(receiver)
        return app, receiver

    started = []
    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_intent_to_receive_passes_against_an_honest_receiver(staff, app_with_receiver):
    app, _ = app_with_receiver(honest=True)
    response = staff.post(reverse("xero_sandbox:webhook_intent"), {"app": app.pk})
    html = page(response)
    assert response.status_code == 200
    assert "Passed" in html and html.count('badge-paid">pass') == 4


def test_intent_to_receive_fails_when_a_wrong_signature_is_accepted(staff, app_with_receiver):
    app, _ = app_with_receiver(honest=False)
    html = page(staff.post(reverse("xero_sandbox:webhook_intent"), {"app": app.pk}))
    assert "Failed" in html
    assert "expected 401 for a wrong signature, got 200" in html


def test_deliver_now_sends_the_pending_events(staff, orgs, app_with_receiver):
    app, receiver = app_with_receiver()
    connect(orgs)
    contact = orgs["NZ"].contacts.get(account_number="ACME01")
    staff.post(reverse("xero_sandbox:contact_archive", args=[orgs["NZ"].pk, contact.pk]))
    assert str(contact.contact_id) in page(staff.get(reverse("xero_sandbox:webhook_list")))  # pending
    response = staff.post(reverse("xero_sandbox:webhook_deliver"), follow=True)
    assert "Sent 1 (delivered 1, not accepted 0)." in page(response)
    assert WebhookDelivery.objects.get().delivered_at is not None
    assert receiver.bodies[0]["events"][0]["resourceId"] == str(contact.contact_id)


def test_deliver_now_with_nothing_due_says_so(staff):
    response = staff.post(reverse("xero_sandbox:webhook_deliver"), follow=True)
    assert "Nothing was due." in page(response)
