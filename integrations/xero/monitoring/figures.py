"""The sync page's figures for one company, read from the platform's own records in a few grouped queries
(never one per day or per document): documents issued and sent per day, the time from issue to Xero and
from Xero's event to the status applied (median and p95 per day), open sync exceptions by reason, and the
calls made to the company's organisation.

Percentiles are computed by the database: PostgreSQL's `percentile_cont`, and on SQLite (the embedded
default) an aggregate of the same name registered on each connection (`register_sqlite_percentile`).
"""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Aggregate, Case, Count, F, FloatField, Func, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import Company, Invoice
from integrations.xero.models import CallMinute, SyncRecord, WebhookEvent, XeroConnection
from integrations.xero.outbound.sync_exceptions import exception_filter

DAYS = 30
# A day's figures are kept once it ended this long ago (a document sent at 23:59:59 may commit a moment later).
SETTLED_AFTER = datetime.timedelta(minutes=10)
State = SyncRecord.State


class SecondsBetween(Func):
    """Seconds from `earlier` to `later`, as a float, on PostgreSQL and SQLite."""

    output_field = FloatField()

    def __init__(self, later, earlier):
        super().__init__(later, earlier)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))", arg_joiner=" - ")

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps datetimes in SQLite as ISO text, which julianday() reads (in days, as a float good to
        # some microseconds): rounded to the millisecond.
        return self.as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
        )


class Percentile(Aggregate):
    """The continuous percentile (0 to 1) of the expression in each group, as PostgreSQL's percentile_cont."""

    function = "percentile_cont"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self._with_template(f"%(function)s({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)").as_sql(
            compiler, connection, **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self._with_template(f"%(function)s(%(expressions)s, {self.fraction!r})").as_sql(
            compiler, connection, **extra
        )

    def _with_template(self, template: str) -> "Percentile":
        # Aggregate.as_sql wraps `self.template` in its FILTER clause itself: it must not be passed in too.
        clone = self.copy()
        clone.template = template
        return clone


class _SqlitePercentile:
    """sqlite3's aggregate protocol for `percentile_cont(value, fraction)` (interpolated as PostgreSQL does)."""

    def __init__(self):
        self.values, self.fraction = [], 0.5

    def step(self, value, fraction):
        if value is not None:
            self.values.append(value)
            self.fraction = fraction

    def finalize(self):
        return percentile(sorted(self.values), self.fraction)


def percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def register_sqlite_percentile(sender, connection, **kwargs):
    """connection_created receiver (apps.py): SQLite has no percentile_cont of its own."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("percentile_cont", 2, _SqlitePercentile)


@dataclass
class Day:
    day: datetime.date
    issued: int = 0
    sent: int = 0
    to_xero_median: float | None = None  # seconds from issue to Xero
    to_xero_p95: float | None = None
    status_median: float | None = None  # seconds from Xero's event to the status applied
    status_p95: float | None = None


# Why a sync exception is open, in the words of the sync exceptions page (most specific first).
REASONS = (
    ("clash", "Number already used in Xero", Q(clash_xero_id__isnull=False) | Q(error__contains="is taken, by")),
    ("retrying", "Still failing, being retried", Q(state__in=[State.WAITING, State.SENDING])),
    ("held", "Held back: codes to fix", Q(error__startswith="Not sent:")),
    ("contact", "Customer's contact in Xero", Q(error__contains="Account Number")),
    ("refused", "Refused by Xero", Q(error__startswith="Xero refused")),
)
OTHER_REASON = ("other", "Other")


def sync_page_figures(company: Company, *, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    connection = XeroConnection.objects.current(company)
    tenant_id = connection.tenant_id if connection else None
    return {
        "connection": connection,
        "days": days_figures(company, tenant_id, now=now),
        "reasons": exception_reasons(company),
        "calls": calls_figures(tenant_id, now=now),
    }


def days_figures(company: Company, tenant_id, *, now: datetime.datetime) -> list[Day]:
    """The last DAYS days (today last), each with its documents and times. A day that ended a while ago no longer
    changes (what was issued, sent or applied on it keeps its time), so its figures are kept in the cache and
    only today's, and those of days not kept yet, are read: a page over 100,000 documents reads one day's."""
    today = timezone.localdate(now)
    dates = [today - datetime.timedelta(days=back) for back in range(DAYS - 1, -1, -1)]
    keys = {date: _cache_key(company, tenant_id, date) for date in dates}
    kept = cache.get_many(list(keys.values()))
    days = {date: kept.get(keys[date]) for date in dates}
    missing = [date for date, day in days.items() if day is None]
    if missing:
        read = _days_read(company, tenant_id, since=_start_of(missing[0]))
        for date in missing:
            days[date] = read.get(date, Day(date))
        settled = now - SETTLED_AFTER
        cache.set_many(
            {keys[date]: days[date] for date in missing if _start_of(date + datetime.timedelta(days=1)) < settled},
            timeout=(DAYS + 1) * 86400,
        )
    return list(days.values())


def _days_read(company: Company, tenant_id, *, since: datetime.datetime) -> dict[datetime.date, Day]:
    days = {}

    def day(date) -> Day:
        return days.setdefault(date, Day(date))

    for row in _issued_per_day(company, since):
        day(row["day"]).issued = row["count"]
    for row in _sent_per_day(company, tenant_id, since):
        one = day(row["day"])
        one.sent, one.to_xero_median, one.to_xero_p95 = row["count"], row["median"], row["p95"]
    for row in _status_times_per_day(tenant_id, since) if tenant_id else []:
        one = day(row["day"])
        one.status_median, one.status_p95 = row["median"], row["p95"]
    return days


def _cache_key(company: Company, tenant_id, date: datetime.date) -> str:
    return f"xero:sync-day:{company.pk}:{tenant_id}:{date:%Y-%m-%d}:{timezone.get_current_timezone_name()}"


def _start_of(date: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time()))


def _issued_per_day(company: Company, since: datetime.datetime):
    issued = Invoice.objects.filter(company=company, issued_at__gte=since)
    return issued.annotate(day=TruncDate("issued_at")).values("day").annotate(count=Count("pk")).order_by()


def _sent_per_day(company: Company, tenant_id, since: datetime.datetime):
    """Documents sent each day (to the company's organisation, when it has one: its sent records are indexed by
    organisation and time), and how long they took from issue; earlier documents sent on request are counted
    but not timed (they were issued before the link, maybe months before)."""
    sent = SyncRecord.objects.filter(state=State.SENT, sent_at__gte=since)
    sent = sent.filter(tenant_id=tenant_id) if tenant_id else sent.filter(invoice__company=company)
    took = SecondsBetween(F("sent_at"), F("invoice__issued_at"))
    new = Q(backfill__isnull=True)
    return (
        sent.annotate(day=TruncDate("sent_at"))
        .values("day")
        .annotate(
            count=Count("pk"),
            median=Percentile(took, 0.5, filter=new),
            p95=Percentile(took, 0.95, filter=new),
        )
        .order_by()
    )


def _status_times_per_day(tenant_id, since: datetime.datetime):
    """How long statuses took to come back: from Xero's event (its eventDateUtc) to the status applied."""
    applied = WebhookEvent.objects.filter(
        tenant_id=tenant_id, state=WebhookEvent.State.APPLIED, processed_at__gte=since
    )
    took = SecondsBetween(F("processed_at"), F("event_date"))
    return (
        applied.annotate(day=TruncDate("processed_at"))
        .values("day")
        .annotate(median=Percentile(took, 0.5), p95=Percentile(took, 0.95))
        .order_by()
    )


def _of_its_invoice(field: str) -> Subquery:
    """A field of the record's invoice, looked up by its key for each record rather than joined: for the few
    records of the open exceptions, PostgreSQL would otherwise hash every invoice of the company, some 30 ms a
    100,000 on a small machine. (Not for a day's sent documents: evaluated per record and per percentile, the
    look-ups cost more than the join over a month's.)"""
    return Subquery(Invoice.objects.filter(pk=OuterRef("invoice_id")).values(field)[:1])


def exception_reasons(company: Company) -> list[dict]:
    """The company's open sync exceptions by reason, the most frequent first (one query)."""
    reason = Case(*(When(condition, then=Value(key)) for key, _, condition in REASONS), default=Value(OTHER_REASON[0]))
    open_ = SyncRecord.objects.filter(exception_filter()).alias(company=_of_its_invoice("company_id"))
    open_ = open_.filter(company=company.pk)
    counts = dict(
        open_.annotate(reason=reason)
        .values("reason")
        .annotate(count=Count("pk"))
        .values_list("reason", "count")
        .order_by()
    )
    names = {key: name for key, name, _ in REASONS} | dict([OTHER_REASON])
    rows = [{"key": key, "reason": names[key], "count": count} for key, count in counts.items()]
    return sorted(rows, key=lambda row: (-row["count"], row["reason"]))


def calls_figures(tenant_id, *, now: datetime.datetime) -> dict:
    """The organisation's calls over Xero's rolling day against its day limit, and each minute of the last hour."""
    limits = {"day_limit": settings.XERO_CALLS_PER_DAY, "minute_limit": settings.XERO_CALLS_PER_MINUTE}
    if tenant_id is None:
        return {"day": 0, "minutes": [], **limits}
    minutes = CallMinute.objects.filter(tenant_id=tenant_id)
    day = minutes.filter(minute__gt=now - datetime.timedelta(hours=24)).aggregate(calls=Sum("calls"))["calls"]
    this_minute = now.replace(second=0, microsecond=0)
    hour = [this_minute - datetime.timedelta(minutes=back) for back in range(59, -1, -1)]
    counted = {
        row["minute"]: row for row in minutes.filter(minute__gte=hour[0]).values("minute", "calls", "rate_limited")
    }
    return {
        "day": day or 0,
        **limits,
        "minutes": [
            {
                "minute": minute,
                "calls": counted.get(minute, {}).get("calls", 0),
                "rate_limited": counted.get(minute, {}).get("rate_limited", 0),
            }
            for minute in hour
        ],
    }
