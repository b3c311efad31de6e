from django.contrib.messages import get_messages
from django.db import connection as db

from integrations.xero.conftest import consent, link, make_admin, path_and_query, query_of
from integrations.xero.models import XeroConnection
from xero_sandbox.models import Connection as SandboxConnection


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_link_sends_the_browser_to_xeros_consent_page_with_a_fresh_state(sandbox, admin_client, settings):
    answer = admin_client.post("/integrations/xero/link/")
    assert answer.url.startswith(f"{settings.XERO_LOGIN_URL}/identity/connect/authorize?")
    query = query_of(answer.url)
    assert query["response_type"] == "code"
    assert (query["client_id"], query["redirect_uri"]) == (settings.XERO_CLIENT_ID, settings.XERO_REDIRECT_URI)
    assert query["scope"].split() == [
        "offline_access",
        "accounting.invoices",
        "accounting.contacts",
        "accounting.settings.read",
        "accounting.attachments",
    ]
    assert len(query["state"]) >= 32
    assert query["state"] != query_of(admin_client.post("/integrations/xero/link/").url)["state"]


def test_linking_one_organisation_shows_it_on_the_add_ons_page(sandbox, admin_client):
    answer = link(admin_client, sandbox["NZ"])
    assert answer.url == "/integrations/xero/setup-check/"  # the set-up check comes first (test_setup_check.py)
    linked = XeroConnection.objects.get()
    assert (linked.status, linked.tenant_name, linked.country_code, linked.base_currency) == (
        "active",
        "Demo Freight NZ Ltd",
        "NZ",
        "NZD",
    )
    assert str(linked.tenant_id) == str(sandbox["NZ"].tenant_id)
    assert linked.linked_by.username == "admin"
    assert any(account["code"] == "200" for account in linked.chart_of_accounts)
    assert any(rate["tax_type"] == "OUTPUT2" for rate in linked.tax_rates)
    page = admin_client.get("/addons/").content.decode()
    assert "Demo Freight NZ Ltd" in page and "Re-link" in page and "Disconnect" in page


def test_linking_several_organisations_asks_which_one_and_lets_go_of_the_others(sandbox, admin_client):
    answer = link(admin_client, sandbox["NZ"], sandbox["GB"])
    assert answer.url == "/integrations/xero/choose/"
    assert not XeroConnection.objects.exists()
    page = admin_client.get("/integrations/xero/choose/").content.decode()
    assert "Demo Freight NZ Ltd" in page and "Demo Freight UK Ltd" in page
    admin_client.post("/integrations/xero/choose/", {"tenant_id": str(sandbox["GB"].tenant_id)})
    assert XeroConnection.objects.get().tenant_name == "Demo Freight UK Ltd"
    assert list(SandboxConnection.objects.values_list("organisation__country_code", flat=True)) == ["GB"]


def test_a_cancelled_consent_says_so_and_links_nothing(sandbox, admin_client):
    answer = link(admin_client, decision="deny")
    assert "Linking was cancelled on Xero's page; nothing changed." in messages_of(answer)
    assert not XeroConnection.objects.exists()


def test_a_callback_with_a_wrong_or_missing_state_is_refused_and_stores_nothing(sandbox, admin_client):
    started = admin_client.post("/integrations/xero/link/")
    back = consent(admin_client, started.url, orgs=[sandbox["NZ"]])
    forged = path_and_query(back).replace(query_of(back)["state"], "forged-state")
    assert admin_client.get(forged).status_code == 403
    assert admin_client.get(f"/integrations/xero/callback/?code={query_of(back)['code']}").status_code == 403
    assert not XeroConnection.objects.exists()


def test_a_stray_callback_leaves_the_persons_link_in_progress_to_finish(sandbox, admin_client):
    started = admin_client.post("/integrations/xero/link/")
    back = consent(admin_client, started.url, orgs=[sandbox["NZ"]])
    # A cross-site page sends the person's browser to the callback with no state, then with a made-up one.
    assert admin_client.get("/integrations/xero/callback/").status_code == 403
    assert admin_client.get("/integrations/xero/callback/?state=made-up&code=x").status_code == 403
    assert admin_client.get(path_and_query(back)).status_code == 302  # the real answer still links
    assert XeroConnection.objects.current().tenant_name == "Demo Freight NZ Ltd"


def test_a_state_is_used_once(sandbox, admin_client):
    started = admin_client.post("/integrations/xero/link/")
    back = consent(admin_client, started.url, orgs=[sandbox["NZ"]])
    admin_client.get(path_and_query(back))
    assert admin_client.get(path_and_query(back)).status_code == 403


def test_a_passing_failure_while_linking_asks_the_person_to_press_link_again(sandbox, admin_client):
    from xero_sandbox.models import Fault

    Fault.objects.create(
        organisation=sandbox["NZ"], kind=Fault.Kind.RATE_LIMIT, path_contains="/Organisation", remaining=1
    )
    answer = link(admin_client, sandbox["NZ"])
    said = " ".join(messages_of(answer))
    assert "passing reason (Xero's minute limit was reached)" in said and "press LINK TO MY ACCOUNT again" in said
    assert "trying again" not in said
    assert not XeroConnection.objects.exists()
    link(admin_client, sandbox["NZ"])
    assert XeroConnection.objects.get().status == "active"


def test_a_bad_code_is_a_failure_with_a_message_and_stores_nothing(sandbox, admin_client):
    started = admin_client.post("/integrations/xero/link/")
    back = consent(admin_client, started.url, orgs=[sandbox["NZ"]])
    answer = admin_client.get(path_and_query(back).replace(query_of(back)["code"], "not-a-code"))
    assert any("Linking to Xero failed" in message and "invalid_grant" in message for message in messages_of(answer))
    assert not XeroConnection.objects.exists()


def test_disconnect_removes_the_connection_in_xero_and_forgets_the_tokens(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    admin_client.post("/integrations/xero/disconnect/")
    ended = XeroConnection.objects.get()
    assert (ended.status, ended.access_token_encrypted, ended.refresh_token_encrypted) == ("disconnected", "", "")
    assert not SandboxConnection.objects.exists()
    assert "LINK TO MY ACCOUNT" in admin_client.get("/addons/").content.decode()


def test_relinking_the_same_organisation_renews_the_same_link(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    first_token = XeroConnection.objects.get().access_token
    link(admin_client, sandbox["NZ"])
    renewed = XeroConnection.objects.get()
    assert renewed.status == "active" and renewed.access_token != first_token


def test_linking_another_organisation_warns_that_sent_documents_stay_in_the_old_one(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    answer = link(admin_client, sandbox["GB"])
    assert any("Documents already sent there stay in Demo Freight NZ Ltd" in m for m in messages_of(answer))
    assert XeroConnection.objects.current().tenant_name == "Demo Freight UK Ltd"
    assert XeroConnection.objects.get(tenant_name="Demo Freight NZ Ltd").status == "disconnected"


def test_only_staff_with_the_permission_can_link_or_disconnect(sandbox, client):
    client.force_login(make_admin("clerk", can_manage=False))
    assert client.post("/integrations/xero/link/").status_code == 403
    assert client.post("/integrations/xero/disconnect/").status_code == 403
    assert client.get("/integrations/xero/callback/?state=x&code=y").status_code == 403
    page = client.get("/addons/").content.decode()
    assert "LINK TO MY ACCOUNT" not in page and "manage Xero add-on" in page


def test_linking_needs_a_post_with_a_csrf_token(sandbox, transactional_db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_admin())
    assert client.post("/integrations/xero/link/").status_code == 403
    assert client.get("/integrations/xero/link/").status_code == 405


def test_tokens_are_stored_encrypted(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    linked = XeroConnection.objects.get()
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token_encrypted, refresh_token_encrypted FROM xero_xeroconnection")
        raw_access, raw_refresh = cursor.fetchone()
    assert linked.access_token and linked.access_token not in raw_access
    assert linked.refresh_token and linked.refresh_token not in raw_refresh
    assert linked.access_token not in repr(linked) and linked.access_token not in str(linked)
