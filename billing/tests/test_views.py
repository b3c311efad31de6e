import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import BillingAccount, Company, Invoice, Rate, TaxRate

from .factories import BillingAccountFactory, InvoiceFactory, RateFactory, TaxRateFactory, draft_with_lines, line

pytestmark = pytest.mark.django_db


def page_urls():
    account = BillingAccountFactory()
    rate, tax = RateFactory(), TaxRateFactory()
    draft = draft_with_lines(line(rate=rate, tax_rate=tax), billing_account=account)
    return [
        reverse("billing:account_list"),
        reverse("billing:account_create"),
        reverse("billing:account_edit", args=[account.pk]),
        reverse("billing:rate_list"),
        reverse("billing:rate_create"),
        reverse("billing:rate_edit", args=[rate.pk]),
        reverse("billing:taxrate_list"),
        reverse("billing:taxrate_create"),
        reverse("billing:taxrate_edit", args=[tax.pk]),
        reverse("billing:invoice_list"),
        reverse("billing:invoice_create"),
        reverse("billing:invoice_create") + "?kind=credit_note",
        reverse("billing:invoice_detail", args=[draft.pk]),
        reverse("billing:invoice_edit", args=[draft.pk]),
        reverse("admin:billing_invoice_change", args=[draft.pk]),
    ]


def test_every_page_renders_for_staff(staff):
    for url in page_urls():
        response = staff.get(url)
        assert response.status_code == 200, url


def test_every_page_sends_anonymous_visitors_to_sign_in(client):
    for url in page_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")) or "/admin/login/" in response.url


def test_a_signed_in_user_who_is_not_staff_is_refused(client):
    client.force_login(get_user_model().objects.create_user("customer", password="pw"))
    assert client.get(reverse("billing:invoice_list")).status_code == 403


def test_staff_without_the_permission_cannot_add_a_rate(client):
    client.force_login(get_user_model().objects.create_user("clerk", password="pw", is_staff=True))
    response = client.post(reverse("billing:rate_create"), {"label": "X", "revenue_account_code": "200"})
    assert response.status_code == 403
    assert not Rate.objects.exists()


def test_the_login_page_signs_staff_in(client):
    get_user_model().objects.create_user("finance", password="s3cret-pass", is_staff=True, is_superuser=True)
    response = client.post(reverse("login"), {"username": "finance", "password": "s3cret-pass"})
    assert response.status_code == 302
    assert client.get(reverse("billing:invoice_list")).status_code == 200


def test_state_changes_need_a_csrf_token():
    user = get_user_model().objects.create_user("finance", password="pw", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    draft = draft_with_lines()
    assert client.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"}).status_code == 403
    draft.refresh_from_db()
    assert draft.is_draft


def test_a_billing_account_is_added_from_the_address_book(staff):
    response = staff.post(
        reverse("billing:account_create"),
        {"code": "ACME01", "name": "Acme Imports", "currency": "NZD", "payment_terms_days": "20"},
        follow=True,
    )
    assert "Billing account ACME01 added." in response.content.decode()
    assert BillingAccount.objects.get().payment_terms_days == 20


def test_a_duplicate_billing_account_code_is_refused_with_a_message(staff):
    BillingAccountFactory(code="ACME01", name="Acme Imports")
    response = staff.post(
        reverse("billing:account_create"),
        {"code": "ACME01", "name": "Someone else", "currency": "NZD", "payment_terms_days": "30"},
    )
    assert response.status_code == 200
    assert "Billing account with this Billing account code already exists." in response.content.decode()
    assert BillingAccount.objects.count() == 1


def test_the_address_book_searches_by_code_and_name(staff):
    BillingAccountFactory(code="ACME01", name="Acme Imports")
    BillingAccountFactory(code="BLUE02", name="Bluefin Seafoods")
    page = staff.get(reverse("billing:account_list"), {"q": "bluefin"}).content.decode()
    assert "BLUE02" in page and "ACME01" not in page


def test_a_rate_with_neither_code_is_refused_with_a_message(staff):
    response = staff.post(reverse("billing:rate_create"), {"label": "Nothing", "category": "freight"})
    assert "Enter a cost account code, a revenue account code, or both." in response.content.decode()
    assert not Rate.objects.exists()


def test_a_rate_is_added_and_edited(staff):
    staff.post(
        reverse("billing:rate_create"),
        {"label": "Sea freight", "category": "freight", "revenue_account_code": "SEA|200"},
    )
    rate = Rate.objects.get()
    staff.post(
        reverse("billing:rate_edit", args=[rate.pk]),
        {
            "label": "Sea freight",
            "category": "freight",
            "revenue_account_code": "SEA|200",
            "cost_account_code": "SEA|310",
        },
    )
    rate.refresh_from_db()
    assert (rate.revenue_accounting_code, rate.cost_accounting_code) == ("200", "310")


def test_a_tax_rate_over_100_percent_is_refused(staff):
    response = staff.post(
        reverse("billing:taxrate_create"), {"name": "Silly", "rate": "150", "accounting_code": "OUTPUT2"}
    )
    assert "Ensure this value is less than or equal to 100." in response.content.decode()
    assert not TaxRate.objects.exists()


def invoice_post(account, *lines, **header):
    data = {
        "billing_account": account.pk,
        "currency": header.get("currency", ""),
        "reference": header.get("reference", "CONS-1"),
        "issue_date": "",
        "due_date": "",
        "form-TOTAL_FORMS": str(len(lines)),
        "form-INITIAL_FORMS": "0",
    }
    for index, values in enumerate(lines):
        data.update({f"form-{index}-{key}": value for key, value in values.items()})
    return data


def line_data(rate, tax, quantity="1", unit_price="100"):
    return {"rate": rate.pk, "description": "", "quantity": quantity, "unit_price": unit_price, "tax_rate": tax.pk}


def test_a_draft_with_two_lines_is_created_then_issued(staff):
    account = BillingAccountFactory(currency="AUD")
    rate_a, rate_b, gst = RateFactory(label="Sea freight"), RateFactory(), TaxRateFactory(rate=Decimal("15"))
    response = staff.post(
        reverse("billing:invoice_create"),
        invoice_post(account, line_data(rate_a, gst, "3.25", "185.50"), line_data(rate_b, gst, "1", "42")),
    )
    invoice = Invoice.objects.get()
    assert response.url == invoice.get_absolute_url()
    assert (invoice.currency, invoice.total) == ("AUD", Decimal("741.61"))
    assert invoice.lines.first().description == "Sea freight"  # defaulted from the rate's label

    page = staff.post(
        reverse("billing:invoice_issue", args=[invoice.pk]), {"confirmed": "yes"}, follow=True
    ).content.decode()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == ("issued", "INV-000001")
    assert "INV-000001 issued." in page


def test_a_non_numeric_quantity_is_refused_and_nothing_is_saved(staff):
    account, rate, gst = BillingAccountFactory(), RateFactory(), TaxRateFactory()
    response = staff.post(
        reverse("billing:invoice_create"), invoice_post(account, line_data(rate, gst, quantity="lots"))
    )
    assert "Enter a number." in response.content.decode()
    assert not Invoice.objects.exists()


def test_a_draft_needs_at_least_one_line(staff):
    response = staff.post(reverse("billing:invoice_create"), invoice_post(BillingAccountFactory()))
    assert "Add at least one line." in response.content.decode()
    assert not Invoice.objects.exists()


def test_issuing_a_draft_with_no_lines_shows_why_and_changes_nothing(staff):
    draft = InvoiceFactory(reference="")
    page = staff.post(
        reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"}, follow=True
    ).content.decode()
    assert "Add at least one line before issuing." in page
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)


def test_an_issued_invoice_cannot_be_edited_through_the_form(staff):
    draft = draft_with_lines()
    staff.post(reverse("billing:invoice_issue", args=[draft.pk]), {"confirmed": "yes"})
    response = staff.get(reverse("billing:invoice_edit", args=[draft.pk]), follow=True)
    assert "is issued and can no longer be edited" in response.content.decode()


def test_the_invoice_list_filters_by_status_kind_and_account(staff):
    account = BillingAccountFactory()
    issued = draft_with_lines(billing_account=account, reference="REF-ISSUED")
    staff.post(reverse("billing:invoice_issue", args=[issued.pk]), {"confirmed": "yes"})
    draft_with_lines(billing_account=account, reference="REF-DRAFT")
    draft_with_lines(kind="credit_note", reference="REF-CREDIT")
    page = staff.get(reverse("billing:invoice_list"), {"status": "issued"}).content.decode()
    assert "REF-ISSUED" in page and "REF-DRAFT" not in page
    page = staff.get(reverse("billing:invoice_list"), {"kind": "credit_note"}).content.decode()
    assert "REF-CREDIT" in page and "REF-ISSUED" not in page
    page = staff.get(reverse("billing:invoice_list"), {"billing_account": account.pk}).content.decode()
    assert "REF-DRAFT" in page and "REF-CREDIT" not in page


def test_an_invoice_shows_the_credit_notes_issued_against_it_and_a_credit_note_its_amounts_positive(staff):
    account, gst = BillingAccountFactory(), TaxRateFactory(rate=Decimal("15"))
    invoice = services.invoice_issue(
        invoice=draft_with_lines(line(unit_price="100", tax_rate=gst), billing_account=account)
    )
    credit = services.invoice_issue(
        invoice=draft_with_lines(
            line(unit_price="40", tax_rate=gst),
            billing_account=account,
            kind=Invoice.Kind.CREDIT_NOTE,
            credited_invoice=invoice,
        )
    )
    draft_with_lines(
        line(unit_price="5"), billing_account=account, kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=invoice
    )
    page = staff.get(invoice.get_absolute_url()).content.decode()
    assert 'data-testid="credit-notes"' in page and credit.number in page
    assert re.search(r'data-testid="credited">46.00<', page)  # the draft credit note is not counted
    note_page = staff.get(credit.get_absolute_url()).content.decode()
    assert "Total credited" in note_page
    assert re.search(r'data-testid="total">46.00<', note_page) and "-46.00" not in note_page


def test_a_drafts_page_is_titled_by_what_it_is_not_by_its_kind_twice(staff):
    draft = draft_with_lines(line())
    page = staff.get(draft.get_absolute_url()).content.decode()
    assert f"<title>Draft invoice #{draft.pk}" in page and "Invoice Draft invoice" not in page


def test_an_invoice_shows_what_credit_notes_and_payments_took_off_its_total_and_what_is_still_due(staff):
    account, gst = BillingAccountFactory(), TaxRateFactory(rate=Decimal("15"))
    invoice = services.invoice_issue(
        invoice=draft_with_lines(line(quantity="10", unit_price="250", tax_rate=gst), billing_account=account)
    )
    services.invoice_issue(
        invoice=draft_with_lines(
            line(unit_price="100", tax_rate=gst),
            billing_account=account,
            kind=Invoice.Kind.CREDIT_NOTE,
            credited_invoice=invoice,
        )
    )
    services.invoice_record_accounting_status(invoice=invoice, status="issued", amount_paid=Decimal("1000"))
    page = staff.get(invoice.get_absolute_url()).content.decode()
    assert re.search(r'data-testid="total">2,875.00<', page)
    assert re.search(r'data-testid="less-credited">−115.00<', page)
    assert re.search(r'data-testid="paid">−1,000.00<', page)
    assert re.search(r'data-testid="amount-due">1,760.00<', page)


def test_a_voided_invoice_says_nothing_is_due_on_it(staff):
    invoice = services.invoice_issue(invoice=draft_with_lines(line(unit_price="517.50")))
    services.invoice_record_accounting_status(invoice=invoice, status="voided")
    page = staff.get(invoice.get_absolute_url()).content.decode()
    assert "Voided: nothing due" in page and re.search(r'data-testid="amount-due">0.00<', page)
    assert "Amount due" not in page


def test_a_credit_note_shows_what_of_it_was_used_and_what_credit_is_left(staff):
    note = services.invoice_issue(
        invoice=draft_with_lines(line(unit_price="97", tax_rate=TaxRateFactory(rate=Decimal("15"))), kind="credit_note")
    )
    services.invoice_record_accounting_status(invoice=note, status="issued", amount_paid=Decimal("100"))
    page = staff.get(note.get_absolute_url()).content.decode()
    assert re.search(r'data-testid="total">111.55<', page)
    assert "Less used (allocated or refunded)" in page and re.search(r'data-testid="paid">−100.00<', page)
    assert "Credit left to use" in page and re.search(r'data-testid="amount-due">11.55<', page)


def test_amounts_are_grouped_with_two_decimals_and_a_unit_price_keeps_the_decimals_it_has(staff):
    draft = draft_with_lines(line(quantity="1000", unit_price="12.3456"), line(quantity="1", unit_price="2817.5"))
    page = staff.get(draft.get_absolute_url()).content.decode()
    assert ">12.3456<" in page and ">2,817.50<" in page and ">12,345.60<" in page
    assert "2817.5<" not in page


def test_the_draft_form_offers_the_base_currency_first_then_the_common_ones(staff):
    Company.objects.filter(pk=Company.objects.default().pk).update(base_currency="AUD")
    page = staff.get(reverse("billing:invoice_create")).content.decode()
    select = page[page.index('name="currency"') : page.index("</select>", page.index('name="currency"'))]
    offered = re.findall(r'<option value="([A-Z]*)"', select)
    assert offered[:4] == ["", "AUD", "USD", "EUR"]
    assert "AUD (base currency)" in select and offered.count("AUD") == 1
    assert '<optgroup label="Common">' in select and offered.index("NZD") < offered.index("AED")


def test_the_draft_form_gives_the_script_each_rates_label_each_tax_percentage_and_a_line_to_copy(staff):
    RateFactory(label="Air freight Auckland–Sydney")
    TaxRateFactory(name="GST on sales", rate=Decimal("15.0000"))
    page = staff.get(reverse("billing:invoice_create")).content.decode()
    assert 'data-label="Air freight Auckland–Sydney"' in page
    assert 'data-percent="15"' in page
    template = page[page.index('<template id="line-template">') : page.index("</template>")]
    assert 'name="form-__prefix__-rate"' in template and 'name="form-__prefix__-DELETE"' in template
    assert 'data-testid="add-line"' in page and "js/invoice_lines.js" in page


def test_the_credited_invoice_picker_names_customer_total_and_due_and_leaves_out_what_owes_nothing(staff):
    account = BillingAccountFactory(name="Kiwi Cargo Ltd")
    open_one = services.invoice_issue(
        invoice=draft_with_lines(line(unit_price="1500"), billing_account=account)
    )  # 15 % tax
    services.invoice_record_accounting_status(invoice=open_one, status="issued", amount_paid=Decimal("200"))
    paid = services.invoice_issue(invoice=draft_with_lines(line(), billing_account=account))
    services.invoice_record_accounting_status(invoice=paid, status="paid")
    voided = services.invoice_issue(invoice=draft_with_lines(line(), billing_account=account))
    services.invoice_record_accounting_status(invoice=voided, status="voided")
    fully_credited = services.invoice_issue(invoice=draft_with_lines(line(), billing_account=account))
    services.invoice_issue(
        invoice=draft_with_lines(line(), billing_account=account, kind="credit_note", credited_invoice=fully_credited)
    )
    page = staff.get(reverse("billing:invoice_create") + "?kind=credit_note").content.decode()
    select = page[
        page.index('name="credited_invoice"') : page.index("</select>", page.index('name="credited_invoice"'))
    ]
    assert f"{open_one.number} · Kiwi Cargo Ltd · {open_one.currency} 1,725.00, due 1,525.00" in select
    for owes_nothing in (paid, voided, fully_credited):
        assert owes_nothing.number not in select


def test_a_draft_credit_note_keeps_its_credited_invoice_on_the_form_after_that_invoice_is_paid(staff):
    invoice = services.invoice_issue(invoice=draft_with_lines(line()))
    note = draft_with_lines(
        line(), kind="credit_note", credited_invoice=invoice, billing_account=invoice.billing_account
    )
    services.invoice_record_accounting_status(invoice=invoice, status="paid")
    page = staff.get(reverse("billing:invoice_edit", args=[note.pk])).content.decode()
    assert re.search(rf'<option value="{invoice.pk}" selected>{invoice.number} ·', page)
