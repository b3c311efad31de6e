import datetime
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection as db
from django.utils import timezone

from integrations.xero.api import oauth
from integrations.xero.api.errors import XeroNeedsRelink
from integrations.xero.api.xero_api import XeroApi
from integrations.xero.conftest import link
from integrations.xero.link import crypto, tokens
from integrations.xero.models import XeroConnection
from xero_sandbox.models import Grant, RefreshToken


@pytest.fixture
def linked(sandbox, admin_client) -> XeroConnection:
    link(admin_client, sandbox["NZ"])
    return XeroConnection.objects.get()


def expire(connection: XeroConnection) -> None:
    XeroConnection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    connection.refresh_from_db()


def test_a_fresh_token_is_used_as_it_is(linked):
    assert tokens.access_token_for(linked) == linked.access_token
    assert RefreshToken.objects.filter(used_at__isnull=False).count() == 0


def test_an_expiring_token_is_refreshed_and_the_rotated_refresh_token_kept(linked):
    old_access, old_refresh = linked.access_token, linked.refresh_token
    expire(linked)
    new_access = tokens.access_token_for(linked)
    stored = XeroConnection.objects.get()
    assert new_access != old_access and stored.access_token == new_access
    assert stored.refresh_token != old_refresh
    assert stored.access_token_expires_at > timezone.now()
    org = XeroApi.for_consent(tenant_id=str(stored.tenant_id), access_token=new_access).read_organisation()
    assert org.name == "Demo Freight NZ Ltd"


@pytest.fixture
def slow_refresh(monkeypatch):
    """Make each refresh take a while, so that callers arriving together really overlap."""
    real, calls = oauth.refresh_tokens, []

    def slowly(**kwargs):
        calls.append(kwargs)
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(oauth, "refresh_tokens", slowly)
    return calls


@pytest.mark.postgres
def test_eight_callers_on_an_expired_token_cause_exactly_one_refresh_and_all_succeed(linked, slow_refresh):
    expire(linked)
    start = threading.Barrier(8)
    results, errors = [], []

    def call():
        try:
            start.wait()
            # Paced as the sync is (at most 5 calls in flight); each takes its token when its slot comes.
            results.append(XeroApi(XeroConnection.objects.get(pk=linked.pk)).read_organisation().name)
        except Exception as error:  # collected and asserted in the test's own thread
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert results == ["Demo Freight NZ Ltd"] * 8
    assert len(slow_refresh) == 1
    assert RefreshToken.objects.count() == 2  # the one issued at link time and its single successor


def test_a_refused_refresh_marks_the_link_for_relinking_with_a_reason(linked, admin_client):
    Grant.objects.update(revoked_at=timezone.now())  # the user revoked the app in Xero
    expire(linked)
    with pytest.raises(XeroNeedsRelink):
        tokens.access_token_for(linked)
    stored = XeroConnection.objects.get()
    assert stored.status == "needs_relink" and "invalid_grant" in stored.last_error
    with pytest.raises(XeroNeedsRelink):  # paused: no further call is attempted
        tokens.access_token_for(stored)
    page = admin_client.get("/addons/").content.decode()
    assert "Xero needs to be linked again." in page and "Re-link" in page


def test_a_refresh_refused_after_the_person_re_linked_leaves_the_new_link_alone(
    linked, sandbox, admin_client, monkeypatch
):
    Grant.objects.update(revoked_at=timezone.now())  # the user revoked the app in Xero
    expire(linked)
    real_refresh = oauth.refresh_tokens

    def refresh_that_ends_after_a_re_link(**kwargs):
        link(admin_client, sandbox["NZ"])  # meanwhile, the person links again (new grant, new tokens)
        return real_refresh(**kwargs)  # the old refresh token: invalid_grant

    monkeypatch.setattr(oauth, "refresh_tokens", refresh_that_ends_after_a_re_link)
    with pytest.raises(XeroNeedsRelink):
        tokens.access_token_for(linked)
    assert XeroConnection.objects.get().status == "active"


def test_idle_links_are_refreshed_before_their_refresh_token_can_lapse(linked, settings):
    settings.XERO_IDLE_REFRESH_DAYS = 7
    old_refresh = linked.refresh_token
    assert tokens.connections_refresh_idle(now=timezone.now() + datetime.timedelta(days=6)) == 0
    assert tokens.connections_refresh_idle(now=timezone.now() + datetime.timedelta(days=8)) == 1
    assert XeroConnection.objects.get().refresh_token != old_refresh


def test_tokens_cannot_be_read_without_the_key(linked, settings):
    settings.XERO_TOKEN_KEYS = ["rZEF1QDIbroWQFtnty1mnh96Zie-GI7pFju47jj4Vlw="]
    with pytest.raises(crypto.TokenUnreadable):
        _ = XeroConnection.objects.get().access_token


def test_a_new_key_put_first_keeps_the_link_working_and_rotation_moves_tokens_to_it(linked, settings):
    old_key = settings.XERO_TOKEN_KEYS[0]
    new_key = "rZEF1QDIbroWQFtnty1mnh96Zie-GI7pFju47jj4Vlw="
    token = XeroConnection.objects.get().access_token
    settings.XERO_TOKEN_KEYS = [new_key, old_key]
    assert tokens.access_token_for(XeroConnection.objects.get()) == token  # still readable
    call_command("xero_rotate_token_keys")
    settings.XERO_TOKEN_KEYS = [new_key]  # the old key is gone
    stored = XeroConnection.objects.get()
    assert stored.access_token == token and stored.refresh_token
