"""Running totals kept where the work happens, in the database every process shares (the web process
serves them, the workers make the calls): one upsert per Xero call or per batch, never per document.

A counter in each process's memory (prometheus-client's default) would be lost with the process and seen
only by the one serving `/metrics`; Celery's workers are other processes, often on other machines.
"""

import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from integrations.xero.models import CallMinute, Tally

CALLS = "xero_calls"  # labels: endpoint (the SDK's method), status (0: no answer), problem (of a 429)
DOCUMENTS_SENT = "xero_documents_sent"  # labels: kind
DOCUMENTS_FAILED = "xero_documents_failed"  # labels: kind
WEBHOOK_EVENTS_FORGOTTEN = "xero_webhook_events_forgotten"
WEBHOOK_REJECTIONS_FORGOTTEN = "xero_webhook_rejections_forgotten"


def labels_text(labels: dict) -> str:
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def labels_of(text: str) -> dict:
    return dict(pair.split("=", 1) for pair in text.split(",")) if text else {}


def tally_add(name: str, amount: int = 1, **labels) -> None:
    if amount:
        _upsert_add(Tally, {"name": name, "labels": labels_text(labels)}, {"total": amount})


def call_note(tenant_id: str, *, endpoint: str, status: int, problem: str = "") -> None:
    """One call to an organisation, with Xero's answer (its HTTP status; 0 when it did not answer)."""
    minute = timezone.now().replace(second=0, microsecond=0)
    _upsert_add(
        CallMinute, {"tenant_id": tenant_id, "minute": minute}, {"calls": 1, "rate_limited": int(status == 429)}
    )
    tally_add(CALLS, endpoint=endpoint, status=status, problem=problem)


def call_minutes_forget(*, now: datetime.datetime | None = None) -> int:
    """Forget minutes older than XERO_CALL_MINUTES_KEPT_HOURS (the page shows a day at most)."""
    before = (now or timezone.now()) - datetime.timedelta(hours=settings.XERO_CALL_MINUTES_KEPT_HOURS)
    deleted, _ = CallMinute.objects.filter(minute__lt=before).delete()
    return deleted


def _upsert_add(model, keys: dict, amounts: dict) -> None:
    """Insert the row, or add the amounts to the one its keys name, in one statement (PostgreSQL and SQLite
    both know ON CONFLICT ... DO UPDATE): concurrent writers never lose an addition."""
    table, quote = model._meta.db_table, connection.ops.quote_name
    columns = [*keys, *amounts]
    adds = ", ".join(f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}" for c in amounts)
    values = [_db_value(model, column, value) for column, value in {**keys, **amounts}.items()]
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(map(quote, keys))}) DO UPDATE SET {adds}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _db_value(model, column: str, value):
    field = model._meta.get_field(column)
    return field.get_db_prep_value(field.to_python(value), connection)
