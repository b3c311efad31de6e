"""Fixtures that talk to the sandbox as the integration will: over HTTP, through xero-python; and the
few that several test files share (a customer of the NZ organisation, a signed-in staff user)."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
import urllib3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token

from xero_sandbox.models import AccessToken, App, Connection, Grant, Organisation
from xero_sandbox.seeding import seed_if_empty

from .books_factories import contact


@pytest.fixture
def sandbox_url(live_server) -> str:
    return f"{live_server.url}/xero-sandbox"


@pytest.fixture
def orgs(transactional_db) -> dict[str, Organisation]:
    """The seeded organisations by country code ("NZ", "GB")."""
    seed_if_empty()
    return {org.country_code: org for org in Organisation.objects.all()}


def sdk_client(access_token: str) -> ApiClient:
    token = {
        "access_token": access_token,
        "refresh_token": "unused-in-these-tests",
        "scope": settings.XERO_SCOPES.split(),
        "expires_in": 1800,
        "token_type": "Bearer",
        "expires_at": (timezone.now() + timedelta(minutes=30)).timestamp(),
        "id_token": "",
    }
    configuration = Configuration(
        oauth2_token=OAuth2Token(client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET)
    )
    client = ApiClient(
        configuration, pool_threads=1, oauth2_token_getter=lambda: token, oauth2_token_saver=lambda t: None
    )
    # The SDK leaves urllib3's default retries on: it silently sleeps through a 429's Retry-After
    # and re-sends. The tests (like the integration) want to see every answer as it comes.
    client.rest_client.pool_manager = urllib3.PoolManager(retries=False)
    return client


@dataclass
class Linked:
    """An app connected to every seeded organisation, with an SDK client pointed at the sandbox."""

    api: AccountingApi
    access_token: AccessToken
    orgs: dict[str, Organisation]

    def tenant(self, country: str = "NZ") -> str:
        return str(self.orgs[country].tenant_id)


def connect(orgs, *, expires_in=timedelta(minutes=30), scopes: str | None = None) -> AccessToken:
    """A consent of the platform's app to these orgs (with the platform's scopes unless given)."""
    app = App.objects.get(client_id=settings.XERO_CLIENT_ID)
    grant = Grant.objects.create(app=app, scopes=scopes or settings.XERO_SCOPES)
    for org in orgs.values():
        Connection.objects.create(app=app, grant=grant, organisation=org)
    return AccessToken.objects.create(
        grant=grant, token=secrets.token_urlsafe(32), expires_at=timezone.now() + expires_in
    )


@pytest.fixture
def linked(orgs, sandbox_url) -> Linked:
    access = connect(orgs)
    api = AccountingApi(sdk_client(access.token), base_url=f"{sandbox_url}/api.xro/2.0")
    return Linked(api=api, access_token=access, orgs=orgs)


@pytest.fixture
def nz(linked):
    """The NZ organisation, linked."""
    return linked.orgs["NZ"]


@pytest.fixture
def acme(nz):
    """Acme Imports Ltd, an active customer of the linked NZ organisation."""
    return contact(nz, "ACME01")


def signed_in(username: str, **flags) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user(username, password="pw", **flags))
    return client


@pytest.fixture
def staff(orgs) -> Client:
    """A browser signed in as a superuser, for the staff pages."""
    return signed_in("finance", is_staff=True, is_superuser=True)
