"""Xero's webhooks, as received: verify, store, queue, answer (docs/xero-api.md §7).

The receiver does no Xero call and no heavy work: it checks the signature over the raw body bytes,
keeps the events in the inbox (`WebhookEvent`, once each) and queues their processing after commit
(`inbox.py` reads the documents back from Xero and applies them). A correctly signed payload that
cannot be used is kept as a `WebhookRejection` and still answered 200, so that Xero does not disable
the subscription over it.
"""

import base64
import datetime
import hashlib
import hmac
import json
import logging
import re
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from integrations.xero import tasks
from integrations.xero.models import WebhookEvent, WebhookRejection

logger = logging.getLogger(__name__)

# Xero's event categories whose documents the platform follows; others (contacts, subscriptions) are kept
# as ignored, so the counts on the Add Ons page show them, but nothing is read back for them.
FOLLOWED_CATEGORIES = {"INVOICE", "CREDITNOTE"}
EVENT_TYPES = {"CREATE", "UPDATE"}
CATEGORY = re.compile(r"[A-Z]{1,20}")
EXCERPT_CHARS = 2000


class Unusable(ValueError):
    """A payload, or one event of it, that is correctly signed but cannot be used."""


def webhook_signature_valid(*, body: bytes, signature: str) -> bool:
    """`x-xero-signature` is base64(HMAC-SHA256(webhook key, the raw body bytes)); compared in constant time."""
    key = settings.XERO_WEBHOOK_KEY
    if not key or not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest())
    # Bytes on both sides: compare_digest refuses non-ASCII text, and a header may hold anything.
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


def webhook_receive(*, body: bytes, now: datetime.datetime | None = None) -> int:
    """Keep a correctly signed payload's events and queue their processing; return how many were usable.

    An intent-to-receive payload (no events) keeps nothing.
    """
    now = now or timezone.now()
    try:
        raw_events = _events_of(body)
    except Unusable as problem:
        # NUL characters cannot be stored in PostgreSQL text: keep them visible but harmless.
        _reject(now, str(problem), body.decode("utf-8", "replace").replace("\x00", "\\x00"))
        return 0
    events, rejections = [], []
    for raw in raw_events:
        try:
            events.append(_event(raw, now))
        except Unusable as problem:
            rejections.append(WebhookRejection(received_at=now, reason=str(problem), excerpt=_excerpt(raw)))
    _store(events, rejections)
    return len(events)


def _store(events: list[WebhookEvent], rejections: list[WebhookRejection]) -> None:
    if not events and not rejections:
        return  # intent to receive: nothing to keep
    with transaction.atomic():
        _commit_without_waiting_for_the_disk()
        # Replayed and duplicated deliveries repeat events already kept: the unique constraint drops them.
        WebhookEvent.objects.bulk_create(events, ignore_conflicts=True)
        WebhookRejection.objects.bulk_create(rejections)
        if any(event.state == WebhookEvent.State.PENDING for event in events):
            # robust: a broker that is down must not fail the answer; the reconciliation sweeps pending events.
            transaction.on_commit(tasks.process_events_soon, robust=True)


def _commit_without_waiting_for_the_disk() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk (the fsync is
    most of the receiver's time on a busy machine). A database crash could then lose the last fraction
    of a second of events after Xero got its 200; the reconciliation brings those statuses back anyway.
    Nothing else is weakened: the database stays consistent, and other transactions are unaffected."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _reject(now: datetime.datetime, reason: str, excerpt: str) -> None:
    logger.warning("A correctly signed Xero webhook could not be used: %s", reason)
    WebhookRejection.objects.create(received_at=now, reason=reason, excerpt=excerpt[:EXCERPT_CHARS])


def _events_of(body: bytes) -> list:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise Unusable("The body is not JSON.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise Unusable("The body has no list of events.")
    return payload["events"]


def _event(raw, now: datetime.datetime) -> WebhookEvent:
    if not isinstance(raw, dict):
        raise Unusable("An event is not an object.")
    category = _text(raw, "eventCategory").upper()
    event_type = _text(raw, "eventType").upper()  # Xero's own examples write "Update"
    if not CATEGORY.fullmatch(category) or event_type not in EVENT_TYPES:
        raise Unusable("An event has an unknown category or type.")
    followed, reason = _followed(category, event_type)
    return WebhookEvent(
        tenant_id=_uuid(raw, "tenantId"),
        category=category,
        event_type=event_type,
        resource_id=_uuid(raw, "resourceId"),
        event_date=_moment(raw, "eventDateUtc"),
        received_at=now,
        state=WebhookEvent.State.PENDING if followed else WebhookEvent.State.IGNORED,
        outcome=reason,
        processed_at=None if followed else now,
    )


def _followed(category: str, event_type: str) -> tuple[bool, str]:
    """Whether the event needs its document read back; if not, why."""
    if category not in FOLLOWED_CATEGORIES:
        return False, f"The platform does not follow Xero's {category.lower()} events."
    if event_type == "CREATE":
        # Documents are created AUTHORISED (by the platform itself): paid, voided and deleted come as updates.
        return False, "A creation: nothing to bring back (changes arrive as updates)."
    return True, ""


def _text(raw: dict, key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise Unusable(f"An event has no {key}.")
    return value


def _uuid(raw: dict, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(_text(raw, key))
    except ValueError:
        raise Unusable(f"An event's {key} is not an id.") from None


def _moment(raw: dict, key: str) -> datetime.datetime:
    """Xero writes eventDateUtc in UTC without an offset (`2026-11-27T10:00:00.123`)."""
    try:
        moment = datetime.datetime.fromisoformat(_text(raw, key))
    except ValueError:
        raise Unusable(f"An event's {key} is not a date and time.") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        raise Unusable(f"An event's {key} is out of range.") from None


def _excerpt(raw) -> str:
    try:
        return json.dumps(raw)[:EXCERPT_CHARS]
    except (TypeError, ValueError, RecursionError):
        return repr(raw)[:EXCERPT_CHARS]
