"""A billing account's branding theme in Xero, over HTTP against the sandbox: chosen on the billing account's
page among the organisation's themes (read with its chart of accounts), sent as BrandingThemeID; without a
choice, or once the chosen theme is gone from Xero, the organisation's default."""

import html
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from billing.tests.factories import BillingAccountFactory
from integrations.xero.conftest import issued, linked_org, state_of
from integrations.xero.link import linking
from integrations.xero.models import BrandingChoice
from integrations.xero.outbound import sending
from xero_sandbox.models import BrandingTheme, Document


def theme_named(connection, name) -> str:
    (theme,) = [theme for theme in connection.branding_themes if theme["name"] == name]
    return theme["id"]


def choose(client, account, connection, theme_id):
    url = reverse("xero:branding_choose", args=[account.pk])
    return client.post(url, {"connection": connection.pk, "theme": theme_id}, follow=True)


def sent_theme(codes, account) -> str:
    document = issued(codes, account=account)
    while sending.sync_round_push():
        pass
    assert state_of(document).state == "sent", state_of(document).error
    return (
        Document.objects.select_related("branding_theme")
        .get(document_id=state_of(document).xero_id)
        .branding_theme.name
    )


@pytest.fixture
def account(db):
    return BillingAccountFactory(code="ACME01", name="Acme Imports Ltd")


@pytest.fixture
def bookkeeper(transactional_db) -> Client:
    """Someone who keeps the address book (may view and change billing accounts)."""
    user = get_user_model().objects.create_user("bookkeeper", password="pw", is_staff=True)
    codenames = ["view_billingaccount", "change_billingaccount"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_the_organisations_branding_themes_are_read_with_its_chart_of_accounts_default_first(linked):
    assert [theme["name"] for theme in linked.branding_themes] == ["Standard", "Freight Premium"]


def test_a_billing_accounts_documents_carry_the_theme_chosen_for_it_and_others_the_default(
    linked, codes, account, bookkeeper
):
    answer = choose(bookkeeper, account, linked, theme_named(linked, "Freight Premium"))
    said = html.unescape(answer.content.decode())
    assert "ACME01's documents carry Freight Premium in Demo Freight NZ Ltd from now on." in said
    assert sent_theme(codes, account) == "Freight Premium"
    assert sent_theme(codes, BillingAccountFactory(code="OTHER01")) == "Standard"


def test_the_billing_accounts_page_offers_the_organisations_themes_with_the_chosen_one_selected(
    linked, account, bookkeeper
):
    premium = theme_named(linked, "Freight Premium")
    choose(bookkeeper, account, linked, premium)
    page = bookkeeper.get(reverse("billing:account_edit", args=[account.pk])).content.decode()
    assert "Xero branding theme" in page and "The organisation's default (Standard)" in page
    assert f'<option value="{premium}" selected>Freight Premium</option>' in page


def test_back_to_the_default_forgets_the_choice(linked, codes, account, bookkeeper):
    choose(bookkeeper, account, linked, theme_named(linked, "Freight Premium"))
    answer = choose(bookkeeper, account, linked, "")
    assert "carry the organisation's default in Demo Freight NZ Ltd" in html.unescape(answer.content.decode())
    assert not BrandingChoice.objects.exists()
    assert sent_theme(codes, account) == "Standard"


def test_a_theme_the_organisation_lacks_is_refused_and_changes_nothing(linked, account, bookkeeper):
    choose(bookkeeper, account, linked, theme_named(linked, "Freight Premium"))
    answer = choose(bookkeeper, account, linked, str(uuid.uuid4()))
    assert "has no branding theme with the id" in answer.content.decode()
    assert BrandingChoice.objects.get().theme_name == "Freight Premium"


def test_a_theme_deleted_in_xero_is_not_sent_and_the_account_page_says_so(linked, codes, account, bookkeeper):
    choose(bookkeeper, account, linked, theme_named(linked, "Freight Premium"))
    BrandingTheme.objects.filter(organisation=linked_org(linked), name="Freight Premium").delete()
    linking.reference_data_refresh(connection=linked)  # as the next send does once the data is stale
    assert sent_theme(codes, account) == "Standard"  # Xero would refuse the deleted theme's id
    page = bookkeeper.get(reverse("billing:account_edit", args=[account.pk])).content.decode()
    assert "The theme chosen before, Freight Premium, is no longer in" in page


def test_choosing_a_theme_needs_the_permission_to_change_billing_accounts(linked, account, client):
    clerk = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_billingaccount"))
    client.force_login(clerk)
    answer = client.post(
        reverse("xero:branding_choose", args=[account.pk]),
        {"connection": linked.pk, "theme": theme_named(linked, "Freight Premium")},
    )
    assert answer.status_code == 403 and not BrandingChoice.objects.exists()
