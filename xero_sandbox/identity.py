"""Xero's identity service as services: consent, the code exchange, refresh, revocation, connections.

Views in `identity_views` only parse requests and call these. Errors carry the OAuth error code that
Xero answers with (`invalid_client`, `invalid_grant`, …), so that a view can turn them into a 400.
"""

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .conf import sandbox_setting
from .models import AccessToken, App, AuthorizationCode, Connection, Grant, Organisation, RefreshToken

# Xero's OAuth scopes (granular accounting scopes included); anything else is invalid_scope.
KNOWN_SCOPES = frozenset(
    [
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.banktransactions",
        "accounting.banktransactions.read",
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.attachments",
        "accounting.attachments.read",
        "accounting.reports.read",
        "accounting.journals.read",
        "accounting.budgets.read",
    ]
)

# Where the tokens say they come from; Xero's real issuer, as a client that reads the JWT expects.
ISSUER = "https://identity.xero.com"
AUDIENCE = "https://identity.xero.com/resources"
# The sandbox has one person who signs in to "Xero"; every consent is theirs.
SANDBOX_USER_ID = "5b2a3d0e-5c43-4ad1-9f9d-000000000001"


class OAuthError(Exception):
    """An OAuth error Xero answers with `400 {"error": code}`."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class ConsentRefused(Exception):
    """The authorize request cannot be trusted to redirect: show the person an error page instead."""


class Unauthorized(Exception):
    """The bearer token of an identity API call is missing, unknown, revoked or expired."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


# --- consent -------------------------------------------------------------------------------------


def consent_app(*, client_id: str, redirect_uri: str) -> App:
    """The app asking for consent, provided the redirect URI is one registered for it."""
    app = App.objects.filter(client_id=client_id).first()
    if app is None:
        raise ConsentRefused("Unknown client or client not enabled.")
    if redirect_uri not in app.redirect_uri_list:
        raise ConsentRefused("Invalid redirect_uri: it is not registered for this app.")
    return app


@transaction.atomic
def consent_approve(
    *, app: App, redirect_uri: str, scopes: list[str], organisations: list[Organisation]
) -> AuthorizationCode:
    """A grant for the picked organisations and the single-use code that redeems it."""
    grant = Grant.objects.create(app=app, scopes=" ".join(scopes))
    for organisation in organisations:
        _connect(grant=grant, organisation=organisation)
    return AuthorizationCode.objects.create(
        grant=grant,
        code=secrets.token_urlsafe(32),
        redirect_uri=redirect_uri,
        expires_at=timezone.now() + timedelta(seconds=sandbox_setting("CODE_SECONDS")),
    )


def consent_link(*, app: App, organisations: list[Organisation], scopes: list[str]) -> dict:
    """One consent to all these organisations and its code redeemed, without the browser: the token set
    an app's callback holds after a person ticked them (its access token carries the consent's
    `authentication_event_id`, which `GET /connections?authEventId=` narrows to). For tests and the
    benchmark; the consent page does the same for a person."""
    redirect_uri = app.redirect_uri_list[0]
    code = consent_approve(app=app, redirect_uri=redirect_uri, scopes=scopes, organisations=organisations)
    return code_exchange(app=app, code=code.code, redirect_uri=redirect_uri)


def _connect(*, grant: Grant, organisation: Organisation) -> Connection:
    """Xero keeps one connection per app and organisation: a new consent re-uses it (new auth event)."""
    existing = Connection.objects.filter(app=grant.app, organisation=organisation).first()
    if existing is None:
        return Connection.objects.create(app=grant.app, grant=grant, organisation=organisation)
    existing.grant = grant
    existing.save(update_fields=["grant", "updated_at"])
    return existing


# --- the token endpoint ----------------------------------------------------------------------------


def client_authenticate(*, client_id: str, client_secret: str) -> App:
    app = App.objects.filter(client_id=client_id).first() if client_id else None
    if app is None or not secrets.compare_digest(app.client_secret.encode(), client_secret.encode()):
        raise OAuthError("invalid_client")
    return app


@transaction.atomic
def code_exchange(*, app: App, code: str, redirect_uri: str) -> dict:
    """Redeem an authorization code, once, for the first access and refresh tokens."""
    found = AuthorizationCode.objects.select_related("grant").filter(code=code).first()
    now = timezone.now()
    if found is None or found.grant.app_id != app.pk or found.grant.revoked_at:
        raise OAuthError("invalid_grant")
    if found.expires_at <= now or found.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant")
    claimed = AuthorizationCode.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=now)
    if not claimed:
        raise OAuthError("invalid_grant")  # used before, or by a concurrent exchange just now
    return _token_set(found.grant)


@transaction.atomic
def token_refresh(*, app: App, refresh_token: str) -> dict:
    """Rotate: a fresh pair for a refresh token that is unused, or used within the grace period."""
    found = RefreshToken.objects.select_related("grant").filter(token=refresh_token).first()
    now = timezone.now()
    if found is None or found.grant.app_id != app.pk or found.grant.revoked_at or found.expires_at <= now:
        raise OAuthError("invalid_grant")
    RefreshToken.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=now)
    found.refresh_from_db(fields=["used_at"])
    if found.used_at < now - timedelta(seconds=sandbox_setting("REFRESH_GRACE_SECONDS")):
        raise OAuthError("invalid_grant")
    return _token_set(found.grant)


@transaction.atomic
def token_revoke(*, app: App, token: str) -> None:
    """Revoke the refresh token's grant and remove the user's connections to the app.

    There is one user in the sandbox, so that is every connection of the app. An unknown token is
    not an error (RFC 7009): there is nothing left to revoke.
    """
    found = RefreshToken.objects.select_related("grant").filter(token=token, grant__app=app).first()
    if found is None:
        return
    Grant.objects.filter(pk=found.grant_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    Connection.objects.filter(app=app).delete()


def _token_set(grant: Grant) -> dict:
    """What Xero's token endpoint answers; exactly the keys the SDK's `OAuth2Token` accepts."""
    lifetime = sandbox_setting("ACCESS_TOKEN_SECONDS")
    access = _issue_access_token(grant, lifetime)
    token_set = {
        "access_token": access.token,
        "expires_in": lifetime,
        "token_type": "Bearer",
        "scope": grant.scopes,
    }
    if "openid" in grant.scope_list:
        token_set["id_token"] = _id_token(grant, lifetime)
    if "offline_access" in grant.scope_list:  # Xero gives refresh tokens only for this scope
        token_set["refresh_token"] = _issue_refresh_token(grant).token
    return token_set


def _issue_access_token(grant: Grant, lifetime: int) -> AccessToken:
    issued = timezone.now()
    expires = issued + timedelta(seconds=lifetime)
    claims = {
        **_time_claims(issued, expires),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "client_id": grant.app.client_id,
        "sub": SANDBOX_USER_ID,
        "auth_time": int(grant.created_at.timestamp()),
        "xero_userid": SANDBOX_USER_ID,
        "global_session_id": uuid.uuid4().hex,
        "jti": uuid.uuid4().hex,
        "authentication_event_id": str(grant.auth_event_id),
        "scope": grant.scope_list,
    }
    return AccessToken.objects.create(grant=grant, token=jwt_encode(claims), expires_at=expires)


def _issue_refresh_token(grant: Grant) -> RefreshToken:
    return RefreshToken.objects.create(
        grant=grant,
        token=secrets.token_hex(32),
        expires_at=timezone.now() + timedelta(days=sandbox_setting("REFRESH_TOKEN_DAYS")),
    )


def _id_token(grant: Grant, lifetime: int) -> str:
    issued = timezone.now()
    return jwt_encode(
        {
            **_time_claims(issued, issued + timedelta(seconds=lifetime)),
            "iss": ISSUER,
            "aud": grant.app.client_id,
            "sub": SANDBOX_USER_ID,
            "auth_time": int(grant.created_at.timestamp()),
            "xero_userid": SANDBOX_USER_ID,
            "email": "sandbox.user@example.com",
            "given_name": "Sandbox",
            "family_name": "User",
        }
    )


def _time_claims(issued: datetime, expires: datetime) -> dict:
    return {"nbf": int(issued.timestamp()), "iat": int(issued.timestamp()), "exp": int(expires.timestamp())}


def jwt_encode(claims: dict) -> str:
    """A JWT signed with HS256 and the Django secret key: the shape of Xero's tokens, not its keys."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(settings.SECRET_KEY.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, unverified: what a client reads out of its access token."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- connections ---------------------------------------------------------------------------------


def access_authenticate(*, authorization_header: str) -> AccessToken:
    """The live access token of a bearer header, as the API gateway checks it."""
    scheme, _, token = authorization_header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("AuthenticationUnsuccessful")
    access = AccessToken.objects.select_related("grant__app").filter(token=token.strip()).first()
    if access is None or access.grant.revoked_at:
        raise Unauthorized("AuthenticationUnsuccessful")
    if access.expires_at <= timezone.now():
        raise Unauthorized(f"TokenExpired: token expired at {access.expires_at:%m/%d/%Y %H:%M:%S}")
    return access


def connection_list(*, access: AccessToken, auth_event_id: str = "") -> list[Connection]:
    connections = Connection.objects.filter(app=access.grant.app).select_related("grant", "organisation")
    if auth_event_id:
        connections = connections.filter(grant__auth_event_id=_uuid_or_none(auth_event_id))
    return list(connections.order_by("created_at"))


def connection_delete(*, access: AccessToken, connection_id: str) -> bool:
    """Disconnect one organisation; False when the app has no such connection."""
    deleted, _ = Connection.objects.filter(app=access.grant.app, pk=_uuid_or_none(connection_id)).delete()
    return bool(deleted)


def connection_json(connection: Connection) -> dict:
    """One entry of `GET /connections`, with Xero's naive-UTC, seven-digit ISO timestamps."""
    return {
        "id": str(connection.id),
        "authEventId": str(connection.grant.auth_event_id),
        "tenantId": str(connection.organisation.tenant_id),
        "tenantType": "ORGANISATION",
        "tenantName": connection.organisation.name,
        "createdDateUtc": _xero_iso(connection.created_at),
        "updatedDateUtc": _xero_iso(connection.updated_at),
    }


def _xero_iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
