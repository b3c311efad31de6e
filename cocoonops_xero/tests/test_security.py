"""Who may reach what, over every URL of the project (walked from the URL resolver, so a new page is
covered without editing this file), and the production settings' deployment check.

The Xero sandbox (/xero-sandbox/) is left out: it is a stand-in for Xero, mounted only when
XERO_SANDBOX_ENABLED is on, which the deployment check refuses in production (see the last tests)."""

import datetime
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern

pytestmark = pytest.mark.django_db

SANDBOX_PREFIX = "xero-sandbox/"
# Reached without signing in, on purpose: the sign-in page itself, the webhook that Xero signs, and
# Prometheus' scrape, which carries a bearer token.
PUBLIC = {"/login/", "/admin/login/", "/integrations/xero/webhooks/", "/metrics"}
# Any staff member may open these without a particular permission (read-only, or their own session).
ANY_STAFF = {"/", "/logout/", "/addons/"}
# The add-on's read-only pages that billing staff (view invoices) may see as well as its managers.
BILLING_MAY_SEE = {
    "/integrations/xero/exceptions/",
    "/integrations/xero/documents/1/online-invoice/",
    "/integrations/xero/sync/",
}
# The add-on's part of a billing account's page: whoever may change billing accounts (the address book).
ADDRESS_BOOK = {"/integrations/xero/accounts/1/branding/"}
# A sample value for each kind of path parameter; no row has it, so a 404 would show a check made too late.
SAMPLE_FOR_CONVERTER = {
    "int": "1",
    "str": "1",
    "path": "1",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000001",
}
REGEX_SAMPLES = ["1", "billing", "x"]


@dataclass(frozen=True)
class Page:
    url: str
    callback: object

    @property
    def is_admin(self) -> bool:
        return self.url.startswith("/admin/")


def _route_sample(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_FOR_CONVERTER[m.group(1) or "str"], route)


def _regex_sample(regex: str) -> str:
    def group(match):
        return next(value for value in REGEX_SAMPLES if re.fullmatch(match.group(1), value))

    return re.sub(r"\(\?P<\w+>([^()]*)\)", group, regex.lstrip("^").rstrip("$"))


def _sample(pattern) -> str:
    return _regex_sample(str(pattern)) if isinstance(pattern, RegexPattern) else _route_sample(str(pattern))


def _walk(patterns, prefix=""):
    for pattern in patterns:
        here = prefix + _sample(pattern.pattern)
        if here.startswith(SANDBOX_PREFIX):
            continue
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, here)
        elif isinstance(pattern, URLPattern):
            yield Page(url="/" + here, callback=pattern.callback)


def all_pages() -> list[Page]:
    return list(_walk(get_resolver().url_patterns))


def signed_in(*, is_staff=True, is_superuser=False, permissions=()) -> Client:
    user = get_user_model().objects.create_user(
        f"user{secrets.token_hex(4)}", password="pw", is_staff=is_staff, is_superuser=is_superuser
    )
    user.user_permissions.add(*permissions)
    client = Client()
    client.force_login(user)
    return client


def answers(client, page: Page):
    return [client.get(page.url), client.post(page.url)]


def assert_refused(responses, page: Page):
    """403 from the guard; the method the view does not take may be refused first (405)."""
    codes = [response.status_code for response in responses]
    assert 403 in codes and set(codes) <= {403, 405}, (page.url, codes)


def test_the_walk_reaches_every_page_and_each_sample_url_opens_its_own_view():
    pages = all_pages()
    assert len(pages) > 90  # the platform, the admin, the Xero add-on
    for page in pages:
        assert resolve(page.url).func is page.callback, page.url
    assert {page.url for page in pages} >= PUBLIC | ANY_STAFF


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page_but_the_public_ones(client):
    for page in all_pages():
        if page.url in PUBLIC:
            continue
        for answer in answers(client, page):
            assert answer.status_code == 302, (page.url, answer)
            assert answer.url.startswith(("/login/?next=", "/admin/login/?next=")), (page.url, answer.url)


def test_the_webhook_is_guarded_by_its_signature_instead_of_a_login(client):
    assert client.post("/integrations/xero/webhooks/", b"{}", content_type="application/json").status_code == 401


def test_the_metrics_are_guarded_by_their_token_instead_of_a_login(client, settings):
    settings.METRICS_TOKEN = "a-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer a-token"}).status_code == 200


def test_a_signed_in_user_who_is_not_staff_is_refused_everywhere_but_the_public_pages():
    client = signed_in(is_staff=False)
    for page in all_pages():
        if page.url in PUBLIC:
            continue
        if page.is_admin:  # the admin's own pages (index, log-out) send them to its sign-in page instead
            for answer in answers(client, page):
                assert answer.status_code == 403 or answer.url.startswith("/admin/login/"), (page.url, answer)
        else:
            assert_refused(answers(client, page), page)


def test_staff_without_permissions_only_reach_the_pages_every_staff_member_may_see():
    client = signed_in()
    for page in all_pages():
        if page.url in PUBLIC | ANY_STAFF or page.is_admin:
            continue
        assert_refused(answers(client, page), page)


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/?q=ac%00me",
        "/invoices/?q=%00",
        "/admin/billing/billingaccount/?q=%00",
        "/admin/billing/billingaccount/?currency__exact=NZ%00D",
        "/admin/xero/xeroconnection/?status__exact=%00",
    ],
)
def test_a_nul_in_a_search_or_filter_is_refused_with_400_before_any_query(url, django_assert_max_num_queries):
    client = signed_in(is_superuser=True)
    with django_assert_max_num_queries(0):
        response = client.get(url)
    assert response.status_code == 400
    assert (
        response.content.decode()
        == "A search or filter holds a NUL character (U+0000), which no text here can contain."
    )


def test_the_sync_exceptions_page_needs_a_billing_or_the_add_on_permission():
    page = "/integrations/xero/exceptions/"
    assert signed_in().get(page).status_code == 403
    assert signed_in(permissions=Permission.objects.filter(codename="view_invoice")).get(page).status_code == 200
    assert signed_in(permissions=Permission.objects.filter(codename="manage_xero_addon")).get(page).status_code == 200


def test_every_xero_action_needs_the_manage_xero_add_on_permission_even_with_all_others():
    everything_else = Permission.objects.exclude(codename="manage_xero_addon")
    client = signed_in(permissions=everything_else)
    xero_pages = [page for page in all_pages() if page.url.startswith("/integrations/xero/")]
    assert {
        "/integrations/xero/link/",
        "/integrations/xero/disconnect/",
        "/integrations/xero/documents/1/retry/",
        "/integrations/xero/setup-check/recheck/",
        "/integrations/xero/exceptions/1/acknowledge/",
    } <= {p.url for p in xero_pages}
    for page in xero_pages:
        if page.url in PUBLIC | ANY_STAFF | BILLING_MAY_SEE | ADDRESS_BOOK:
            continue
        assert_refused(answers(client, page), page)


def test_choosing_a_branding_theme_needs_the_permission_to_change_billing_accounts():
    (page,) = [page for page in all_pages() if page.url in ADDRESS_BOOK]
    all_but_that = Permission.objects.exclude(codename="change_billingaccount")
    assert_refused(answers(signed_in(permissions=all_but_that), page), page)


def test_every_post_without_a_csrf_token_is_refused_except_the_signed_webhook():
    user = get_user_model().objects.create_user("root", password="pw", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    for page in all_pages():
        expected = 401 if page.url == "/integrations/xero/webhooks/" else 403
        assert client.post(page.url).status_code == expected, page.url


# --- manage.py check --deploy with production settings ----------------------------------------


def deploy_check(tmp_path, **extra_env):
    """`manage.py check --deploy` in a fresh interpreter, with a production environment and nothing else."""
    env = {
        "PATH": os.environ["PATH"],
        "READ_ENV_FILE": "false",
        "VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "cocoonops_xero.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "ops.example.com",
        "XERO_TOKEN_KEYS": Fernet.generate_key().decode(),
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deployment_check_is_clean_with_production_settings(tmp_path):
    result = deploy_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deployment_check_refuses_the_sandbox_and_a_missing_token_key(tmp_path):
    result = deploy_check(tmp_path, XERO_SANDBOX_ENABLED="true", XERO_SANDBOX_WITHOUT_DEBUG="true", XERO_TOKEN_KEYS="")
    assert result.returncode != 0
    assert "cocoonops.E001" in result.stderr and "xero.E001" in result.stderr


# --- Content-Security-Policy and sessions ----------------------------------------------------------
TEMPLATE_DIRS = [
    settings.BASE_DIR / "templates",
    *settings.BASE_DIR.glob("*/templates"),
    *settings.BASE_DIR.glob("*/*/templates"),
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE)


def test_no_template_holds_an_inline_script_the_policy_would_block():
    inline = [
        str(path.relative_to(settings.BASE_DIR))
        for folder in TEMPLATE_DIRS
        for path in folder.rglob("*.html")
        if INLINE_SCRIPT.search(path.read_text())
    ]
    assert inline == []


def test_every_page_carries_a_policy_that_allows_only_the_sites_own_scripts_and_no_framing():
    client = signed_in(is_superuser=True)
    for page in all_pages():
        policy = client.get(page.url).headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, page.url
        assert "unsafe-inline" not in policy


def test_a_session_ends_after_a_working_day_without_a_request_and_each_request_starts_the_count_again():
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client = signed_in()
    Session.objects.update(expire_date=timezone.now() + datetime.timedelta(minutes=1))
    assert client.get("/addons/").status_code == 200
    left = Session.objects.get().expire_date - timezone.now()
    assert datetime.timedelta(hours=8, minutes=59) < left <= datetime.timedelta(hours=9)
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))  # idle for too long
    answer = client.get("/addons/")
    assert answer.status_code == 302 and answer.url.startswith("/login/")
