"""The identity service as a Xero client meets it: the consent page in a browser, and the code
exchange and token endpoints over HTTP (refresh, revocation and connections are in
test_identity_tokens.py, which uses the helpers here)."""

import base64
import re
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import urllib3
from django.conf import settings
from django.test import Client
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

from xero_sandbox.identity import jwt_claims
from xero_sandbox.models import App, Connection, Grant

AUTHORIZE_PATH = "/xero-sandbox/identity/connect/authorize"
STATE = "a-state-the-app-keeps"
HTTP = urllib3.PoolManager(timeout=10, retries=False)


# --- helpers: a browser on the consent page, an app on the token endpoint, the SDK ---------------


def authorize_url(**overrides) -> str:
    query = {
        "response_type": "code",
        "client_id": settings.XERO_CLIENT_ID,
        "redirect_uri": settings.XERO_REDIRECT_URI,
        "scope": settings.XERO_SCOPES,
        "state": STATE,
        **overrides,
    }
    return f"{AUTHORIZE_PATH}?{urlencode(query)}"


def consent(*organisations, decision: str = "allow", **query) -> dict:
    """A person on the consent page, CSRF checks on, choosing; returns the callback's query."""
    browser = Client(enforce_csrf_checks=True)
    url = authorize_url(**query)
    page = browser.get(url)
    csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    answer = browser.post(
        url,
        {
            "csrfmiddlewaretoken": csrf_token,
            "decision": decision,
            "organisations": [str(org.tenant_id) for org in organisations],
        },
    )
    assert answer.status_code == 302
    callback = urlsplit(answer["Location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == settings.XERO_REDIRECT_URI
    return dict(parse_qsl(callback.query))


def post_form(url: str, fields: dict, headers: dict | None = None) -> tuple[int, dict]:
    response = HTTP.request("POST", url, fields=fields, encode_multipart=False, headers=headers)
    return response.status, (response.json() if response.data else {})


def client_fields(secret: str | None = None) -> dict:
    return {"client_id": settings.XERO_CLIENT_ID, "client_secret": secret or settings.XERO_CLIENT_SECRET}


def exchange(sandbox_url: str, code: str, **overrides) -> tuple[int, dict]:
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": settings.XERO_REDIRECT_URI}
    return post_form(f"{sandbox_url}/connect/token", {**fields, **client_fields(), **overrides})


def link(sandbox_url: str, *organisations) -> dict:
    """Consent to the organisations and redeem the code: the token set an app would store."""
    status, token_set = exchange(sandbox_url, consent(*organisations)["code"])
    assert status == 200, token_set
    return token_set


class SdkSession:
    """What the integration keeps: a stored token set and an SDK client that reads and saves it."""

    def __init__(self, sandbox_url: str, token_set: dict, *, expires_at: float | None = None):
        self.sandbox_url = sandbox_url
        self.token = {
            "access_token": token_set["access_token"],
            "refresh_token": token_set.get("refresh_token"),
            "scope": token_set["scope"].split(),
            "expires_in": token_set["expires_in"],
            "token_type": token_set["token_type"],
            "expires_at": expires_at or time.time() + token_set["expires_in"],
            "id_token": token_set.get("id_token"),
        }
        configuration = Configuration(
            oauth2_token=OAuth2Token(client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET)
        )
        self.client = ApiClient(
            configuration, pool_threads=1, oauth2_token_getter=lambda: self.token, oauth2_token_saver=self.save
        )

    def save(self, token: dict) -> None:
        self.token = token

    @property
    def identity(self) -> IdentityApi:
        return IdentityApi(self.client, base_url=self.sandbox_url)

    @property
    def accounting(self) -> AccountingApi:
        return AccountingApi(self.client, base_url=f"{self.sandbox_url}/api.xro/2.0")

    def token_api(self) -> TokenApi:
        sandbox_url = self.sandbox_url

        class SandboxTokenApi(TokenApi):
            refresh_token_url = f"{sandbox_url}/connect/token"
            revoke_token_url = f"{sandbox_url}/connect/revocation"

        return SandboxTokenApi(self.client, settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET)


def tenants(connections) -> set[str]:
    return {connection.tenant_name for connection in connections}


@pytest.fixture
def sandbox_knobs(settings):
    """Change sandbox settings for one test; the live server reads them at call time."""

    def change(**knobs):
        settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, **knobs}

    return change


# --- the consent page ------------------------------------------------------------------------------


def test_the_consent_page_names_the_app_its_scopes_and_every_organisation(orgs):
    page = Client().get(authorize_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert "CocoonOPS" in html and "accounting.invoices" in html and "offline_access" in html
    for org in orgs.values():
        assert org.name in html
        assert f'type="checkbox" name="organisations" value="{org.tenant_id}"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_cancelling_consent_returns_access_denied_with_the_state(orgs):
    assert consent(decision="deny") == {"error": "access_denied", "state": STATE}
    assert not Grant.objects.exists()


def test_an_unknown_client_gets_an_error_page_and_no_redirect(orgs):
    page = Client().get(authorize_url(client_id="NOSUCHCLIENT"))
    assert page.status_code == 400
    assert "Unknown client" in page.content.decode()


def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(orgs):
    browser = Client()
    url = authorize_url(redirect_uri="https://evil.example.com/callback")
    for answer in (browser.get(url), browser.post(url, {"decision": "deny"})):
        assert answer.status_code == 400
        assert "redirect_uri" in answer.content.decode()
        assert "Location" not in answer


def test_allowing_without_picking_an_organisation_shows_the_page_again(orgs):
    answer = Client().post(authorize_url(), {"decision": "allow"})
    assert answer.status_code == 200
    assert "Pick at least one organisation" in answer.content.decode()
    assert not Grant.objects.exists()


def test_a_response_type_other_than_code_is_sent_back_to_the_app(orgs):
    answer = Client().get(authorize_url(response_type="token"))
    assert answer.status_code == 302
    assert "error=unsupported_response_type" in answer["Location"] and f"state={STATE}" in answer["Location"]


def test_approving_one_organisation_connects_that_one_only(orgs, sandbox_url):
    link(sandbox_url, orgs["GB"])  # an earlier consent, to another organisation
    callback = consent(orgs["NZ"])
    assert callback["state"] == STATE
    status, token_set = exchange(sandbox_url, callback["code"])
    assert status == 200
    session = SdkSession(sandbox_url, token_set)
    auth_event_id = jwt_claims(token_set["access_token"])["authentication_event_id"]
    connections = session.identity.get_connections(auth_event_id=auth_event_id)
    assert [(c.tenant_id, c.tenant_type, c.auth_event_id) for c in connections] == [
        (str(orgs["NZ"].tenant_id), "ORGANISATION", auth_event_id)
    ]
    assert connections[0].created_date_utc.tzinfo is not None


def test_approving_two_organisations_lists_both_under_the_auth_event(orgs, sandbox_url):
    session = SdkSession(sandbox_url, link(sandbox_url, orgs["NZ"], orgs["GB"]))
    auth_event_id = jwt_claims(session.token["access_token"])["authentication_event_id"]
    assert tenants(session.identity.get_connections(auth_event_id=auth_event_id)) == {orgs["NZ"].name, orgs["GB"].name}


def test_consenting_again_reuses_the_connection_under_the_new_auth_event(orgs, sandbox_url):
    link(sandbox_url, orgs["NZ"], orgs["GB"])
    session = SdkSession(sandbox_url, link(sandbox_url, orgs["NZ"]))
    auth_event_id = jwt_claims(session.token["access_token"])["authentication_event_id"]
    assert Connection.objects.filter(organisation=orgs["NZ"]).count() == 1
    assert tenants(session.identity.get_connections(auth_event_id=auth_event_id)) == {orgs["NZ"].name}
    assert tenants(session.identity.get_connections()) == {orgs["NZ"].name, orgs["GB"].name}


# --- the code exchange ---------------------------------------------------------------------------


def test_the_code_exchange_answers_a_bearer_token_set(orgs, sandbox_url):
    token_set = link(sandbox_url, orgs["NZ"])
    assert set(token_set) == {"access_token", "expires_in", "token_type", "refresh_token", "scope"}
    assert token_set["expires_in"] == 1800 and token_set["token_type"] == "Bearer"
    assert token_set["scope"] == settings.XERO_SCOPES


def test_the_access_token_is_a_jwt_carrying_client_scopes_and_auth_event(orgs, sandbox_url):
    token_set = link(sandbox_url, orgs["NZ"])
    claims = jwt_claims(token_set["access_token"])
    grant = Grant.objects.get()
    assert claims["client_id"] == settings.XERO_CLIENT_ID
    assert claims["authentication_event_id"] == str(grant.auth_event_id)
    assert claims["scope"] == settings.XERO_SCOPES.split()
    assert claims["exp"] - claims["iat"] == 1800 and claims["nbf"] == claims["iat"]


def test_an_authorization_code_works_only_once(orgs, sandbox_url):
    code = consent(orgs["NZ"])["code"]
    assert exchange(sandbox_url, code)[0] == 200
    assert exchange(sandbox_url, code) == (400, {"error": "invalid_grant"})


def test_an_expired_authorization_code_is_refused(orgs, sandbox_url, sandbox_knobs):
    sandbox_knobs(CODE_SECONDS=0)
    assert exchange(sandbox_url, consent(orgs["NZ"])["code"]) == (400, {"error": "invalid_grant"})


def test_an_unknown_code_is_refused(orgs, sandbox_url):
    assert exchange(sandbox_url, "not-a-code") == (400, {"error": "invalid_grant"})


def test_the_code_must_come_with_the_redirect_uri_used_to_authorize(orgs, sandbox_url):
    code = consent(orgs["NZ"])["code"]
    wrong_uri = "http://127.0.0.1:8000/other/"
    assert exchange(sandbox_url, code, redirect_uri=wrong_uri) == (400, {"error": "invalid_grant"})
    assert exchange(sandbox_url, code)[0] == 200  # the refused attempt did not use the code up


def test_a_code_issued_to_another_app_is_refused(orgs, sandbox_url):
    App.objects.create(name="Other", client_id="OTHER", client_secret="other-secret", redirect_uris="https://x.test/")
    code = consent(orgs["NZ"])["code"]
    status, body = exchange(sandbox_url, code, client_id="OTHER", client_secret="other-secret")
    assert (status, body) == (400, {"error": "invalid_grant"})


def test_a_wrong_client_secret_is_an_invalid_client(orgs, sandbox_url):
    code = consent(orgs["NZ"])["code"]
    assert exchange(sandbox_url, code, client_secret="wrong") == (400, {"error": "invalid_client"})
    assert exchange(sandbox_url, code, client_id="NOSUCHCLIENT") == (400, {"error": "invalid_client"})


def test_the_client_may_authenticate_with_http_basic(orgs, sandbox_url):
    code = consent(orgs["NZ"])["code"]
    basic = base64.b64encode(f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}".encode()).decode()
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": settings.XERO_REDIRECT_URI}
    status, token_set = post_form(f"{sandbox_url}/connect/token", fields, {"Authorization": f"Basic {basic}"})
    assert status == 200 and token_set["token_type"] == "Bearer"


def test_an_unsupported_grant_type_is_refused(orgs, sandbox_url):
    fields = {"grant_type": "password", **client_fields()}
    assert post_form(f"{sandbox_url}/connect/token", fields) == (400, {"error": "unsupported_grant_type"})


def test_the_openid_scope_adds_an_id_token_the_sdk_accepts(orgs, sandbox_url):
    code = consent(orgs["NZ"], scope=f"openid profile email {settings.XERO_SCOPES}")["code"]
    token_set = exchange(sandbox_url, code)[1]
    assert jwt_claims(token_set["id_token"])["aud"] == settings.XERO_CLIENT_ID
    assert len(SdkSession(sandbox_url, token_set).identity.get_connections()) == 1


def test_without_offline_access_no_refresh_token_is_issued(orgs, sandbox_url):
    code = consent(orgs["NZ"], scope="accounting.invoices")["code"]
    status, token_set = exchange(sandbox_url, code)
    assert status == 200 and "refresh_token" not in token_set


def test_an_unknown_scope_is_sent_back_as_invalid_scope(client, orgs):
    app = App.objects.get(client_id=settings.XERO_CLIENT_ID)
    answer = client.get(
        "/xero-sandbox/identity/connect/authorize",
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": app.redirect_uri_list[0],
            "scope": "offline_accessaccounting.invoices",
            "state": "s1",
        },
    )
    assert answer.status_code == 302
    assert "error=invalid_scope" in answer.url and "state=s1" in answer.url
