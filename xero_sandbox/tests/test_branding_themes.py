"""Branding themes through the real SDK: listed as Xero lists them, named by an invoice's or credit note's
BrandingThemeID (an unknown one refused), and the organisation's default given when none is sent."""

import json

import pytest
import urllib3
from django.urls import reverse
from openapi_core.testing import MockRequest, MockResponse
from xero_python.accounting import CreditNotes, Invoices
from xero_python.exceptions import NotFoundException

from xero_sandbox.models import BrandingTheme, Document

from .books_factories import contact, document, sdk_credit_note, sdk_invoice
from .openapi_specs import load

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

# The sandbox's own words (Xero refuses an unknown theme, XeroAPI/xero-php-oauth2#267, in words not found).
UNKNOWN_THEME = "The BrandingThemeID '{}' does not match a branding theme of this organisation."


@pytest.fixture
def acme(nz):
    return contact(nz, "ACME01")


def theme(org, name: str) -> BrandingTheme:
    return BrandingTheme.objects.get(organisation=org, name=name)


def create(linked, *invoices):
    invoices = Invoices(invoices=list(invoices))
    return linked.api.create_invoices(linked.tenant(), invoices, summarize_errors=False).invoices


def messages(element) -> list[str]:
    return [e.message for e in element.validation_errors or []]


# --- GET /BrandingThemes -------------------------------------------------------------------------
def test_the_themes_are_listed_the_default_first(linked, nz):
    themes = linked.api.get_branding_themes(linked.tenant()).branding_themes
    listed = [(t.name, t.sort_order, t.type) for t in themes]
    assert listed == [("Standard", 0, "INVOICE"), ("Freight Premium", 1, "INVOICE")]
    assert themes[0].branding_theme_id == str(theme(nz, "Standard").branding_theme_id)
    assert themes[0].created_date_utc is not None
    uk = linked.api.get_branding_themes(linked.tenant("GB")).branding_themes
    assert [t.name for t in uk] == ["Standard"]


def test_a_theme_is_read_by_its_id_and_an_unknown_one_is_not_found(linked, nz):
    premium = theme(nz, "Freight Premium")
    found = linked.api.get_branding_theme(linked.tenant(), str(premium.branding_theme_id)).branding_themes
    assert [(t.name, t.sort_order) for t in found] == [("Freight Premium", 1)]
    with pytest.raises(NotFoundException):
        linked.api.get_branding_theme(linked.tenant(), "00000000-0000-0000-0000-000000000000")
    uk_standard = theme(linked.orgs["GB"], "Standard")  # another organisation's
    with pytest.raises(NotFoundException):
        linked.api.get_branding_theme(linked.tenant(), str(uk_standard.branding_theme_id))


# --- A document's BrandingThemeID ----------------------------------------------------------------
def test_the_theme_sent_is_stored_and_answered(linked, nz, acme):
    premium = theme(nz, "Freight Premium")
    created = create(linked, sdk_invoice(acme, branding_theme_id=str(premium.branding_theme_id)))[0]
    assert (created.status_attribute_string, created.branding_theme_id) == ("OK", str(premium.branding_theme_id))
    found = linked.api.get_invoice(linked.tenant(), created.invoice_id).invoices[0]
    assert found.branding_theme_id == str(premium.branding_theme_id)
    assert Document.objects.get(document_id=created.invoice_id).branding_theme == premium


def test_without_one_the_document_gets_the_organisations_default(linked, nz, acme):
    standard = theme(nz, "Standard")
    created = create(linked, sdk_invoice(acme))[0]
    assert created.branding_theme_id == str(standard.branding_theme_id)
    note = linked.api.create_credit_notes(
        linked.tenant(), CreditNotes(credit_notes=[sdk_credit_note(acme)]), summarize_errors=False
    ).credit_notes[0]
    assert note.branding_theme_id == str(standard.branding_theme_id)
    assert document(acme, number="BOOKS-1").branding_theme == standard  # through the books' service too


def test_the_default_is_the_theme_of_the_lowest_sort_order(linked, nz, acme):
    BrandingTheme.objects.filter(organisation=nz, name="Standard").update(sort_order=5)
    created = create(linked, sdk_invoice(acme))[0]
    assert created.branding_theme_id == str(theme(nz, "Freight Premium").branding_theme_id)


def test_a_credit_note_takes_the_theme_sent(linked, nz, acme):
    premium = theme(nz, "Freight Premium")
    note = sdk_credit_note(acme, branding_theme_id=str(premium.branding_theme_id))
    created = linked.api.create_credit_notes(
        linked.tenant(), CreditNotes(credit_notes=[note]), summarize_errors=False
    ).credit_notes[0]
    assert created.branding_theme_id == str(premium.branding_theme_id)


@pytest.mark.parametrize("given", ["00000000-0000-0000-0000-00000000000c", "not-a-theme"])
def test_an_unknown_theme_is_refused(linked, acme, given):
    refused = create(linked, sdk_invoice(acme, branding_theme_id=given))[0]
    assert (refused.has_errors, messages(refused)) == (True, [UNKNOWN_THEME.format(given)])
    assert not Document.objects.exists()


def test_another_organisations_theme_is_refused(linked, acme):
    uk_standard = str(theme(linked.orgs["GB"], "Standard").branding_theme_id)
    refused = create(linked, sdk_invoice(acme, branding_theme_id=uk_standard))[0]
    assert messages(refused) == [UNKNOWN_THEME.format(uk_standard)]


def test_an_update_changes_the_theme_and_one_without_it_keeps_it(linked, nz, acme):
    premium = theme(nz, "Freight Premium")
    draft = create(linked, sdk_invoice(acme, status="DRAFT"))[0]
    changed = sdk_invoice(acme, status="DRAFT", branding_theme_id=str(premium.branding_theme_id))
    updated = linked.api.update_invoice(linked.tenant(), draft.invoice_id, Invoices(invoices=[changed])).invoices[0]
    assert updated.branding_theme_id == str(premium.branding_theme_id)
    kept = linked.api.update_invoice(
        linked.tenant(), draft.invoice_id, Invoices(invoices=[sdk_invoice(acme, status="AUTHORISED")])
    ).invoices[0]
    assert (kept.status, kept.branding_theme_id) == ("AUTHORISED", str(premium.branding_theme_id))


# --- Xero's specification ------------------------------------------------------------------------
def test_the_answers_match_xeros_specification(linked, sandbox_url, nz, acme):
    spec = load("xero_accounting.yaml")
    premium = theme(nz, "Freight Premium")
    invoice = create(linked, sdk_invoice(acme, branding_theme_id=str(premium.branding_theme_id)))[0]
    http = urllib3.PoolManager(retries=False)
    headers = {
        "Authorization": f"Bearer {linked.access_token.token}",
        "xero-tenant-id": linked.tenant(),
        "Accept": "application/json",
    }
    answers = {}
    for path in ("/BrandingThemes", f"/BrandingThemes/{premium.branding_theme_id}", f"/Invoices/{invoice.invoice_id}"):
        answer = http.request("GET", f"{sandbox_url}/api.xro/2.0{path}", headers=headers)
        assert answer.status == 200, answer.data
        request = MockRequest("https://api.xero.com", "get", f"/api.xro/2.0{path}", headers=headers)
        spec.validate_request(request)
        spec.validate_response(request, MockResponse(answer.data, status_code=200, headers=dict(answer.headers)))
        answers[path.split("/")[1]] = json.loads(answer.data)
    assert answers["Invoices"]["Invoices"][0]["BrandingThemeID"] == str(premium.branding_theme_id)


# --- The staff pages -----------------------------------------------------------------------------
def test_the_organisation_page_lists_the_themes_and_the_document_page_names_its_own(staff, orgs):
    nz = orgs["NZ"]
    html = staff.get(reverse("xero_sandbox:organisation_detail", args=[nz.pk])).content.decode()
    assert 'data-testid="branding-themes"' in html and "Freight Premium" in html
    assert str(theme(nz, "Standard").branding_theme_id) in html
    invoice = document(contact(nz, "ACME01"), number="INV-THEME")
    html = staff.get(reverse("xero_sandbox:document_detail", args=[nz.pk, invoice.pk])).content.decode()
    assert f"Standard <code>{theme(nz, 'Standard').branding_theme_id}</code>" in html
