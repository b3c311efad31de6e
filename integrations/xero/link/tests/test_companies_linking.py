"""Several companies, each linked to its own Xero organisation from its own card on the Add Ons page; one
organisation books one company. Over HTTP against the sandbox's consent page."""

import datetime
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from billing.models import Company
from billing.tests.factories import CompanyFactory
from integrations.xero import tasks
from integrations.xero.api.xero_api import xero_api_for
from integrations.xero.conftest import link
from integrations.xero.link import tokens
from integrations.xero.models import XeroConnection


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def uk(transactional_db):
    """A second company; the first (the default, NZ) exists before it, as the migration made it."""
    Company.objects.default()
    return CompanyFactory(name="Cocoon Freight UK Ltd", country="GB", base_currency="GBP")


def cards(client) -> str:
    return client.get("/addons/").content.decode()


def test_each_company_has_its_own_card_whose_link_button_names_it(sandbox, admin_client, uk):
    page = cards(admin_client)
    nz = Company.objects.default()
    for company in (nz, uk):
        assert f'data-testid="xero-company">{company.name}<' in page
        assert f'<input type="hidden" name="company" value="{company.pk}">' in page
    assert page.count("LINK TO MY ACCOUNT") == 2


def test_two_companies_link_two_organisations_and_each_card_shows_its_own(sandbox, admin_client, uk):
    link(admin_client, sandbox["NZ"])
    answer = link(admin_client, sandbox["GB"], company=uk)
    assert answer.url == f"/integrations/xero/setup-check/?company={uk.pk}"
    assert "Linked to Xero organisation Demo Freight UK Ltd for Cocoon Freight UK Ltd." in messages_of(answer)
    links = {link.company: link.tenant_name for link in XeroConnection.objects.live()}
    assert links == {Company.objects.default(): "Demo Freight NZ Ltd", uk: "Demo Freight UK Ltd"}
    page = cards(admin_client)
    nz_card, uk_card = page.split('data-testid="xero-link"')[1:3]
    assert "Demo Freight NZ Ltd" in nz_card and "Demo Freight UK Ltd" not in nz_card
    assert "Cocoon Freight UK Ltd" in uk_card and "Demo Freight UK Ltd" in uk_card


def test_an_organisation_another_company_books_is_refused_and_that_link_kept(sandbox, admin_client, uk):
    link(admin_client, sandbox["NZ"])
    answer = link(admin_client, sandbox["NZ"], company=uk)
    assert any("Demo Freight NZ Ltd already books Cocoon Freight Ltd" in says for says in messages_of(answer))
    assert [(link.company, link.status) for link in XeroConnection.objects.all()] == [
        (Company.objects.default(), "active")
    ]


def test_disconnecting_one_company_leaves_the_others_link_alone(sandbox, admin_client, uk):
    link(admin_client, sandbox["NZ"])
    link(admin_client, sandbox["GB"], company=uk)
    admin_client.post("/integrations/xero/disconnect/", {"company": uk.pk})
    statuses = {link.company: link.status for link in XeroConnection.objects.all()}
    assert statuses == {Company.objects.default(): "active", uk: "disconnected"}


def test_with_one_company_the_card_names_no_company(sandbox, admin_client):
    link(admin_client, sandbox["NZ"])
    page = cards(admin_client)
    assert 'data-testid="xero-company"' not in page and Company.objects.default().name not in page


def test_a_company_that_is_not_a_number_or_not_there_is_not_found(sandbox, admin_client):
    assert admin_client.post("/integrations/xero/link/", {"company": "x"}).status_code == 404
    assert admin_client.post("/integrations/xero/link/", {"company": "999"}).status_code == 404


def test_one_consent_links_several_organisations_each_to_the_company_it_books(sandbox, admin_client, uk):
    nz = Company.objects.default()
    answer = link(admin_client, sandbox["NZ"], sandbox["GB"])
    assert answer.url == "/integrations/xero/choose/"
    page = admin_client.get(answer.url).content.decode()
    assert page.count('data-testid="books"') == 2 and "Which company does each Xero organisation book?" in page
    chosen = admin_client.post(
        answer.url,
        {f"books-{sandbox['NZ'].tenant_id}": nz.pk, f"books-{sandbox['GB'].tenant_id}": uk.pk},
    )
    assert "Linked to Xero organisation Demo Freight UK Ltd for Cocoon Freight UK Ltd." in messages_of(chosen)
    links = {link.company: link for link in XeroConnection.objects.live()}
    assert (links[nz].tenant_name, links[uk].tenant_name) == ("Demo Freight NZ Ltd", "Demo Freight UK Ltd")
    assert links[nz].grant_id == links[uk].grant_id  # one consent, one token set


def test_one_company_cannot_book_two_organisations_and_the_choice_stays_open(sandbox, admin_client, uk):
    answer = link(admin_client, sandbox["NZ"], sandbox["GB"])
    refused = admin_client.post(
        answer.url, {f"books-{sandbox['NZ'].tenant_id}": uk.pk, f"books-{sandbox['GB'].tenant_id}": uk.pk}
    )
    assert refused.url == "/integrations/xero/choose/"
    assert "Cocoon Freight UK Ltd can book one Xero organisation: pick one for it." in messages_of(refused)
    assert not XeroConnection.objects.exists()


def test_links_granted_together_keep_working_after_one_refreshes_their_single_use_token(
    sandbox, admin_client, uk, settings
):
    settings.XERO_SANDBOX = {**settings.XERO_SANDBOX, "REFRESH_GRACE_SECONDS": 0}  # a used token is dead at once
    answer = link(admin_client, sandbox["NZ"], sandbox["GB"])
    admin_client.post(
        answer.url,
        {
            f"books-{sandbox['NZ'].tenant_id}": Company.objects.default().pk,
            f"books-{sandbox['GB'].tenant_id}": uk.pk,
        },
    )
    nz_link, uk_link = XeroConnection.objects.get(company__pk=Company.objects.default().pk), uk.xero_links.get()
    tokens.connections_refresh_idle(now=timezone.now() + datetime.timedelta(days=365))  # one refresh for both
    tokens._refresh_under_lock(uk_link.pk, force=True)  # the UK link refreshes with the pair the NZ one got
    uk_link.refresh_from_db()
    nz_link.refresh_from_db()
    assert uk_link.status == nz_link.status == "active"
    assert uk_link.refresh_token == nz_link.refresh_token
    assert xero_api_for(nz_link).read_organisation().name == "Demo Freight NZ Ltd"


def test_one_consent_reads_the_first_organisations_books_at_once_and_the_others_in_the_background(
    sandbox, admin_client, uk
):
    nz = Company.objects.default()
    answer = link(admin_client, sandbox["NZ"], sandbox["GB"])
    with mock.patch.object(tasks.load_reference_data, "delay") as queued:
        admin_client.post(
            answer.url, {f"books-{sandbox['NZ'].tenant_id}": nz.pk, f"books-{sandbox['GB'].tenant_id}": uk.pk}
        )
    nz_link, uk_link = XeroConnection.objects.get(company=nz), uk.xero_links.get()
    assert nz_link.reference_data_loaded_at is not None and nz_link.chart_of_accounts
    assert uk_link.reference_data_loaded_at is None
    queued.assert_called_once_with(uk_link.pk)

    tasks.load_reference_data(uk_link.pk)  # what the worker runs
    uk_link.refresh_from_db()
    assert uk_link.reference_data_loaded_at is not None
    assert {account["code"] for account in uk_link.chart_of_accounts} >= {"200"}
