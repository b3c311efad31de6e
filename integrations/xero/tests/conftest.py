"""The integration against the project's Xero sandbox, over real HTTP (pytest-django's live server)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache

from xero_sandbox.models import Organisation
from xero_sandbox.seeding import seed_if_empty


@pytest.fixture(autouse=True)
def _no_push_queued():
    """Each test starts with no push task queued (issuing queues one only when none is; see tasks.push_soon)."""
    from integrations.xero.tasks import PUSH_QUEUED

    cache.delete(PUSH_QUEUED)


@pytest.fixture
def sandbox(settings, live_server, transactional_db) -> dict[str, Organisation]:
    """Point the integration's three Xero hosts at the sandbox; return its organisations by country."""
    base = f"{live_server.url}/xero-sandbox"
    settings.XERO_LOGIN_URL = settings.XERO_IDENTITY_URL = settings.XERO_API_URL = base
    settings.XERO_ENABLED = True
    seed_if_empty()
    return {org.country_code: org for org in Organisation.objects.all()}


def make_admin(username="admin", *, can_manage=True):
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    if can_manage:
        user.user_permissions.add(Permission.objects.get(codename="manage_xero_addon"))
    return user


@pytest.fixture
def admin_client(client, transactional_db):
    client.force_login(make_admin())
    return client


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def query_of(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def consent(client, authorize_url: str, *, decision="allow", orgs=()) -> str:
    """Act as the person on the sandbox's consent page; return where Xero sends the browser back."""
    page = client.get(path_and_query(authorize_url))
    assert page.status_code == 200
    answer = client.post(
        path_and_query(authorize_url),
        {"decision": decision, "organisations": [str(org.tenant_id) for org in orgs]},
    )
    assert answer.status_code == 302, answer.content
    return answer.url


def link(client, *orgs, decision="allow"):
    """Press LINK TO MY ACCOUNT, consent in the sandbox, follow the callback; return its answer."""
    started = client.post("/integrations/xero/link/")
    assert started.status_code == 302
    back = consent(client, started.url, decision=decision, orgs=orgs)
    return client.get(path_and_query(back))
