"""The sandbox's webhook sender: Xero's side of the webhook contract (docs/xero-api.md §7).

Events recorded by `events.record_event` are grouped per app into batches, each a `WebhookDelivery`
row holding the exact signed bytes; `deliver_due` POSTs the due rows and records every attempt.
A delivery is claimed with a conditional UPDATE that pushes `next_attempt_at` a lease ahead, so two
deliverers never send it at once, no database transaction is held across the HTTP call, and a
deliverer that dies mid-send only delays the row until the lease runs out.

Knobs (`XERO_SANDBOX[...]`, see conf.py): WEBHOOK_BATCH_SIZE, WEBHOOK_TIMEOUT_SECONDS,
WEBHOOK_RETRY_DELAYS, and for chaos runs WEBHOOK_DUPLICATE_RATE (send a batch twice) and
WEBHOOK_REORDER (send due deliveries newest first).
"""

import base64
import hashlib
import hmac
import json
import random
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import urllib3
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .conf import sandbox_setting
from .models import App, Document, WebhookDelivery, WebhookEvent

CLAIM_SECONDS = 60  # a claimed delivery is left alone this long: far longer than one POST may take
INTENT_TO_RECEIVE_SIGNATURES = (True, False, True, False)  # correctly signed or not, shuffled per run


@dataclass
class Answer:
    """What a receiver answered to one POST (status None: no answer, see error)."""

    status: int | None = None
    error: str = ""
    set_cookie: bool = False
    body_length: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def sign(body: bytes, key: str) -> str:
    """`x-xero-signature`: base64 of the HMAC-SHA256 of the exact body bytes, keyed by the webhook key."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


# --- Delivering events ------------------------------------------------------------------------


def deliver_due(*, now: datetime | None = None) -> list[WebhookDelivery]:
    """Batch the events no delivery carries yet, then send every due delivery; returns those sent."""
    now = now or timezone.now()
    for app in _apps_with_unbatched_events():
        while _batch_events(app=app, now=now):
            pass
    pool = urllib3.PoolManager()
    sent = []
    for delivery in _due_deliveries(now):
        if _claim(delivery, now):
            answer = _post(pool, delivery.app.webhook_url, delivery.body, delivery.signature)
            sent.append(_record_attempt(delivery, answer, now))
    return sent


def _apps_with_unbatched_events():
    unbatched = WebhookEvent.objects.filter(delivery=None).values("app")
    return App.objects.filter(pk__in=unbatched).exclude(webhook_url="")


def _batch_events(*, app: App, now: datetime) -> WebhookDelivery | None:
    """Put the app's oldest unbatched events into one signed delivery, numbered after the last one."""
    with transaction.atomic():
        # The app's row lock serialises batching per app, so no event or sequence number is taken twice.
        app = App.objects.select_for_update().get(pk=app.pk)
        events = list(
            WebhookEvent.objects.filter(app=app, delivery=None)
            .select_related("organisation")
            .order_by("pk")[: sandbox_setting("WEBHOOK_BATCH_SIZE")]
        )
        if not events:
            return None
        first = _last_sequence(app) + 1
        body = _body(events, first=first)
        delivery = WebhookDelivery.objects.create(
            app=app,
            body=body,
            signature=sign(body, app.webhook_key),
            first_sequence=first,
            last_sequence=first + len(events) - 1,
            next_attempt_at=now,
        )
        WebhookEvent.objects.filter(pk__in=[e.pk for e in events], delivery=None).update(delivery=delivery)
        _maybe_duplicate(delivery)
        return delivery


def _last_sequence(app: App) -> int:
    return WebhookDelivery.objects.filter(app=app).aggregate(last=Max("last_sequence"))["last"] or 0


def _maybe_duplicate(delivery: WebhookDelivery) -> None:
    # Chaos: a second row with the same bytes, sent and retried on its own, as a duplicate POST would be.
    rate = sandbox_setting("WEBHOOK_DUPLICATE_RATE")
    if rate > 0 and random.random() < rate:
        WebhookDelivery.objects.create(
            app=delivery.app,
            body=delivery.body,
            signature=delivery.signature,
            first_sequence=delivery.first_sequence,
            last_sequence=delivery.last_sequence,
            next_attempt_at=delivery.next_attempt_at,
        )


def _body(events: list[WebhookEvent], *, first: int) -> bytes:
    credit_notes = _credit_note_data([e.resource_id for e in events if e.category == "CREDITNOTE"])
    payload = {
        "events": [_event_json(event, credit_notes.get(event.resource_id)) for event in events],
        "firstEventSequence": first,
        "lastEventSequence": first + len(events) - 1,
        "entropy": _entropy(),
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _event_json(event: WebhookEvent, data: dict | None) -> dict:
    event_json = {
        "resourceUrl": event.resource_url,
        "resourceId": str(event.resource_id),
        # Xero's own format: UTC, milliseconds, and no offset (a receiver must not read it as local time).
        "eventDateUtc": event.event_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "eventType": event.event_type,
        "eventCategory": event.category,
        "tenantId": str(event.organisation.tenant_id),
        "tenantType": "ORGANISATION",
    }
    if data:
        event_json["data"] = data
    return event_json


def _credit_note_data(document_ids: list) -> dict:
    """Credit-note events carry the note's Type and Status (read when batched, not when the event was)."""
    rows = Document.objects.filter(document_id__in=document_ids).values_list("document_id", "type", "status")
    return {document_id: {"Type": type_, "Status": status} for document_id, type_, status in rows}


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


def _due_deliveries(now: datetime) -> list[WebhookDelivery]:
    due = list(
        WebhookDelivery.objects.filter(
            kind=WebhookDelivery.Kind.EVENTS, delivered_at=None, failed_at=None, next_attempt_at__lte=now
        )
        .select_related("app")
        .order_by("app_id", "first_sequence", "pk")
    )
    return due[::-1] if sandbox_setting("WEBHOOK_REORDER") else due


def _claim(delivery: WebhookDelivery, now: datetime) -> bool:
    """Take the delivery for one send; False when another deliverer took it first."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, delivered_at=None, failed_at=None, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    if claimed:
        delivery.refresh_from_db(fields=["attempts"])
    return claimed == 1


def _record_attempt(delivery: WebhookDelivery, answer: Answer, now: datetime) -> WebhookDelivery:
    delivery.attempts += 1
    delivery.last_status_code = answer.status
    delivery.last_error = answer.error or ("" if answer.ok else f"HTTP {answer.status}")
    delivery.next_attempt_at = None
    if answer.ok:
        delivery.delivered_at = now
    elif (delay := _retry_delay(delivery.attempts)) is not None:
        delivery.next_attempt_at = now + delay
    else:
        delivery.failed_at = now
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "failed_at",
        ]
    )
    return delivery


def _retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failure; None when the retries have run out."""
    delays = sandbox_setting("WEBHOOK_RETRY_DELAYS")
    return timedelta(seconds=delays[attempts - 1]) if attempts <= len(delays) else None


def _post(pool: urllib3.PoolManager, url: str, body: bytes, signature: str) -> Answer:
    timeout = sandbox_setting("WEBHOOK_TIMEOUT_SECONDS")
    try:
        response = pool.request(
            "POST",
            url,
            body=body,
            headers={"Content-Type": "application/json", "x-xero-signature": signature},
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as error:  # refused, timed out, dropped, bad URL
        return Answer(error=f"{type(error).__name__}: {error}"[:1000])
    return Answer(status=response.status, set_cookie="set-cookie" in response.headers, body_length=len(response.data))


# --- Intent to receive --------------------------------------------------------------------------


def intent_to_receive(*, app: App, now: datetime | None = None) -> dict:
    """Xero's check before it enables a subscription: empty batches, some signed right, some wrong.

    A correctly signed one must get a 200 with an empty body and no cookie, a wrongly signed one a
    401, each within the timeout. Every POST is kept as an intent-to-receive `WebhookDelivery`.
    """
    now = now or timezone.now()
    pool = urllib3.PoolManager()
    signed_right = list(INTENT_TO_RECEIVE_SIGNATURES)
    random.shuffle(signed_right)
    answers = [_intent_post(pool, app, correct, now) for correct in signed_right]
    return {"passed": all(a["passed"] for a in answers), "url": app.webhook_url, "answers": answers}


def _intent_post(pool: urllib3.PoolManager, app: App, correct: bool, now: datetime) -> dict:
    body = json.dumps(
        {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": _entropy()},
        separators=(",", ":"),
    ).encode()
    signature = sign(body, app.webhook_key if correct else secrets.token_urlsafe(32))
    answer = _post(pool, app.webhook_url, body, signature)
    problem = _intent_problem(answer, correct)
    WebhookDelivery.objects.create(
        app=app,
        kind=WebhookDelivery.Kind.INTENT_TO_RECEIVE,
        body=body,
        signature=signature,
        attempts=1,
        last_status_code=answer.status,
        last_error=problem,
        delivered_at=now if answer.ok else None,
    )
    return {
        "signature": "correct" if correct else "wrong",
        "expected": 200 if correct else 401,
        "status": answer.status,
        "passed": not problem,
        "problem": problem,
    }


def _intent_problem(answer: Answer, correct: bool) -> str:
    """Why the answer fails the check, or "" when it passes."""
    expected = 200 if correct else 401
    if answer.status is None:
        return f"no answer ({answer.error})"
    if answer.status != expected:
        return f"expected {expected} for a {'correct' if correct else 'wrong'} signature, got {answer.status}"
    if correct and answer.set_cookie:
        return "the 200 set a cookie"
    if correct and answer.body_length:
        return f"the 200 had a {answer.body_length}-byte body; Xero expects an empty one"
    return ""
