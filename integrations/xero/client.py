"""The only module that talks to Xero. Everything above it works with plain values and the errors below.

Accounting and connections calls go through the official `xero-python` SDK, pointed at the configured
hosts (XERO_API_URL); the OAuth token endpoint is called with plain HTTP because the SDK has no code
exchange and hard-codes Xero's token URLs. Two SDK habits are switched off here on purpose:
* its own token refresh (done without a lock): `tokens.py` refreshes under a lock before calling, and
  the SDK is told the token it gets is good for a while;
* urllib3's default retries, which sleep through a 429's Retry-After and re-send PUTs after a read
  error — a possible duplicate. Every retry is decided by the caller, who knows what is safe.
"""

import base64
import binascii
import datetime
import json
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.utils import timezone
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import (
    AccountingBadRequestException,
    HTTPStatusException,
    NotFoundException,
    RateLimitException,
)
from xero_python.identity import IdentityApi

from .errors import XeroError, XeroNeedsRelink, XeroRateLimited, XeroRejected

_http = urllib3.PoolManager(retries=False)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime.datetime
    scopes: str
    auth_event_id: str


@dataclass(frozen=True)
class Tenant:
    connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str


@dataclass(frozen=True)
class Organisation:
    name: str
    country_code: str
    base_currency: str


# --- OAuth ------------------------------------------------------------------------------------
def authorize_url(*, state: str) -> str:
    query = urllib.parse.urlencode({
        "response_type": "code",
        "client_id": settings.XERO_CLIENT_ID,
        "redirect_uri": settings.XERO_REDIRECT_URI,
        "scope": settings.XERO_SCOPES,
        "state": state,
    })
    return f"{settings.XERO_LOGIN_URL}/identity/connect/authorize?{query}"


def exchange_code(*, code: str) -> TokenSet:
    return _token_request({"grant_type": "authorization_code", "code": code, "redirect_uri": settings.XERO_REDIRECT_URI})


def refresh_tokens(*, refresh_token: str) -> TokenSet:
    return _token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})


def revoke(*, refresh_token: str) -> None:
    _identity_post("/connect/revocation", {"token": refresh_token})


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
        answer = _http.request(
            "POST", f"{settings.XERO_IDENTITY_URL}{path}", body=urllib.parse.urlencode(form),
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
            timeout=urllib3.Timeout(*settings.XERO_TIMEOUT),
        )
    except urllib3.exceptions.HTTPError as error:
        raise XeroError(f"Xero's sign-in service could not be reached ({type(error).__name__}).") from None
    if answer.status == 200:
        return answer
    error = _json_or_empty(answer.data).get("error", f"HTTP {answer.status}")
    if error == "invalid_grant":
        raise XeroNeedsRelink("Xero no longer accepts this link (invalid_grant): link to Xero again.")
    if error == "invalid_client":
        raise XeroError("Xero does not recognise the app's client id and secret (invalid_client): "
                        "check XERO_CLIENT_ID and XERO_CLIENT_SECRET.", permanent=True)
    raise XeroError(f"Xero's sign-in service answered {error}.", permanent=answer.status < 500)


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


# --- Connections and the Accounting API -----------------------------------------------------
def list_connections(*, access_token: str, auth_event_id: str = "") -> list[Tenant]:
    with _translated_errors():
        found = _identity_api(access_token).get_connections(
            auth_event_id=auth_event_id or None, _request_timeout=settings.XERO_TIMEOUT
        )
    return [Tenant(str(c.id), str(c.tenant_id), c.tenant_name, c.tenant_type) for c in found]


def delete_connection(*, access_token: str, connection_id: str) -> None:
    with _translated_errors():
        _identity_api(access_token).delete_connection(connection_id, _request_timeout=settings.XERO_TIMEOUT)


def read_organisation(*, access_token: str, tenant_id: str) -> Organisation:
    with _translated_errors():
        org = _accounting_api(access_token).get_organisations(tenant_id, _request_timeout=settings.XERO_TIMEOUT).organisations[0]
    return Organisation(name=org.name, country_code=_value(org.country_code), base_currency=_value(org.base_currency))


def read_accounts(*, access_token: str, tenant_id: str) -> list[dict]:
    with _translated_errors():
        accounts = _accounting_api(access_token).get_accounts(tenant_id, _request_timeout=settings.XERO_TIMEOUT).accounts
    return [
        {"code": a.code or "", "name": a.name, "type": _value(a.type), "class": _value(a._class),
         "status": _value(a.status), "system_account": _value(a.system_account), "tax_type": a.tax_type or ""}
        for a in accounts
    ]


def read_tax_rates(*, access_token: str, tenant_id: str) -> list[dict]:
    with _translated_errors():
        rates = _accounting_api(access_token).get_tax_rates(tenant_id, _request_timeout=settings.XERO_TIMEOUT).tax_rates
    return [
        {"name": r.name, "tax_type": r.tax_type, "status": _value(r.status),
         "can_apply_to_revenue": bool(r.can_apply_to_revenue), "effective_rate": str(r.effective_rate)}
        for r in rates
    ]


def _value(field) -> str:
    """An SDK enum's value, or the plain string some models use instead."""
    return "" if field is None else str(getattr(field, "value", field))


def _api_client(access_token: str) -> ApiClient:
    token = {
        "access_token": access_token, "refresh_token": "", "scope": settings.XERO_SCOPES.split(),
        "expires_in": 1800, "token_type": "Bearer", "id_token": "",
        # tokens.py hands over only fresh tokens: never let the SDK start a refresh of its own.
        "expires_at": time.time() + 1800,
    }
    configuration = Configuration(
        oauth2_token=OAuth2Token(client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET)
    )
    client = ApiClient(configuration, pool_threads=1, oauth2_token_getter=lambda: token, oauth2_token_saver=lambda t: None)
    client.rest_client.pool_manager = _http
    return client


def _identity_api(access_token: str) -> IdentityApi:
    return IdentityApi(_api_client(access_token), base_url=settings.XERO_API_URL)


def _accounting_api(access_token: str) -> AccountingApi:
    return AccountingApi(_api_client(access_token), base_url=f"{settings.XERO_API_URL}/api.xro/2.0")


@contextmanager
def _translated_errors():
    """The SDK's exceptions and network failures, as this integration's few error types."""
    try:
        yield
    except RateLimitException as error:
        headers = error.headers or {}
        raise XeroRateLimited(
            retry_after=int(headers.get("Retry-After", "60")), problem=headers.get("X-Rate-Limit-Problem", "")
        ) from None
    except AccountingBadRequestException as error:
        raise XeroRejected("Xero refused the request.", details=error.error_data) from None
    except NotFoundException:
        raise XeroError("Xero has no such record.", permanent=True) from None
    except HTTPStatusException as error:
        raise _status_error(error.status) from None
    except urllib3.exceptions.HTTPError as error:
        raise XeroError(f"Xero could not be reached ({type(error).__name__}); it will be tried again.") from None


def _status_error(status: int) -> XeroError:
    if status == 401:
        return XeroError("Xero did not accept the access token.")
    if status == 403:
        return XeroNeedsRelink("Xero says the app is no longer connected to this organisation: link to Xero again.")
    return XeroError(f"Xero answered HTTP {status}; it will be tried again.", permanent=False)
