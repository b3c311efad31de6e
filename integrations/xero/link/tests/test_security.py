"""Security of the Xero link and the webhook receiver, over real HTTP against the sandbox: the OAuth
state is bound to the browser's session, the redirect URI is the configured one whatever the request
says, badly signed webhooks are refused under load while good ones still land, and no token or
secret ever reaches a log."""

import base64
import datetime
import logging
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from billing import services
from billing.tests.factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from integrations.xero.conftest import consent, link, make_admin, path_and_query, query_of
from integrations.xero.inbound.tests.test_webhooks import URL as WEBHOOK_PATH
from integrations.xero.inbound.tests.test_webhooks import event, payload, sign
from integrations.xero.link import tokens
from integrations.xero.models import SyncRecord, WebhookEvent, WebhookRejection, XeroConnection
from integrations.xero.outbound import sending
from xero_sandbox.models import AccessToken, RefreshToken

# --- OAuth: state bound to the session, redirect URI from settings -------------------------------


def test_a_state_started_in_another_browser_session_is_refused_and_the_rightful_session_can_still_finish(
    sandbox, admin_client
):
    started = admin_client.post("/integrations/xero/link/")
    back = path_and_query(consent(admin_client, started.url, orgs=[sandbox["NZ"]]))
    intruder = Client()
    intruder.force_login(make_admin("intruder"))
    assert intruder.get(back).status_code == 403
    assert not XeroConnection.objects.exists()
    assert admin_client.get(back).status_code == 302
    assert XeroConnection.objects.get().linked_by.username == "admin"


def test_the_redirect_uri_sent_to_xero_is_the_configured_one_whatever_the_request_says(sandbox, admin_client, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    started = admin_client.post(
        "/integrations/xero/link/?redirect_uri=https://evil.example/cb",
        {"redirect_uri": "https://evil.example/cb", "next": "https://evil.example/"},
        headers={"host": "evil.example", "x-forwarded-host": "evil.example"},
    )
    assert query_of(started.url)["redirect_uri"] == settings.XERO_REDIRECT_URI


# --- Webhooks: a flood of badly signed deliveries -----------------------------------------------

BAD_DELIVERIES = 500
GOOD_DELIVERIES = 20


def deliver(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"content-type": "application/json", "x-xero-signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_a_flood_of_badly_signed_webhooks_is_all_refused_while_good_deliveries_interleaved_are_kept(
    live_server, transactional_db
):
    url = f"{live_server.url}{WEBHOOK_PATH}"
    good_bodies = [payload(event()) for _ in range(GOOD_DELIVERIES)]
    bad_every = BAD_DELIVERIES // GOOD_DELIVERIES
    jobs = []
    for index in range(BAD_DELIVERIES):
        body = payload(event())
        jobs.append(("bad", body, sign(body, key="not-the-webhook-key") if index % 2 else "forged"))
        if index % bad_every == 0:
            good = good_bodies[index // bad_every]
            jobs.append(("good", good, sign(good)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda job: (job[0], deliver(url, job[1], job[2])), jobs))
    assert sorted({status for kind, status in answers if kind == "bad"}) == [401]
    assert [status for kind, status in answers if kind == "good"] == [200] * GOOD_DELIVERIES
    assert WebhookEvent.objects.count() == GOOD_DELIVERIES
    assert not WebhookRejection.objects.exists()


# --- Secrets never in logs ----------------------------------------------------------------------


class Everything(logging.Handler):
    """Keeps every record's final text, from every thread (the live server's included)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.lock_for_lines = threading.Lock()

    def emit(self, record):
        text = self.format(record)
        with self.lock_for_lines:
            self.lines.append(text)


@pytest.fixture
def every_log_line():
    """The root logger at DEBUG, and the chatty libraries' loggers opened up to it."""
    handler = Everything()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(exc_text)s"))
    root = logging.getLogger()
    noisy = [
        logging.getLogger(name) for name in ("urllib3", "xero_python", "requests", "django", "celery", "integrations")
    ]
    saved = [(root.level, None)] + [(one.level, one.propagate) for one in noisy]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for one in noisy:
        one.setLevel(logging.DEBUG)
        one.propagate = True
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(saved[0][0])
    for one, (level, propagate) in zip(noisy, saved[1:], strict=True):
        one.setLevel(level)
        one.propagate = propagate


def test_no_token_or_secret_reaches_any_log_through_a_link_a_sync_and_a_refresh(sandbox, admin_client, every_log_line):
    link(admin_client, sandbox["NZ"])
    connection = XeroConnection.objects.get()
    draft = draft_with_lines(
        line(
            rate=RateFactory(revenue_account_code="200"), tax_rate=TaxRateFactory(rate="15", accounting_code="OUTPUT2")
        ),
        billing_account=BillingAccountFactory(code="ACME01"),
    )
    invoice = services.invoice_issue(invoice=draft)
    assert sending.sync_round_push() == 1
    XeroConnection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    tokens.access_token_for(XeroConnection.objects.get())
    assert SyncRecord.objects.get(invoice=invoice).state == "sent"
    assert RefreshToken.objects.filter(used_at__isnull=False).exists()  # a refresh really happened

    basic = base64.b64encode(f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}".encode()).decode()
    secrets = [
        *AccessToken.objects.values_list("token", flat=True),
        *RefreshToken.objects.values_list("token", flat=True),
        settings.XERO_CLIENT_SECRET,
        basic,
        settings.XERO_WEBHOOK_KEY,
        *settings.XERO_TOKEN_KEYS,
    ]
    seen = "\n".join(every_log_line)
    assert (
        seen.count("/connect/token") >= 2 and "PUT /xero-sandbox/api.xro/2.0/Invoices" in seen
    )  # the capture saw the calls
    leaks = [line for line in every_log_line for secret in secrets if secret in line]
    assert leaks == []
