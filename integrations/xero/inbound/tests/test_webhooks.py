"""The webhook receiver: signed over the raw bytes, stored once, answered fast, never a 500."""

import base64
import datetime
import hashlib
import hmac
import json
import uuid

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing import services
from billing.models import Invoice
from billing.tests.factories import draft_with_lines
from integrations.xero.models import SyncRecord, WebhookEvent, WebhookRejection
from xero_sandbox import webhooks as sandbox_webhooks
from xero_sandbox.models import App

URL = "/integrations/xero/webhooks/"


def sign(body: bytes, key: str | None = None) -> str:
    key = settings.XERO_WEBHOOK_KEY if key is None else key
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event(
    resource_id=None,
    *,
    tenant_id="00000000-0000-0000-0000-0000000000aa",
    category="INVOICE",
    event_type="UPDATE",
    at="2026-11-27T10:00:00.123",
) -> dict:
    return {
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/x",
        "resourceId": str(resource_id or uuid.uuid4()),
        "eventDateUtc": at,
        "eventType": event_type,
        "eventCategory": category,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }


def payload(*events) -> bytes:
    return json.dumps(
        {"events": list(events), "firstEventSequence": 1, "lastEventSequence": len(events), "entropy": "ABCDEFGHIJ"}
    ).encode()


def post(client, body: bytes, signature: str | None = "sign", **headers):
    if signature == "sign":
        signature = sign(body)
    if signature is not None:
        headers["x-xero-signature"] = signature
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def assert_empty_answer_without_cookie(answer):
    assert answer.content == b""
    assert not answer.cookies
    assert "Set-Cookie" not in answer.headers


def test_a_correctly_signed_delivery_is_stored_and_answered_200_with_an_empty_body_and_no_cookie(client, db):
    answer = post(client, payload(event(), event(category="CREDITNOTE")))
    assert answer.status_code == 200
    assert_empty_answer_without_cookie(answer)
    assert sorted(WebhookEvent.objects.values_list("category", "state")) == [
        ("CREDITNOTE", "pending"),
        ("INVOICE", "pending"),
    ]


def test_a_signed_in_browser_gets_no_cookie_back_either(admin_client):
    answer = post(admin_client, payload(event()))
    assert answer.status_code == 200
    assert_empty_answer_without_cookie(answer)


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU=", "é-not-ascii", "signed with another key"])
def test_a_missing_or_wrong_signature_is_refused_with_401_and_nothing_is_kept(client, db, signature):
    body = payload(event())
    if signature == "signed with another key":
        signature = sign(body, key="another-key")
    answer = post(client, body, signature)
    assert (answer.status_code, answer.content) == (401, b"")
    assert not WebhookEvent.objects.exists() and not WebhookRejection.objects.exists()


def test_the_signature_is_over_the_raw_bytes_not_over_re_serialised_json(client, db):
    raw = b'{ "events" : [ ],  "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X" }'
    reserialised = json.dumps(json.loads(raw)).encode()
    assert post(client, raw, sign(raw)).status_code == 200
    assert post(client, raw, sign(reserialised)).status_code == 401


def test_without_a_webhook_key_every_delivery_is_refused(client, db, settings):
    settings.XERO_WEBHOOK_KEY = ""
    body = payload(event())
    assert post(client, body, sign(body, key="")).status_code == 401


def test_intent_to_receive_keeps_nothing_and_queues_nothing(client, db, django_capture_on_commit_callbacks):
    body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"}).encode()
    with django_capture_on_commit_callbacks() as callbacks:
        assert post(client, body).status_code == 200
        assert post(client, body, sign(body, key="wrong")).status_code == 401
    assert not callbacks and not WebhookEvent.objects.exists() and not WebhookRejection.objects.exists()


def test_the_sandbox_intent_to_receive_passes_against_the_receiver(sandbox, live_server):
    app = App.objects.get(client_id=settings.XERO_CLIENT_ID)
    app.webhook_url = f"{live_server.url}{URL}"
    app.save()
    outcome = sandbox_webhooks.intent_to_receive(app=app)
    assert outcome["passed"], outcome["answers"]


def test_a_replayed_delivery_keeps_its_events_once(client, db):
    body = payload(event("11111111-1111-1111-1111-111111111111"), event("22222222-2222-2222-2222-222222222222"))
    for _ in range(3):
        assert post(client, body).status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_two_changes_of_one_document_are_two_events(client, db):
    resource = uuid.uuid4()
    post(client, payload(event(resource, at="2026-11-27T10:00:00.100"), event(resource, at="2026-11-27T10:00:00.200")))
    assert WebhookEvent.objects.filter(resource_id=resource).count() == 2


def test_mixed_case_event_types_and_categories_are_understood(client, db):
    post(client, payload(event(event_type="Update", category="Invoice")))
    assert WebhookEvent.objects.get().event_type == "UPDATE"
    assert WebhookEvent.objects.get().category == "INVOICE"


def test_creations_and_contact_events_are_kept_as_ignored_and_queue_nothing(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        post(client, payload(event(event_type="CREATE"), event(category="CONTACT"), event(category="SUBSCRIPTION")))
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {"ignored"}
    assert not callbacks


def test_the_events_of_many_deliveries_are_queued_for_processing_once(client, db, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from integrations.xero.tasks import EVENTS_QUEUED

    cache.delete(EVENTS_QUEUED)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(5):
            post(client, payload(event()))
    assert len(callbacks) == 5  # each delivery asks ...
    assert cache.get(EVENTS_QUEUED)  # ... but one task is queued, and it gathers them all
    cache.delete(EVENTS_QUEUED)


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"not json", "The body is not JSON."),
        (b"[1, 2]", "The body has no list of events."),
        (b'{"events": {"a": 1}}', "The body has no list of events."),
        (b"[" * 100_000, "The body is not JSON."),
        ("ü".encode("latin-1"), "The body is not JSON."),
    ],
)
def test_a_signed_but_unusable_body_is_recorded_as_rejected_and_answered_200(client, db, body, reason):
    answer = post(client, body)
    assert answer.status_code == 200
    assert_empty_answer_without_cookie(answer)
    assert WebhookRejection.objects.get().reason == reason
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"resourceId": "not-an-id"},
        {"tenantId": 42},
        {"eventDateUtc": "yesterday"},
        {"eventType": "DELETE"},
        {"eventCategory": "INV\x00OICE"},
        {"eventCategory": None},
    ],
)
def test_an_unusable_event_is_rejected_and_the_good_ones_of_its_delivery_kept(client, db, bad):
    answer = post(client, payload(event() | bad, event()))
    assert answer.status_code == 200
    assert WebhookRejection.objects.count() == 1
    assert WebhookEvent.objects.count() == 1


def test_unknown_organisations_are_kept_for_processing_to_ignore(client, db):
    assert post(client, payload(event(tenant_id=str(uuid.uuid4())))).status_code == 200
    assert WebhookEvent.objects.get().state == "pending"


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_content_length_that_is_not_a_length_is_refused_unread(client, db, length):
    body = payload(event())
    answer = client.post(
        URL, data=body, content_type="application/json", headers={"x-xero-signature": sign(body)}, CONTENT_LENGTH=length
    )
    assert (answer.status_code, answer.content) == (400, b"")
    assert not WebhookEvent.objects.exists() and not WebhookRejection.objects.exists()


def test_an_oversized_body_is_refused_unread(client, db, settings):
    settings.XERO_WEBHOOK_MAX_BYTES = 1000
    body = payload(*[event() for _ in range(20)])
    answer = post(client, body)
    assert (answer.status_code, answer.content) == (413, b"")
    assert not WebhookEvent.objects.exists() and not WebhookRejection.objects.exists()


def test_only_post_is_accepted(client, db):
    assert client.get(URL).status_code == 405


# --- Fuzz: whatever arrives, no 500, and nothing changes without a valid signature ------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
event_fields = st.fixed_dictionaries(
    {},
    optional={
        "resourceId": st.uuids().map(str) | st.text(max_size=40),
        "tenantId": st.uuids().map(str) | st.text(max_size=40),
        "eventDateUtc": st.datetimes().map(datetime.datetime.isoformat) | st.text(max_size=30),
        "eventType": st.sampled_from(["UPDATE", "Update", "create", "DELETE", ""]) | st.text(max_size=10),
        "eventCategory": st.sampled_from(["INVOICE", "CREDITNOTE", "CONTACT", "invoice"]) | st.text(max_size=25),
        "extra": json_values,
    },
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.lists(event_fields | json_values, max_size=5).map(lambda events: json.dumps({"events": events}).encode())
)
signatures = st.sampled_from(["right", "wrong", "missing", "empty"]) | st.text(max_size=60)
extra_headers = st.dictionaries(
    st.sampled_from(["content-type", "x-xero-tenant", "accept", "content-encoding"]), st.text(max_size=30), max_size=2
)


@pytest.fixture
def paid_in_platform_if_changed(db):
    """An issued invoice with a sent sync record: it must not change whatever the receiver is sent."""
    invoice = services.invoice_issue(invoice=draft_with_lines())
    SyncRecord.objects.update_or_create(invoice=invoice, defaults={"state": "sent", "xero_id": uuid.uuid4()})
    return invoice


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, signature=signatures, headers=extra_headers)
def test_fuzz_no_body_or_header_causes_a_500_and_nothing_changes_without_a_valid_signature(
    client, paid_in_platform_if_changed, body, signature, headers
):
    kept_before = WebhookEvent.objects.count() + WebhookRejection.objects.count()
    correct = signature == "right" or signature == sign(body)
    given_signature = {"right": sign(body), "wrong": sign(body, key="wrong"), "missing": None, "empty": ""}.get(
        signature, signature
    )
    headers = {key: value for key, value in headers.items() if "\n" not in value and "\r" not in value}
    answer = client.generic(
        "POST",
        URL,
        body,
        content_type=headers.pop("content-type", "application/json"),
        headers=({"x-xero-signature": given_signature} if given_signature is not None else {}) | headers,
    )
    assert answer.status_code == (200 if correct else 401)
    assert answer.content == b"" and not answer.cookies
    if not correct:
        assert WebhookEvent.objects.count() + WebhookRejection.objects.count() == kept_before
    invoice = Invoice.objects.get(pk=paid_in_platform_if_changed.pk)
    assert invoice.status == Invoice.Status.ISSUED
