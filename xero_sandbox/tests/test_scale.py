"""The sandbox at scale: hundreds of organisations, one consent granting several, listed as Xero lists them."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xero_sandbox.identity import consent_link, jwt_claims
from xero_sandbox.models import Account, App, BrandingTheme, Organisation, TrackingCategory, TrackingOption
from xero_sandbox.seeding import seed_if_empty
from xero_sandbox.seeding_scale import seed_scale_organisations

from .test_identity import HTTP, SdkSession, consent, exchange

CONNECTION_KEYS = {"id", "authEventId", "tenantId", "tenantType", "tenantName", "createdDateUtc", "updatedDateUtc"}


def scale_orgs() -> list[str]:
    return list(Organisation.objects.filter(name__startswith="Scale Org ").values_list("name", flat=True))


def list_connections(sandbox_url: str, access_token: str, **query) -> list[dict]:
    answer = HTTP.request(
        "GET", f"{sandbox_url}/connections", fields=query, headers={"Authorization": f"Bearer {access_token}"}
    )
    assert answer.status == 200, answer.data
    return answer.json()


def linked_to(*organisations: Organisation) -> dict:
    """One consent of the platform's app to these organisations, without the browser: its token set."""
    app = App.objects.get(client_id=settings.XERO_CLIENT_ID)
    return consent_link(app=app, organisations=list(organisations), scopes=settings.XERO_SCOPES.split())


@pytest.mark.django_db
def test_seeding_n_organisations_twice_gives_n():
    call_command("xero_sandbox_seed", organisations=30)
    call_command("xero_sandbox_seed", organisations=30)
    assert sorted(scale_orgs()) == [f"Scale Org {n:04d} Ltd" for n in range(1, 31)]
    assert Organisation.objects.filter(country_code="GB").count() == 1  # the demo organisations too


@pytest.mark.django_db
def test_seeding_more_later_adds_only_the_missing_ones():
    first = seed_scale_organisations(count=3)
    more = seed_scale_organisations(count=5)
    assert [org.pk for org in more[:3]] == [org.pk for org in first]
    assert len(scale_orgs()) == 5
    assert Account.objects.filter(organisation=more[4], code="200").count() == 1  # books made once each


@pytest.mark.django_db
def test_scale_organisations_get_the_nz_tracking_categories_and_themes_one_insert_a_table():
    seed_if_empty()
    inserts = {}
    for count in (2, 7):  # 2 new organisations, then 5 more: the same statements either way
        with CaptureQueriesContext(connection) as captured:
            seed_scale_organisations(count=count)
        inserts[count] = [q["sql"].split('"')[1] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert inserts[2] == inserts[7]
    for table in ("trackingcategory", "trackingoption", "brandingtheme"):
        assert inserts[7].count(f"xero_sandbox_{table}") == 1, table
    last = Organisation.objects.get(name="Scale Org 0007 Ltd")
    categories = {c.name: c.status for c in TrackingCategory.objects.filter(organisation=last)}
    assert categories == {"Service": "ACTIVE", "Branch": "ACTIVE", "Old Region": "ARCHIVED"}
    rail = TrackingOption.objects.get(category__organisation=last, name="Rail")
    assert (rail.category.name, rail.status) == ("Service", "ARCHIVED")
    themes = BrandingTheme.objects.filter(organisation=last).values_list("name", "sort_order")
    assert list(themes) == [("Standard", 0), ("Freight Premium", 1)]


def test_a_scale_organisation_is_served_like_the_nz_one(orgs, sandbox_url):
    scale = seed_scale_organisations(count=2)
    session = SdkSession(sandbox_url, linked_to(*scale))
    tenant = str(scale[1].tenant_id)
    organisation = session.accounting.get_organisations(tenant).organisations[0]
    assert (organisation.name, organisation.base_currency.value) == ("Scale Org 0002 Ltd", "NZD")
    revenue = session.accounting.get_accounts(tenant, where='Status=="ACTIVE" AND Class=="REVENUE"').accounts
    assert sorted(a.code for a in revenue) == ["200", "260", "270"]
    assert {r.tax_type for r in session.accounting.get_tax_rates(tenant).tax_rates} >= {"OUTPUT2", "ZERORATED"}
    assert [c.code.value for c in session.accounting.get_currencies(tenant).currencies] == ["NZD", "AUD", "USD"]
    assert session.accounting.get_contacts(tenant, where='AccountNumber=="ACME01"').contacts


def test_one_consent_on_the_page_grants_three_organisations_and_lists_three_connections(orgs, sandbox_url):
    picked = [orgs["NZ"], orgs["GB"], *seed_scale_organisations(count=1)]
    status, token_set = exchange(sandbox_url, consent(*picked)["code"])
    assert status == 200
    listed = list_connections(sandbox_url, token_set["access_token"])
    auth_event_id = jwt_claims(token_set["access_token"])["authentication_event_id"]
    assert {c["tenantId"] for c in listed} == {str(org.tenant_id) for org in picked}
    assert all(set(c) == CONNECTION_KEYS for c in listed)
    assert {(c["tenantType"], c["authEventId"]) for c in listed} == {("ORGANISATION", auth_event_id)}
    assert len({c["id"] for c in listed}) == 3


def test_auth_event_id_narrows_the_connections_to_those_its_consent_made(orgs, sandbox_url):
    scale = seed_scale_organisations(count=4)
    first, second = linked_to(*scale[:3]), linked_to(scale[3])
    first_event = jwt_claims(first["access_token"])["authentication_event_id"]
    second_event = jwt_claims(second["access_token"])["authentication_event_id"]
    assert len(list_connections(sandbox_url, second["access_token"])) == 4  # the app's connections, all
    narrowed = list_connections(sandbox_url, second["access_token"], authEventId=first_event)
    assert sorted(c["tenantName"] for c in narrowed) == [org.name for org in scale[:3]]
    narrowed = list_connections(sandbox_url, first["access_token"], authEventId=second_event)
    assert [c["tenantName"] for c in narrowed] == [scale[3].name]


def test_an_unknown_auth_event_id_lists_no_connections(orgs, sandbox_url):
    token_set = linked_to(orgs["NZ"])
    assert list_connections(sandbox_url, token_set["access_token"], authEventId="not-a-uuid") == []
