"""Selectors for the Sync exceptions page: the documents Xero refused, the pre-send check held back, or
that have kept failing for a passing reason longer than XERO_STILL_FAILING_HOURS.

A sync exception is a failed SyncRecord, or a still-failing one (waiting for its next retry). It stays
listed until the document is sent (a success clears it, see `sync._succeed`); acknowledging only says
that someone has seen it.
"""

import datetime

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import SyncRecord

State = SyncRecord.State
UNACKNOWLEDGED = Q(acknowledged_at__isnull=True)  # not acknowledged_by: a deleted user leaves it NULL


def exception_filter() -> Q:
    """Failed, or still failing for a passing reason after XERO_STILL_FAILING_HOURS (and being retried)."""
    cutoff = timezone.now() - datetime.timedelta(hours=settings.XERO_STILL_FAILING_HOURS)
    return Q(state=State.FAILED) | Q(state__in=[State.WAITING, State.SENDING], retrying_since__lt=cutoff)


def sync_exception_list(*, include_acknowledged: bool = False) -> QuerySet[SyncRecord]:
    """Failing documents with what the page shows of them, the most recently failed first."""
    records = SyncRecord.objects.filter(exception_filter())
    if not include_acknowledged:
        records = records.filter(UNACKNOWLEDGED)
    return records.select_related("invoice__billing_account", "acknowledged_by").order_by(
        Coalesce("last_failed_at", "updated_at").desc(), "-pk"
    )


def sync_exception_counts() -> dict[str, int]:
    """How many documents are failing, and how many of those nobody has acknowledged (one query)."""
    return SyncRecord.objects.filter(exception_filter()).aggregate(
        all=Count("pk"), unacknowledged=Count("pk", filter=UNACKNOWLEDGED)
    )


def sync_exception_unacknowledged_count() -> int:
    """The navigation's badge: failures nobody has acknowledged yet."""
    return SyncRecord.objects.filter(UNACKNOWLEDGED).filter(exception_filter()).count()
