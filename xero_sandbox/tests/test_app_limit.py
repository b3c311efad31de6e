"""Xero's app-wide limit: calls a minute across all the organisations of one app (10,000 in Xero)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from xero_python.exceptions import RateLimitException

from xero_sandbox.models import App, RequestLog


@pytest.fixture
def limits(settings):
    def set_limits(**knobs):
        settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, **knobs}

    return set_limits


def call(linked, country: str) -> dict:
    linked.api.get_tax_rates(linked.tenant(country))
    return linked.api.api_client.last_response.getheaders()


def refused(linked, country: str) -> dict:
    with pytest.raises(RateLimitException) as error:
        linked.api.get_tax_rates(linked.tenant(country))
    return error.value.headers


def test_the_app_limit_counts_calls_to_all_its_organisations(linked, limits):
    limits(APP_MINUTE_LIMIT=3, MINUTE_LIMIT=100)
    assert call(linked, "NZ")["X-AppMinLimit-Remaining"] == "2"
    assert call(linked, "GB")["X-AppMinLimit-Remaining"] == "1"
    headers = call(linked, "NZ")
    assert (headers["X-AppMinLimit-Remaining"], headers["X-MinLimit-Remaining"]) == ("0", "98")


def test_past_the_app_limit_any_organisation_gets_429_appminute(linked, limits):
    limits(APP_MINUTE_LIMIT=3, MINUTE_LIMIT=100, MINUTE_SECONDS=30)
    for country in ("NZ", "NZ", "GB"):
        call(linked, country)
    headers = refused(linked, "GB")  # GB's own minute has room: the app's has not
    assert headers["X-Rate-Limit-Problem"] == "appminute"
    assert headers["Retry-After"] == "30"  # a compressed minute
    assert (headers["X-AppMinLimit-Remaining"], headers["X-MinLimit-Remaining"]) == ("0", "99")
    assert "X-DayLimit-Remaining" in headers
    assert RequestLog.objects.filter(status_code=429, rate_limit_problem="appminute").count() == 1


def test_retry_after_is_the_time_until_the_window_has_room(linked, limits):
    limits(APP_MINUTE_LIMIT=2, MINUTE_LIMIT=100, MINUTE_SECONDS=60)
    call(linked, "NZ")
    call(linked, "GB")
    oldest = RequestLog.objects.earliest("at")
    RequestLog.objects.filter(pk=oldest.pk).update(at=timezone.now() - timedelta(seconds=45))
    assert refused(linked, "NZ")["Retry-After"] in {"14", "15"}  # the oldest call leaves the minute in 15 s


def test_after_a_compressed_minute_the_app_may_call_again(linked, limits):
    limits(APP_MINUTE_LIMIT=2, MINUTE_LIMIT=100, MINUTE_SECONDS=1.0)
    call(linked, "NZ")
    call(linked, "GB")
    assert refused(linked, "NZ")["Retry-After"] == "1"
    time.sleep(1.1)
    assert call(linked, "NZ")["X-AppMinLimit-Remaining"] == "1"


def test_another_apps_calls_do_not_count_against_the_app_limit(linked, limits):
    limits(APP_MINUTE_LIMIT=2, MINUTE_LIMIT=100)
    other = App.objects.create(name="Other app", client_id="other", client_secret="s", redirect_uris="http://x/cb")
    RequestLog.objects.bulk_create(
        RequestLog(organisation=linked.orgs["NZ"], app=other, method="GET", path="/TaxRates", status_code=200)
        for _ in range(5)
    )
    assert call(linked, "GB")["X-AppMinLimit-Remaining"] == "1"
