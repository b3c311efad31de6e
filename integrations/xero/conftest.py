"""The integration against the project's Xero sandbox, over real HTTP (pytest-django's live server)."""

import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache

from billing import services
from billing.models import Invoice
from billing.tests.factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from integrations.xero.api.fake import FakeXeroApi
from integrations.xero.models import SyncRecord, XeroConnection
from integrations.xero.tests.factories import XeroConnectionFactory
from xero_sandbox.models import Document, Fault, Organisation
from xero_sandbox.seeding import seed_if_empty


@pytest.fixture(autouse=True)
def _no_push_queued():
    """Each test starts with no push (or PDF) task queued (one is queued only when none is; see tasks.push_soon)."""
    from integrations.xero.tasks import PDFS_QUEUED, PUSH_QUEUED

    cache.delete_many([PUSH_QUEUED, PDFS_QUEUED])


@pytest.fixture
def sandbox(settings, live_server, transactional_db) -> dict[str, Organisation]:
    """Point the integration's three Xero hosts at the sandbox; return its organisations by country."""
    base = f"{live_server.url}/xero-sandbox"
    settings.XERO_LOGIN_URL = settings.XERO_IDENTITY_URL = settings.XERO_API_URL = base
    settings.XERO_WEB_URL = f"{base}/go"
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


def link(client, *orgs, decision="allow", company=None):
    """Press LINK TO MY ACCOUNT (on the card of `company`, the default company's by default), consent in the
    sandbox, follow the callback; return its answer."""
    started = client.post("/integrations/xero/link/", {"company": company.pk} if company else {})
    assert started.status_code == 302
    back = consent(client, started.url, decision=decision, orgs=orgs)
    return client.get(path_and_query(back))


# --- The fast tier: a linked organisation in the in-memory Xero (api/fake.py) ---------------------------
@pytest.fixture
def fake_xero(settings, db) -> FakeXeroApi:
    """A linked organisation whose Xero is the in-memory fake; `.org` is its books, `.connection` the link."""
    settings.XERO_API = "integrations.xero.api.fake.FakeXeroApi"
    settings.XERO_ENABLED = True
    FakeXeroApi.reset()
    return FakeXeroApi(XeroConnectionFactory())


# --- A linked NZ organisation, codes it accepts, and issued documents (the sync's tests and others) ---
@pytest.fixture
def linked(sandbox, admin_client, django_capture_on_commit_callbacks):
    link(admin_client, sandbox["NZ"])
    return XeroConnection.objects.get()


@pytest.fixture
def codes(db):
    """A rate and a tax rate whose codes the NZ organisation accepts."""
    return {
        "rate": RateFactory(label="Sea freight", revenue_account_code="SEA|200"),
        "tax": TaxRateFactory(name="GST", rate=Decimal("15"), accounting_code="OUTPUT2"),
    }


def issued(codes, *, account=None, kind=Invoice.Kind.INVOICE, rate=None, tax=None, unit_price="100.00", **fields):
    draft = draft_with_lines(
        line(rate=rate or codes["rate"], tax_rate=tax or codes["tax"], unit_price=unit_price, quantity="2.5"),
        billing_account=account or BillingAccountFactory(),
        kind=kind,
        **fields,
    )
    return services.invoice_issue(invoice=draft)


def state_of(invoice) -> SyncRecord:
    return SyncRecord.objects.get(invoice=invoice)


def sandbox_documents(number):
    return Document.objects.filter(number=number)


def linked_org(connection):
    return Organisation.objects.get(tenant_id=connection.tenant_id)


def fault_once(connection, kind, *, method="PUT", path="/Invoices", **fields) -> Fault:
    """The next matching call to the linked organisation meets this sandbox fault."""
    return Fault.objects.create(
        organisation=linked_org(connection), kind=kind, method=method, path_contains=path, remaining=1, **fields
    )


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
