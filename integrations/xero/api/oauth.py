"""Xero's sign-in service and its connections: the consent URL, the code exchange, token refresh and
revocation (plain HTTP: the SDK has no code exchange and hard-codes Xero's token URLs), and the list of
organisations a consent granted."""

import base64
import binascii
import contextlib
import datetime
import json
import urllib.parse

import urllib3
from django.conf import settings
from django.utils import timezone

from integrations.xero.api import answers, transport
from integrations.xero.api.errors import NO_ANSWER, XeroError, XeroNeedsRelink, XeroNotFound
from integrations.xero.api.values import Tenant, TokenSet


def authorize_url(*, state: str) -> str:
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": settings.XERO_CLIENT_ID,
            "redirect_uri": settings.XERO_REDIRECT_URI,
            "scope": settings.XERO_SCOPES,
            "state": state,
        }
    )
    return f"{settings.XERO_LOGIN_URL}/identity/connect/authorize?{query}"


def exchange_code(*, code: str) -> TokenSet:
    return _token_request(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": settings.XERO_REDIRECT_URI}
    )


def refresh_tokens(*, refresh_token: str) -> TokenSet:
    return _token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})


def revoke(*, refresh_token: str) -> None:
    _identity_post("/connect/revocation", {"token": refresh_token})


def list_connections(*, access_token: str, auth_event_id: str = "") -> list[Tenant]:
    found = transport.answer(transport.identity_api(access_token).get_connections, auth_event_id=auth_event_id or None)
    if not isinstance(found, list):
        raise XeroError("Xero's list of connections could not be read.")
    return answers.readable(answers.tenant, found)


def delete_connection(*, access_token: str, connection_id: str) -> None:
    with contextlib.suppress(XeroNotFound):  # already gone in Xero: what was wanted
        transport.answer(transport.identity_api(access_token).delete_connection, connection_id, expect_body=False)


def _token_request(form: dict) -> TokenSet:
    answer = _identity_post("/connect/token", form)
    payload = json.loads(answer.data)
    return TokenSet(
        access_token=payload["access_token"],
        refresh_token=payload.get("refresh_token", ""),
        expires_at=timezone.now() + datetime.timedelta(seconds=int(payload["expires_in"])),
        scopes=payload.get("scope", ""),
        auth_event_id=_jwt_claims(payload["access_token"]).get("authentication_event_id", ""),
    )


def _identity_post(path: str, form: dict):
    credentials = base64.b64encode(f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}".encode()).decode()
    try:
        answer = transport.http.request(
            "POST",
            f"{settings.XERO_IDENTITY_URL}{path}",
            body=urllib.parse.urlencode(form),
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
            timeout=urllib3.Timeout(*settings.XERO_TIMEOUT),
        )
    except urllib3.exceptions.HTTPError as error:
        reason = transport.no_answer_reason(error)
        raise XeroError(f"Xero's sign-in service {NO_ANSWER} ({reason}).", status=0) from None
    if answer.status == 200:
        return answer
    error = _json_or_empty(answer.data).get("error", f"HTTP {answer.status}")
    if error == "invalid_grant":
        raise XeroNeedsRelink("Xero no longer accepts this link (invalid_grant): link to Xero again.")
    if error == "invalid_client":
        raise XeroError(
            "Xero does not recognise the app's client id and secret (invalid_client): "
            "check XERO_CLIENT_ID and XERO_CLIENT_SECRET.",
            permanent=True,
        )
    # A 429 or 5xx from the sign-in service passes; anything else will not pass by itself.
    transient = answer.status == 429 or answer.status >= 500
    raise XeroError(f"Xero's sign-in service answered {error}.", permanent=not transient, status=answer.status)


def _jwt_claims(token: str) -> dict:
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}


def _json_or_empty(data: bytes) -> dict:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
