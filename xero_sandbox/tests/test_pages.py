"""The staff pages a person uses to act as "Xero" in a demo or a test: access, the organisations and
their books, payments, voids and deletes, contacts (faults, the request log and webhooks are in
test_pages_traffic.py)."""

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from xero_sandbox import books, page_selectors
from xero_sandbox.models import (
    Contact,
    Document,
    DocumentLine,
    Fault,
    Payment,
    WebhookEvent,
)

from .conftest import connect, signed_in

DELETE_REFUSED = "Invoice not of valid status for modification"  # Xero's words for deleting an approved invoice


# --- Users and rows --------------------------------------------------------------------------------


def document(org, *, status="AUTHORISED", type=Document.INVOICE, number="INV-0001", contact=None) -> Document:
    """A document of one line of 100.00 plus tax at the org's standard rate."""
    tax = Decimal("15.00") if org.country_code == "NZ" else Decimal("20.00")
    doc = Document.objects.create(
        organisation=org,
        type=type,
        number=number,
        status=status,
        date=date.today(),
        contact=contact or org.contacts.filter(status="ACTIVE").first(),
        currency_code=org.base_currency,
        sub_total=Decimal("100.00"),
        total_tax=tax,
        total=Decimal("100.00") + tax,
    )
    DocumentLine.objects.create(
        document=doc,
        description="Sea freight Auckland–Sydney",
        quantity=Decimal("1"),
        unit_amount=Decimal("100"),
        account_code="200",
        tax_type="OUTPUT2",
        line_amount=Decimal("100.00"),
        tax_amount=tax,
    )
    return doc


def doc_url(name: str, doc: Document, *more) -> str:
    return reverse(f"xero_sandbox:{name}", args=[doc.organisation_id, doc.pk, *more])


def page(response) -> str:
    return response.content.decode()


def events_for(resource_id, category: str) -> int:
    return WebhookEvent.objects.filter(resource_id=resource_id, category=category, event_type="UPDATE").count()


# --- Access ----------------------------------------------------------------------------------------
def page_urls(orgs) -> list[str]:
    nz = orgs["NZ"]
    invoice = document(nz)
    credit_note = document(nz, type=Document.CREDIT_NOTE, number="CN-0001")
    org = [nz.pk]
    return [
        reverse("xero_sandbox:home"),
        reverse("xero_sandbox:organisation_list"),
        reverse("xero_sandbox:organisation_detail", args=org),
        reverse("xero_sandbox:contact_list", args=org),
        reverse("xero_sandbox:account_list", args=org),
        reverse("xero_sandbox:taxrate_list", args=org),
        reverse("xero_sandbox:invoice_list", args=org),
        reverse("xero_sandbox:invoice_list", args=org) + "?status=PAID",
        reverse("xero_sandbox:credit_note_list", args=org),
        doc_url("document_detail", invoice),
        doc_url("document_detail", credit_note),
        reverse("xero_sandbox:webhook_list"),
        reverse("xero_sandbox:request_log"),
        reverse("xero_sandbox:request_log") + f"?organisation={nz.pk}&status=4xx",
    ]


def test_every_page_renders_for_staff(staff, orgs):
    for url in page_urls(orgs):
        assert staff.get(url).status_code == 200, url


def test_every_page_sends_anonymous_visitors_to_sign_in(client, orgs):
    for url in page_urls(orgs):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_a_signed_in_user_who_is_not_staff_is_refused(orgs):
    customer = signed_in("customer")
    for url in page_urls(orgs):
        assert customer.get(url).status_code == 403, url


def test_staff_without_the_sandbox_permissions_can_look_but_not_act(orgs):
    clerk = signed_in("clerk", is_staff=True)
    nz = orgs["NZ"]
    invoice = document(nz)
    contact = nz.contacts.get(account_number="ACME01")
    fault = Fault.objects.create(organisation=nz, kind=Fault.Kind.SLOW)
    refused = [
        doc_url("document_pay_full", invoice),
        doc_url("document_void", invoice),
        doc_url("document_delete", invoice),
        reverse("xero_sandbox:contact_archive", args=[nz.pk, contact.pk]),
        reverse("xero_sandbox:fault_add", args=[nz.pk]),
        reverse("xero_sandbox:fault_remove", args=[nz.pk, fault.pk]),
        reverse("xero_sandbox:webhook_deliver"),
        reverse("xero_sandbox:webhook_intent"),
    ]
    assert clerk.get(doc_url("document_detail", invoice)).status_code == 200
    for url in refused:
        assert clerk.post(url, {"kind": "429", "probability": "1"}).status_code == 403, url
    invoice.refresh_from_db()
    contact.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, contact.status) == ("AUTHORISED", Decimal("0"), "ACTIVE")
    assert list(Fault.objects.all()) == [fault]


def test_a_permission_on_the_sandbox_is_enough_to_act(orgs):
    clerk_user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    clerk_user.user_permissions.add(Permission.objects.get(codename="change_document"))
    clerk = Client()
    clerk.force_login(clerk_user)
    invoice = document(orgs["NZ"])
    clerk.post(doc_url("document_void", invoice))
    invoice.refresh_from_db()
    assert invoice.status == "VOIDED"


def test_actions_need_a_csrf_token(orgs):
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_user("finance", password="pw", is_staff=True, is_superuser=True))
    invoice = document(orgs["NZ"])
    assert client.post(doc_url("document_void", invoice)).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == "AUTHORISED"


# --- Organisations and their books -----------------------------------------------------------------
def test_the_organisations_are_listed_with_their_apps_and_counts(staff, orgs):
    connect(orgs)
    connect(orgs)  # a second consent of the same app: the app is still listed once
    document(orgs["NZ"])
    document(orgs["NZ"], number="INV-0002")
    document(orgs["NZ"], type=Document.CREDIT_NOTE, number="CN-0001")
    nz = next(o for o in page_selectors.organisation_list() if o.country_code == "NZ")
    assert (nz.contact_count, nz.invoice_count, nz.credit_note_count, nz.app_names) == (5, 2, 1, ["CocoonOPS"])
    html = page(staff.get(reverse("xero_sandbox:organisation_list")))
    assert "Demo Freight UK Ltd" in html and str(orgs["NZ"].tenant_id) in html and "CocoonOPS" in html


def test_an_empty_sandbox_says_how_to_seed_it(db):
    staff = signed_in("finance", is_staff=True, is_superuser=True)
    assert "manage.py xero_sandbox_seed" in page(staff.get(reverse("xero_sandbox:organisation_list")))


def test_the_chart_of_accounts_and_tax_rates_show_xeros_fields(staff, orgs):
    accounts = page(staff.get(reverse("xero_sandbox:account_list", args=[orgs["NZ"].pk])))
    assert "Accounts Receivable" in accounts and "DEBTORS" in accounts and "Old Sales (archived)" in accounts
    rates = page(staff.get(reverse("xero_sandbox:taxrate_list", args=[orgs["GB"].pk])))
    assert "20% (VAT on Income)" in rates and "RROUTPUT" in rates and "15% GST" not in rates


def test_another_organisations_document_is_not_found_under_this_one(staff, orgs):
    invoice = document(orgs["NZ"])
    assert staff.get(reverse("xero_sandbox:document_detail", args=[orgs["GB"].pk, invoice.pk])).status_code == 404


def test_invoices_are_filtered_by_status(staff, orgs):
    document(orgs["NZ"], number="INV-AUTH")
    document(orgs["NZ"], number="INV-DRAFT", status="DRAFT")
    html = page(staff.get(reverse("xero_sandbox:invoice_list", args=[orgs["NZ"].pk]), {"status": "DRAFT"}))
    assert "INV-DRAFT" in html and "INV-AUTH" not in html


def test_the_document_page_shows_lines_and_totals(staff, orgs):
    invoice = document(orgs["NZ"])
    html = page(staff.get(doc_url("document_detail", invoice)))
    assert "Sea freight Auckland–Sydney" in html
    assert 'data-testid="total">115.00<' in html and 'data-testid="amount-due">115.00<' in html


# --- Payments, voids, deletes (through books.py) -----------------------------------------------------
def test_a_full_payment_makes_the_invoice_paid_and_is_announced(staff, orgs):
    connect(orgs)
    invoice = document(orgs["NZ"])
    response = staff.post(doc_url("document_pay_full", invoice), follow=True)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("PAID", Decimal("115.00"), Decimal("0"))
    assert "Payment of 115.00 recorded on INV-0001." in page(response)
    assert events_for(invoice.document_id, "INVOICE") >= 1


def test_bills_are_listed_beside_invoices_with_their_type_and_paid_from_the_pages(staff, orgs):
    connect(orgs)
    nz = orgs["NZ"]
    document(nz, number="INV-0005")
    bill = books.outside_document_create(
        nz, type=Document.BILL, number="INV-0005", contact_name="Outside Supplier Ltd", total=Decimal("287.50")
    )
    html = page(staff.get(reverse("xero_sandbox:invoice_list", args=[nz.pk])))
    assert "<code" in html and ">ACCPAY</code>" in html and ">ACCREC</code>" in html and "Outside Supplier Ltd" in html
    assert "Supplier bill INV-0005" in page(staff.get(doc_url("document_detail", bill)))
    staff.post(doc_url("document_pay_full", bill))
    bill.refresh_from_db()
    assert (bill.status, bill.amount_due) == ("PAID", Decimal("0"))
    assert events_for(bill.document_id, "INVOICE") == 1


def test_a_part_payment_leaves_the_rest_due(staff, orgs):
    invoice = document(orgs["NZ"])
    staff.post(doc_url("document_pay_part", invoice), {"amount": "40.00"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("AUTHORISED", Decimal("75.00"))
    assert Payment.objects.get(document=invoice).amount == Decimal("40.00")


def test_a_part_payment_needs_a_positive_amount(staff, orgs):
    invoice = document(orgs["NZ"])
    response = staff.post(doc_url("document_pay_part", invoice), {"amount": "-5"}, follow=True)
    assert "Amount: Ensure this value is greater than or equal to 0.01." in page(response)
    assert not Payment.objects.exists()


def test_deleting_the_payment_returns_a_paid_invoice_to_authorised(staff, orgs):
    invoice = document(orgs["NZ"])
    staff.post(doc_url("document_pay_full", invoice))
    payment = Payment.objects.get(document=invoice)
    response = staff.post(doc_url("payment_delete", invoice, payment.pk), follow=True)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("AUTHORISED", Decimal("115.00"))
    assert "Payment of 115.00 deleted from INV-0001." in page(response)


def test_an_authorised_invoice_is_voided(staff, orgs):
    connect(orgs)
    invoice = document(orgs["NZ"])
    response = staff.post(doc_url("document_void", invoice), follow=True)
    invoice.refresh_from_db()
    assert invoice.status == "VOIDED"
    assert "INV-0001 voided." in page(response)
    assert events_for(invoice.document_id, "INVOICE") >= 1


def test_deleting_an_authorised_invoice_is_refused_with_xeros_message(staff, orgs):
    invoice = document(orgs["NZ"])
    response = staff.post(doc_url("document_delete", invoice), follow=True)
    invoice.refresh_from_db()
    assert invoice.status == "AUTHORISED"
    html = page(response)
    assert 'class="message error"' in html
    assert DELETE_REFUSED in html


def test_a_draft_invoice_is_deleted(staff, orgs):
    draft = document(orgs["NZ"], status="DRAFT")
    staff.post(doc_url("document_delete", draft))
    assert not Document.objects.filter(pk=draft.pk).exclude(status="DELETED").exists()


def test_a_paid_invoice_cannot_be_voided_and_nothing_changes(staff, orgs):
    invoice = document(orgs["NZ"])
    staff.post(doc_url("document_pay_full", invoice))
    response = staff.post(doc_url("document_void", invoice), follow=True)
    invoice.refresh_from_db()
    assert invoice.status == "PAID"
    assert 'class="message error"' in page(response)


# --- Contacts -----------------------------------------------------------------------------------------
def test_archiving_a_contact_is_announced_as_a_contact_update(staff, orgs):
    connect(orgs)
    contact = orgs["NZ"].contacts.get(account_number="ACME01")
    response = staff.post(reverse("xero_sandbox:contact_archive", args=[orgs["NZ"].pk, contact.pk]), follow=True)
    contact.refresh_from_db()
    assert contact.status == "ARCHIVED"
    assert "Acme Imports Ltd is now archived." in page(response)
    assert events_for(contact.contact_id, "CONTACT") == 1


def test_an_archived_contact_is_unarchived(staff, orgs):
    contact = orgs["NZ"].contacts.get(account_number="BLUEFIN")
    staff.post(reverse("xero_sandbox:contact_unarchive", args=[orgs["NZ"].pk, contact.pk]))
    contact.refresh_from_db()
    assert contact.status == "ACTIVE"


def test_unarchiving_is_refused_when_an_active_contact_has_the_same_name(staff, orgs):
    connect(orgs)
    archived = orgs["NZ"].contacts.get(account_number="BLUEFIN")
    Contact.objects.create(organisation=orgs["NZ"], name="Bluefin Seafoods Ltd")
    response = staff.post(reverse("xero_sandbox:contact_unarchive", args=[orgs["NZ"].pk, archived.pk]), follow=True)
    archived.refresh_from_db()
    assert archived.status == "ARCHIVED"
    assert "The contact name must be unique across all active contacts." in page(response)
    assert events_for(archived.contact_id, "CONTACT") == 0
