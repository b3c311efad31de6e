"""The sync page of one company: its figures (`figures.py`) as charts (`charts.py`) and headline numbers."""

import datetime

from django.utils import formats, timezone

from billing.models import Company
from integrations.xero.monitoring import charts, figures
from integrations.xero.monitoring.charts import Series, duration_text


def sync_page(company: Company, *, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    found = figures.sync_page_figures(company, now=now)
    days, calls = found["days"], found["calls"]
    today = days[-1]
    return {
        "connection": found["connection"],
        "headline": {
            "issued_today": today.issued,
            "sent_today": today.sent,
            "sent_30_days": sum(day.sent for day in days),
            "issued_30_days": sum(day.issued for day in days),
            "to_xero_median_today": duration_text(today.to_xero_median),
            "open_exceptions": sum(row["count"] for row in found["reasons"]),
            "calls_day": calls["day"],
            "day_limit": calls["day_limit"],
        },
        "charts": [
            documents_chart(days),
            times_chart("to-xero", "Time from issue to Xero, per day", days, "to_xero"),
            reasons_chart(found["reasons"]),
            day_calls_chart(calls),
            hour_calls_chart(calls),
            times_chart(
                "status-back", "Statuses back from Xero, per day (Xero's event to the status applied)", days, "status"
            ),
        ],
    }


def documents_chart(days: list[figures.Day]) -> charts.Chart:
    issued, sent = sum(day.issued for day in days), sum(day.sent for day in days)
    return charts.column_chart(
        "documents",
        "Documents issued and sent to Xero, last 30 days",
        categories=[_day(day.day) for day in days],
        series=[
            Series("Issued", [day.issued for day in days], "series-1"),
            Series("Sent to Xero", [day.sent for day in days], "series-0"),
        ],
        summary=f"Over the last 30 days {issued:,} documents were issued and {sent:,} sent to Xero; "
        f"today {days[-1].issued:,} issued and {days[-1].sent:,} sent.",
        label_every=5,
    )


def times_chart(key: str, title: str, days: list[figures.Day], timed: str) -> charts.Chart:
    """The days' median and p95 of one of their times (`timed`: "to_xero" or "status", as `Day` names them)."""
    median = [getattr(day, f"{timed}_median") for day in days]
    p95 = [getattr(day, f"{timed}_p95") for day in days]
    medians = [value for value in median if value is not None]
    summary = (
        f"On the {_days(len(medians))} with any, the daily median ranged from {duration_text(min(medians))} to "
        f"{duration_text(max(medians))}; the highest p95 was {duration_text(max(v for v in p95 if v is not None))}."
        if medians
        else "Nothing to time in the last 30 days."
    )
    return charts.column_chart(
        key,
        title,
        categories=[_day(day.day) for day in days],
        series=[Series("p95", p95, "series-1"), Series("Median", median, "series-0")],
        summary=summary,
        overlaid=True,
        label_every=5,
        format_value=duration_text,
    )


def reasons_chart(reasons: list[dict]) -> charts.Chart:
    total = sum(row["count"] for row in reasons)
    summary = (
        f"{total:,} sync exceptions are open: "
        + "; ".join(f"{row['reason']}, {row['count']:,}" for row in reasons)
        + "."
        if reasons
        else "No sync exception is open."
    )
    return charts.bar_chart(
        "reasons",
        "Sync exceptions open, by reason",
        categories=[row["reason"] for row in reasons],
        values=[row["count"] for row in reasons],
        summary=summary,
        css="series-bad",
    )


def day_calls_chart(calls: dict) -> charts.Chart:
    used, limit = calls["day"], calls["day_limit"]
    return charts.bar_chart(
        "day-calls",
        "Xero calls in the last 24 hours, against the organisation's day limit",
        categories=["Calls"],
        values=[used],
        limit=limit,
        summary=f"{used:,} calls in the last 24 hours of the {limit:,} Xero allows the organisation a day.",
        format_value=lambda value: f"{value:,.0f} of {limit:,}",
    )


def hour_calls_chart(calls: dict) -> charts.Chart:
    minutes = calls["minutes"]
    busiest = max((minute["calls"] for minute in minutes), default=0)
    refused = sum(minute["rate_limited"] for minute in minutes)
    return charts.column_chart(
        "hour-calls",
        "Xero calls per minute, last hour",
        categories=[f"{timezone.localtime(minute['minute']):%H:%M}" for minute in minutes],
        series=[
            Series("Calls", [minute["calls"] for minute in minutes], "series-0"),
            Series("Refused (429)", [minute["rate_limited"] for minute in minutes], "series-bad"),
        ],
        summary=f"{sum(minute['calls'] for minute in minutes):,} calls in the last hour, at most {busiest:,} in a "
        f"minute (Xero allows {calls['minute_limit']}); {refused:,} refused for a limit.",
        overlaid=True,
        limit=(calls["minute_limit"], "Xero's limit a minute"),
        label_every=10,
    )


def _days(count: int) -> str:
    return "one day" if count == 1 else f"{count} days"


def _day(day: datetime.date) -> str:
    return formats.date_format(day, "j M")
