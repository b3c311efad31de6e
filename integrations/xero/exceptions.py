"""Selectors for the Sync exceptions page: the documents Xero refused, or the pre-send check held back.

A sync exception is a failed SyncRecord. It stays listed until the document is sent (a success
clears it, see `sync._succeed`); acknowledging only says that someone has seen it.
"""

from django.db.models import Count, F, Q, QuerySet

from .models import SyncRecord

FAILED = SyncRecord.State.FAILED
UNACKNOWLEDGED = Q(acknowledged_at__isnull=True)  # not acknowledged_by: a deleted user leaves it NULL


def sync_exception_list(*, include_acknowledged: bool = False) -> QuerySet[SyncRecord]:
    """Failed documents with what the page shows of them, the most recently failed first."""
    records = SyncRecord.objects.filter(state=FAILED)
    if not include_acknowledged:
        records = records.filter(UNACKNOWLEDGED)
    return records.select_related("invoice__billing_account", "acknowledged_by").order_by(
        F("last_failed_at").desc(nulls_last=True), "-pk"
    )


def sync_exception_counts() -> dict[str, int]:
    """How many documents are failing, and how many of those nobody has acknowledged (one query)."""
    return SyncRecord.objects.filter(state=FAILED).aggregate(
        all=Count("pk"), unacknowledged=Count("pk", filter=UNACKNOWLEDGED)
    )


def sync_exception_unacknowledged_count() -> int:
    """The navigation's badge: failures nobody has acknowledged yet."""
    return SyncRecord.objects.filter(UNACKNOWLEDGED, state=FAILED).count()
