import pytest

from integrations.models import AddOn
from integrations.xero.conftest import make_admin


@pytest.fixture
def admin(client, db):
    client.force_login(make_admin())
    return client


def test_a_disabled_add_on_says_who_enables_it(admin, settings):
    settings.XERO_ENABLED = False
    page = admin.get("/addons/").content.decode()
    assert "The Xero add-on is not enabled" in page and "LINK TO MY ACCOUNT" not in page


def test_the_vendor_enables_the_add_on_in_the_admin(admin, settings):
    settings.XERO_ENABLED = False
    AddOn.objects.create(key=AddOn.Key.XERO, enabled=True)
    assert "LINK TO MY ACCOUNT" in admin.get("/addons/").content.decode()


def test_the_environment_switch_enables_it_at_start(admin, settings):
    settings.XERO_ENABLED = True
    assert "LINK TO MY ACCOUNT" in admin.get("/addons/").content.decode()


def test_missing_credentials_are_explained_instead_of_a_crash(admin, settings):
    settings.XERO_ENABLED = True
    settings.XERO_CLIENT_ID = ""
    page = admin.get("/addons/").content.decode()
    assert "set XERO_CLIENT_ID and XERO_CLIENT_SECRET" in page and "LINK TO MY ACCOUNT" not in page
    answer = admin.post("/integrations/xero/link/", follow=True)
    assert "set XERO_CLIENT_ID and XERO_CLIENT_SECRET" in answer.content.decode()


def test_missing_token_keys_in_production_are_explained(admin, settings):
    settings.XERO_ENABLED, settings.DEBUG, settings.XERO_TOKEN_KEYS = True, False, []
    assert "XERO_TOKEN_KEYS is not set" in admin.get("/addons/").content.decode()


def test_the_add_ons_page_is_in_the_navigation(admin):
    assert 'href="/addons/" class="active"' in admin.get("/addons/").content.decode()
