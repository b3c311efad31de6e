"""HTTP to Xero: the SDK's clients on one connection pool, the length budget, reading answers as plain
JSON, and the SDK's exceptions turned into the error tree (`errors.py`).

The SDK builds and sends requests, pointed at the configured hosts (XERO_API_URL). Two of its habits
are switched off here on purpose:
* its own token refresh (done without a lock): `link/tokens.py` refreshes under a lease before a call,
  and the SDK is told the token it gets is good for a while;
* urllib3's default retries, which sleep through a 429's Retry-After and re-send PUTs after a read
  error — a possible duplicate. Every retry is decided by the caller, who knows what is safe.
"""

import json
import time
import urllib.parse
from contextlib import contextmanager
from decimal import Decimal

import urllib3
from django.conf import settings
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import ApiSSLException, HTTPStatusException, NotFoundException, RateLimitException
from xero_python.identity import IdentityApi

from integrations.xero.api.errors import (
    NO_ANSWER,
    XeroError,
    XeroNeedsRelink,
    XeroNotFound,
    XeroRateLimited,
    XeroRejected,
)
from integrations.xero.api.values import int_or_none


class _BudgetedPool(urllib3.PoolManager):
    """Refuses to send a request longer than the budget: Xero's edge would answer it with a 404 that
    looks like "no such record"."""

    def urlopen(self, method, url, redirect=True, **kw):
        length = request_length(url)
        if length > settings.XERO_REQUEST_BUDGET:
            raise XeroError(
                f"A request to Xero of {length} characters was not sent: over the budget of "
                f"{settings.XERO_REQUEST_BUDGET} (XERO_REQUEST_BUDGET).",
                permanent=True,
            )
        return super().urlopen(method, url, redirect=redirect, **kw)


http = _BudgetedPool(retries=False)


def request_length(url: str) -> int:
    """The characters of a request's path and query as sent (URL-encoded), which Xero's edge limits."""
    parts = urllib.parse.urlsplit(url)
    return len(parts.path) + (len(parts.query) + 1 if parts.query else 0)


def accounting_path(path: str) -> str:
    return urllib.parse.urlsplit(settings.XERO_API_URL).path.rstrip("/") + "/api.xro/2.0" + path


def identity_api(access_token: str) -> IdentityApi:
    return IdentityApi(_api_client(access_token), base_url=settings.XERO_API_URL)


def accounting_api(access_token: str) -> AccountingApi:
    return AccountingApi(_api_client(access_token), base_url=f"{settings.XERO_API_URL}/api.xro/2.0")


def answer(call, *args, heard=None, expect_body: bool = True, **options):
    """Make one SDK call and read Xero's answer as plain JSON; `heard`, if given, is told the answer's
    headers (the limits Xero reports are in them).

    The SDK's models do not read the answer, because they raise on enumeration values they do not
    list (a US contact's `TaxNumberType: "TAXNUMBERTYPE/EIN"`), and a read must survive a value it does
    not know."""
    options = {key: value for key, value in options.items() if value is not None}
    with translated_errors():
        response = call(*args, _preload_content=False, _request_timeout=settings.XERO_TIMEOUT, **options)
        data = response.data
    if heard is not None:
        heard(response.headers)
    if not expect_body:
        return None
    try:
        return json.loads(data or b"null", parse_float=Decimal)
    except ValueError:
        raise XeroError("Xero's answer could not be read (it was not JSON); it will be tried again.") from None


def first(answered, collection: str) -> dict:
    """The one element of a single-record answer, or a failed read (to try again) if it has none."""
    elements = answered.get(collection) if isinstance(answered, dict) else None
    if not elements or not isinstance(elements[0], dict):
        raise XeroError(f"Xero's answer held no {collection[:-1].lower()}; it will be tried again.")
    return elements[0]


@contextmanager
def translated_errors():
    """The SDK's exceptions and network failures, as this integration's few error types."""
    try:
        yield
    except RateLimitException as error:
        headers = error.headers or {}
        raise XeroRateLimited(
            retry_after=int_or_none(headers.get("Retry-After")) or 60,
            problem=(headers.get("X-Rate-Limit-Problem") or "").strip().lower(),
        ) from None
    except NotFoundException:
        # Xero's edge also answers 404 to a request it finds too long: never read it as "no such record".
        raise XeroNotFound() from None
    except HTTPStatusException as error:
        # Not `error.status`: for a 400 the SDK decodes the body as JSON to make it, and an HTML page raises.
        raise _status_error(error.http_resp.status, _error_body(error.body)) from None
    except ApiSSLException as error:
        raise XeroError(
            f"The secure connection to Xero failed ({error.reason.splitlines()[0]}); it will be tried again.", status=0
        ) from None
    except urllib3.exceptions.HTTPError as error:
        raise XeroError(f"Xero {NO_ANSWER} ({no_answer_reason(error)}); it will be tried again.", status=0) from None


_NO_ANSWER_REASONS = (  # most specific first: a NameResolutionError is a NewConnectionError, a ConnectTimeoutError
    (urllib3.exceptions.NameResolutionError, "its address was not found"),
    (urllib3.exceptions.NewConnectionError, "no connection"),
    (urllib3.exceptions.ConnectTimeoutError, "no connection in time"),
    (urllib3.exceptions.ReadTimeoutError, "no answer in time"),
    (urllib3.exceptions.ProtocolError, "the connection was dropped"),
)


def no_answer_reason(error: urllib3.exceptions.HTTPError) -> str:
    """Why a call got no answer, in words for the Add Ons page rather than urllib3's class names."""
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    if isinstance(error, urllib3.exceptions.NewConnectionError) and "refused" in str(error).lower():
        return "connection refused"
    return next((words for kind, words in _NO_ANSWER_REASONS if isinstance(error, kind)), type(error).__name__)


def _api_client(access_token: str) -> ApiClient:
    token = {
        "access_token": access_token,
        "refresh_token": "",
        "scope": settings.XERO_SCOPES.split(),
        "expires_in": 1800,
        "token_type": "Bearer",
        "id_token": "",
        # link/tokens.py hands over only fresh tokens: never let the SDK start a refresh of its own.
        "expires_at": time.time() + 1800,
    }
    configuration = Configuration(
        oauth2_token=OAuth2Token(client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET)
    )
    client = ApiClient(
        configuration, pool_threads=1, oauth2_token_getter=lambda: token, oauth2_token_saver=lambda t: None
    )
    client.rest_client.pool_manager = http
    return client


def _error_body(data) -> dict | None:
    """Xero's JSON error answer, or None when the body is empty or not JSON (an HTML page from the edge)."""
    try:
        value = json.loads(data, parse_float=Decimal) if data else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _status_error(status: int, body: dict | None) -> XeroError:
    if status == 400 and body is not None:
        return XeroRejected("Xero refused the request.", details=body)
    if status == 400:
        return XeroError(
            "Xero's gateway refused the request (HTTP 400 without an API answer); it will be tried again.", status=400
        )
    if status == 401 and "AuthorizationUnsuccessful" in str((body or {}).get("Detail", "")):
        return XeroNeedsRelink(
            "Xero refused the call (AuthorizationUnsuccessful): the link lacks a permission "
            "(scope) this call needs, or it was withdrawn in Xero. Link to Xero again and "
            "approve every permission asked for.",
            status=401,
        )
    if status == 401:
        return XeroError("Xero did not accept the access token; it will be refreshed and tried again.", status=401)
    if status == 403:
        return XeroNeedsRelink(
            "Xero says the app is no longer connected to this organisation: link to Xero again.", status=403
        )
    return XeroError(f"Xero answered HTTP {status}; it will be tried again.", status=status)
