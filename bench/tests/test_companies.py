"""The several-companies bench tells both sides the same minute, and counts work and busy minutes right."""

from datetime import UTC, datetime, timedelta

from bench import companies, companies_figures

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_platform_is_told_the_sandboxs_compressed_minute():
    args = companies.parse(["--companies", "50", "--minute-seconds", "6"])
    assert args.app_limit == 600
    assert companies.sandbox_limits(args)["APP_MINUTE_LIMIT"] == 600
    assert companies.platform_pace(args) == {"XERO_CALLS_PER_MINUTE": "600", "XERO_APP_CALLS_PER_MINUTE": "6000"}


def test_the_busiest_minute_is_counted_over_a_sliding_window():
    calls = [at(0), at(10), at(59), at(61), at(62), at(200)]
    assert companies_figures._busiest_window(calls, 60.0) == 4  # 10, 59, 61, 62


def test_a_company_has_work_from_an_issue_until_its_last_overlapping_document_is_sent():
    documents = [
        {"company": 1, "issued_at": at(0), "sent_at": at(5)},
        {"company": 1, "issued_at": at(3), "sent_at": at(9)},
        {"company": 1, "issued_at": at(20), "sent_at": None},
    ]
    spans = companies_figures._work_intervals(documents)[1]
    assert [companies_figures._has_work(spans, at(s).timestamp()) for s in (1, 8, 12, 25)] == [True, True, False, True]
