"""Property: whatever is posted to the Xero add-on's actions (and the add-on switch in the admin), the
answer is never a 500, a refused action changes nothing, the person is told why, and every redirect
stays on this site. Against the sandbox over HTTP, linked to its NZ organisation.

The webhook receiver has its own fuzz test (test_webhooks.py)."""

import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing import services
from billing.tests.factories import draft_with_lines
from integrations.models import AddOn
from integrations.xero.conftest import link, query_of
from integrations.xero.link import linking
from integrations.xero.models import SyncRecord, XeroConnection

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

junk_text = st.text(max_size=40) | st.sampled_from(
    [
        "",
        "//evil.example/",
        "https://evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "all",
        "1",
        "-1",
        "9" * 30,
    ]
)
junk_post = st.dictionaries(
    st.sampled_from(["next", "show", "tenant_id", "state", "code", "redirect_uri"]) | st.text(max_size=8),
    junk_text,
    max_size=4,
)


@pytest.fixture
def linked(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    failed = services.invoice_issue(invoice=draft_with_lines())
    sent = services.invoice_issue(invoice=draft_with_lines())
    SyncRecord.objects.filter(invoice=failed).update(state="failed", error="Xero refused it")
    SyncRecord.objects.filter(invoice=sent).update(state="sent", xero_id=uuid.uuid4())
    return admin_client, {
        "failed": SyncRecord.objects.get(invoice=failed).pk,
        "sent": SyncRecord.objects.get(invoice=sent).pk,
    }


def snapshot():
    connection = XeroConnection.objects.get()
    records = list(SyncRecord.objects.order_by("pk").values_list("pk", "state", "acknowledged_at", "error"))
    return (connection.status, connection.tenant_id, connection.refresh_token), records


def assert_stays_on_this_site(response):
    if response.status_code == 302:
        assert response.url.startswith("/") and not response.url.startswith(("//", "/\\")), response.url


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@FUZZ
@example(action="retry", target="failed", data={"next": "0"})  # was a 500: redirect() took "0" for a view's name
@given(
    action=st.sampled_from(["retry", "acknowledge", "recheck"]),
    target=st.sampled_from(["failed", "sent", "missing"]),
    data=junk_post,
)
def test_no_post_to_a_sync_action_is_a_server_error_and_each_redirect_stays_on_this_site(linked, action, target, data):
    client, records = linked
    pk = records.get(target, 999999)
    url = {
        "retry": f"/integrations/xero/documents/{pk}/retry/",
        "acknowledge": f"/integrations/xero/exceptions/{pk}/acknowledge/",
        "recheck": "/integrations/xero/setup-check/recheck/",
    }[action]
    before = snapshot()
    response = client.post(url, data)
    if target == "missing" and action != "recheck":
        assert response.status_code == 404
        assert snapshot() == before
        return
    assert response.status_code == 302
    assert_stays_on_this_site(response)
    assert said(response), "the person is told what happened"
    if target == "sent":
        assert snapshot() == before  # nothing to retry or acknowledge on a document already in Xero


@FUZZ
@given(tenant_id=junk_text | st.uuids().map(str), data=junk_post)
def test_choosing_an_organisation_that_was_not_offered_links_nothing_and_says_so(linked, tenant_id, data):
    client, _ = linked
    session = client.session
    session[linking.PENDING_KEY] = {
        "tokens": "not-used",
        "tenants": [
            {
                "tenant_id": str(uuid.uuid4()),
                "tenant_name": "Offered Ltd",
                "tenant_type": "ORGANISATION",
                "connection_id": str(uuid.uuid4()),
            }
        ],
    }
    session.save()
    before = snapshot()
    response = client.post("/integrations/xero/choose/", {**data, "tenant_id": tenant_id})
    assert response.status_code == 302 and response.url == "/integrations/xero/choose/"  # to choose again
    assert "Pick one of the organisations listed." in said(response)
    assert snapshot() == before and linking.PENDING_KEY in client.session


@FUZZ
@given(
    params=st.dictionaries(st.sampled_from(["state", "code", "error", "scope"]), junk_text, max_size=4),
    started=st.booleans(),
)
def test_no_callback_from_xero_is_a_server_error_and_a_bad_one_changes_the_link_not_at_all(linked, params, started):
    client, _ = linked
    if started:  # a genuine state from this session, with whatever else Xero might send
        params = {**params, "state": query_of(client.post("/integrations/xero/link/").url)["state"]}
    before = snapshot()
    response = client.get("/integrations/xero/callback/", params)
    assert response.status_code in (302, 403, 400)  # 400: a NUL in the query, refused before the view
    assert_stays_on_this_site(response)
    if response.status_code == 302:
        assert said(response)
    assert snapshot() == before


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=junk_post)
def test_linking_and_disconnecting_ignore_whatever_else_is_posted(sandbox, admin_client, data):
    started = admin_client.post("/integrations/xero/link/", data)
    assert query_of(started.url)["redirect_uri"] == django_settings.XERO_REDIRECT_URI
    response = admin_client.post("/integrations/xero/disconnect/", data)
    assert response.status_code == 302 and response.url == "/addons/"
    assert said(response)
    assert not XeroConnection.objects.filter(status="active").exists()


# --- The add-on switch (the vendor's, in the admin) ---------------------------------------------


@pytest.fixture
def vendor(admin_client):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="admin").update(is_superuser=True)
    return admin_client


@FUZZ
@given(
    key=st.sampled_from(["xero", ""]) | junk_text,
    enabled=st.sampled_from(["on", "", "true", "0"]) | junk_text,
    editing=st.booleans(),
)
def test_no_post_to_the_add_on_switch_is_a_server_error_and_a_refused_one_saves_nothing(vendor, key, enabled, editing):
    AddOn.objects.all().delete()
    existing = AddOn.objects.create(key="xero") if editing else None
    url = f"/admin/integrations/addon/{existing.pk}/change/" if editing else "/admin/integrations/addon/add/"
    before = list(AddOn.objects.values())
    response = vendor.post(url, {"key": key, "enabled": enabled})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert list(AddOn.objects.values()) == before
        assert response.context["adminform"].form.errors
    else:
        assert AddOn.objects.get(key=key).enabled == bool(enabled)
