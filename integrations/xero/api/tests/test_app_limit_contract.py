"""Two companies linked to two organisations of the same Xero app, over HTTP against the sandbox, whose
app-wide limit (APP_MINUTE_LIMIT, across all organisations of the app) is set small: paced at or below
it, calls to both meet no app-wide 429; paced above it, the 429 that comes pauses both."""

import threading

import pytest
from django.db import connection as db
from django.utils import timezone

from billing.models import Company
from billing.tests.factories import CompanyFactory
from integrations.xero.api import pacing
from integrations.xero.api.errors import Paused, XeroRateLimited
from integrations.xero.api.xero_api import XeroApi
from integrations.xero.conftest import link
from integrations.xero.models import XeroConnection
from xero_sandbox.models import RequestLog


@pytest.fixture
def nz_and_gb(sandbox, admin_client) -> list[XeroConnection]:
    """The default company linked to the NZ organisation, a second company to the GB one."""
    nz = Company.objects.default()
    uk = CompanyFactory(name="Cocoon Freight UK Ltd", country="GB", base_currency="GBP")
    link(admin_client, sandbox["NZ"])
    link(admin_client, sandbox["GB"], company=uk)
    return [XeroConnection.objects.get(company=nz), XeroConnection.objects.get(company=uk)]


def sandbox_limits(settings, **knobs) -> None:
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "MINUTE_LIMIT": 100, **knobs}
    RequestLog.objects.all().delete()  # linking's calls leave the window


def test_paced_at_the_apps_limit_two_organisations_meet_no_app_wide_429(nz_and_gb, settings):
    # The sandbox allows the app 4 calls per 1-second "minute" (240 a real minute); the workers pace the
    # app at 200 a minute, and each organisation alone would be let go far faster.
    sandbox_limits(settings, APP_MINUTE_LIMIT=4, MINUTE_SECONDS=1.0)
    settings.XERO_CALLS_PER_MINUTE = 6000
    settings.XERO_APP_CALLS_PER_MINUTE = 200

    def calls(connection):
        for _ in range(5):
            XeroApi(connection).read_organisation()
        db.close()

    running = [threading.Thread(target=calls, args=(connection,)) for connection in nz_and_gb]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=60)
    assert RequestLog.objects.filter(status_code=429).count() == 0
    assert RequestLog.objects.filter(status_code=200).count() == 10
    assert set(RequestLog.objects.values_list("organisation__country_code", flat=True)) == {"NZ", "GB"}


def test_paced_above_the_apps_limit_the_app_wide_429_pauses_both_organisations(nz_and_gb, settings, admin_client):
    sandbox_limits(settings, APP_MINUTE_LIMIT=3, MINUTE_SECONDS=30.0)  # Retry-After up to 30 s
    settings.XERO_CALLS_PER_MINUTE = 6000
    settings.XERO_APP_CALLS_PER_MINUTE = 6000
    nz, gb = nz_and_gb
    for connection in (nz, gb, nz):
        XeroApi(connection).read_organisation()
    with pytest.raises(XeroRateLimited) as refused:
        XeroApi(gb).read_organisation()
    assert refused.value.problem == "appminute"
    for connection in (nz, gb):  # neither calls Xero until the Retry-After has passed
        with pytest.raises(Paused) as held:
            XeroApi(connection).read_organisation()
        assert abs((held.value.until - timezone.now()).total_seconds() - refused.value.retry_after) < 2
    assert RequestLog.objects.count() == 4
    assert RequestLog.objects.filter(status_code=429, rate_limit_problem="appminute").count() == 1
    pause = pacing.paused(str(nz.tenant_id))
    assert pause == pacing.paused(str(gb.tenant_id)) == pacing.app_paused()
    assert "all organisations of this app" in pause.pause_reason
    assert admin_client.get("/addons/").content.decode().count("all organisations of this app") == 2
