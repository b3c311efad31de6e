"""The identity service after the consent: refreshing and revoking tokens, expired access tokens, and
the connections an app lists and deletes, through xero-python as the integration uses them."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from xero_python.api_client.oauth2 import TokenApi
from xero_python.exceptions import HTTPStatusException, NotFoundException

from xero_sandbox.models import AccessToken, Connection, RefreshToken

from .test_identity import HTTP, SdkSession, client_fields, link, post_form, tenants


def refresh(sandbox_url: str, refresh_token: str) -> tuple[int, dict]:
    fields = {"grant_type": "refresh_token", "refresh_token": refresh_token, **client_fields()}
    return post_form(f"{sandbox_url}/connect/token", fields)


@pytest.fixture
def both(orgs, sandbox_url) -> SdkSession:
    """The platform linked to both seeded organisations through the consent flow."""
    return SdkSession(sandbox_url, link(sandbox_url, orgs["NZ"], orgs["GB"]))


# --- refresh -------------------------------------------------------------------------------------


def test_refresh_rotates_the_access_and_refresh_tokens(both):
    old = both.token
    new = both.token_api().refresh_token(old["refresh_token"], old["scope"])
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert RefreshToken.objects.get(token=old["refresh_token"]).used_at is not None
    renewed = SdkSession(both.sandbox_url, new)
    assert len(renewed.identity.get_connections()) == 2


def test_a_used_refresh_token_still_works_within_the_grace_period(both):
    old_refresh_token = both.token["refresh_token"]
    assert refresh(both.sandbox_url, old_refresh_token)[0] == 200
    status, again = refresh(both.sandbox_url, old_refresh_token)  # as if the first answer was lost
    assert status == 200 and again["refresh_token"] != old_refresh_token


def test_a_used_refresh_token_fails_after_the_grace_period(both):
    old_refresh_token = both.token["refresh_token"]
    assert refresh(both.sandbox_url, old_refresh_token)[0] == 200
    RefreshToken.objects.filter(token=old_refresh_token).update(used_at=timezone.now() - timedelta(minutes=31))
    assert refresh(both.sandbox_url, old_refresh_token) == (400, {"error": "invalid_grant"})


def test_an_expired_or_unknown_refresh_token_is_refused(both):
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert refresh(both.sandbox_url, both.token["refresh_token"]) == (400, {"error": "invalid_grant"})
    assert refresh(both.sandbox_url, "no-such-token") == (400, {"error": "invalid_grant"})


def test_the_sdk_refreshes_an_expiring_token_by_itself(both, monkeypatch):
    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{both.sandbox_url}/connect/token")
    old = dict(both.token, expires_at=time.time() + 30)  # inside the SDK's 60-second margin
    both.token = old
    assert len(both.identity.get_connections()) == 2
    assert both.token["access_token"] != old["access_token"]
    assert both.token["refresh_token"] != old["refresh_token"]


# --- access tokens, revocation, connections ------------------------------------------------------


def test_an_expired_access_token_is_unauthorized_on_connections_and_accounting(both, orgs):
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(HTTPStatusException) as on_connections:
        both.identity.get_connections()
    with pytest.raises(HTTPStatusException) as on_accounting:
        both.accounting.get_organisations(str(orgs["NZ"].tenant_id))
    assert on_connections.value.status == on_accounting.value.status == 401
    assert "TokenExpired" in on_connections.value.body.decode()


def test_connections_without_a_bearer_token_are_unauthorized(orgs, sandbox_url):
    response = HTTP.request("GET", f"{sandbox_url}/connections")
    assert response.status == 401 and response.json()["Title"] == "Unauthorized"


def test_connections_answer_on_the_lower_case_path_too(both):
    headers = {"Authorization": f"Bearer {both.token['access_token']}"}
    response = HTTP.request("GET", f"{both.sandbox_url}/connections", headers=headers)
    assert response.status == 200 and len(response.json()) == 2


def test_revocation_removes_the_connections_and_access(both, orgs):
    assert both.token_api().revoke_token(both.token["refresh_token"]) == 200
    assert not Connection.objects.exists()
    with pytest.raises(HTTPStatusException) as error:
        both.identity.get_connections()
    assert error.value.status == 401
    assert refresh(both.sandbox_url, both.token["refresh_token"]) == (400, {"error": "invalid_grant"})


def test_revocation_needs_the_right_client_secret(both):
    fields = {"token": both.token["refresh_token"], **client_fields(secret="wrong")}
    assert post_form(f"{both.sandbox_url}/connect/revocation", fields) == (400, {"error": "invalid_client"})
    assert Connection.objects.count() == 2


def test_deleting_one_connection_forbids_that_tenant_only(both, orgs):
    nz = next(c for c in both.identity.get_connections() if c.tenant_id == str(orgs["NZ"].tenant_id))
    both.identity.delete_connection(nz.id)
    assert both.client.last_response.status == 204
    with pytest.raises(HTTPStatusException) as error:
        both.accounting.get_organisations(str(orgs["NZ"].tenant_id))
    assert error.value.status == 403
    assert both.accounting.get_organisations(str(orgs["GB"].tenant_id)).organisations[0].name == orgs["GB"].name
    assert tenants(both.identity.get_connections()) == {orgs["GB"].name}


def test_deleting_an_unknown_connection_is_not_found(both):
    with pytest.raises(NotFoundException):
        both.identity.delete_connection("00000000-0000-0000-0000-000000000000")
    assert Connection.objects.count() == 2
