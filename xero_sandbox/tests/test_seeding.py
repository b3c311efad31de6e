import pytest
from django.core.management import call_command

from xero_sandbox.models import App, Document, Organisation


@pytest.mark.django_db
def test_seeding_registers_the_platforms_app_and_two_organisations_once(settings):
    call_command("xero_sandbox_seed")
    call_command("xero_sandbox_seed")
    app = App.objects.get()
    assert (app.client_id, app.redirect_uri_list) == (settings.XERO_CLIENT_ID, [settings.XERO_REDIRECT_URI])
    assert app.webhook_key == settings.XERO_WEBHOOK_KEY
    assert sorted(Organisation.objects.values_list("country_code", flat=True)) == ["GB", "NZ"]


@pytest.mark.django_db
def test_the_seeded_books_hold_the_traps_the_set_up_check_looks_for():
    call_command("xero_sandbox_seed")
    nz = Organisation.objects.get(country_code="NZ")
    assert nz.contacts.get(account_number="BLUEFIN").status == "ARCHIVED"
    assert nz.contacts.get(name="Kiwi Traders").account_number == ""
    assert nz.accounts.get(code="250").status == "ARCHIVED"
    assert not nz.tax_rates.get(tax_type="INPUT2").can_apply_to_revenue


@pytest.mark.django_db
def test_seeded_invoices_can_be_paid_in_the_pages_from_the_start():
    call_command("xero_sandbox_seed")
    invoice = Document.objects.get(number="INV-0001")
    assert (invoice.status, invoice.total, invoice.amount_due) == ("AUTHORISED", 287.50, 287.50)


@pytest.mark.django_db
def test_the_uk_books_hold_a_contact_with_a_tax_number_type_the_sdk_does_not_know():
    call_command("xero_sandbox_seed")
    uk = Organisation.objects.get(country_code="GB")
    taxed = uk.contacts.get(account_number="HUDSON01")
    assert (taxed.tax_number, taxed.tax_number_type, taxed.status) == ("12-3456789", "TAXNUMBERTYPE/EIN", "ACTIVE")
