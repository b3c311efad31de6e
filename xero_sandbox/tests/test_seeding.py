import pytest
from django.core.management import call_command

from xero_sandbox.models import App, Document, Organisation, TrackingCategory


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


@pytest.mark.django_db
def test_the_seeded_tracking_categories_keep_xeros_limits_and_hold_archived_traps():
    call_command("xero_sandbox_seed")
    for org in Organisation.objects.all():
        active = org.tracking_categories.filter(status="ACTIVE")
        assert active.count() <= TrackingCategory.MAX_ACTIVE, org
        assert all(c.options.count() <= TrackingCategory.MAX_OPTIONS for c in org.tracking_categories.all())
    nz = Organisation.objects.get(country_code="NZ")
    service = nz.tracking_categories.get(name="Service")
    assert dict(service.options.values_list("name", "status"))["Rail"] == "ARCHIVED"
    assert nz.tracking_categories.get(name="Old Region").status == "ARCHIVED"
    uk = Organisation.objects.get(country_code="GB")
    assert [(c.name, [o.name for o in c.options.all()]) for c in uk.tracking_categories.all()] == [
        ("Branch", ["London", "Manchester"])
    ]


@pytest.mark.django_db
def test_the_seeded_invoices_carry_the_default_branding_theme():
    call_command("xero_sandbox_seed")
    invoice = Document.objects.get(number="INV-0001")
    assert (invoice.branding_theme.name, invoice.branding_theme.sort_order) == ("Standard", 0)
