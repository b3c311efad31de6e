"""Several issuing companies: each numbers its own documents, issues with its own tax rates and may book a
rate's revenue to its own account; a credit note is issued by its invoice's company. An installation with
one company shows no company anywhere."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services
from billing.models import Company, Invoice, RateCompanyCode

from .factories import BillingAccountFactory, CompanyFactory, RateFactory, TaxRateFactory, draft_with_lines, line

pytestmark = pytest.mark.django_db


def issued_by(company, **fields) -> Invoice:
    tax = TaxRateFactory(company=company)
    return services.invoice_issue(invoice=draft_with_lines(line(tax_rate=tax), company=company, **fields))


def test_each_company_numbers_its_documents_with_its_own_prefix_and_sequence():
    nz, au = Company.objects.default(), CompanyFactory(invoice_prefix="AUINV", credit_note_prefix="AUCN")
    numbers = [issued_by(company).number for company in (nz, au, au, nz)]
    assert numbers == ["INV-000001", "AUINV-000001", "AUINV-000002", "INV-000002"]


def test_a_draft_takes_its_billing_accounts_default_company_unless_the_person_chooses_one(staff):
    au = CompanyFactory()
    account = BillingAccountFactory(default_company=au)
    tax = TaxRateFactory(company=au)
    post = {
        "billing_account": account.pk,
        "company": "",
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-0-rate": RateFactory().pk,
        "form-0-quantity": "1",
        "form-0-unit_price": "10",
        "form-0-tax_rate": tax.pk,
    }
    staff.post(reverse("billing:invoice_create"), post)
    assert Invoice.objects.get().company == au


def test_a_credit_note_is_issued_by_its_invoices_company_whatever_was_chosen(staff):
    au = CompanyFactory()
    invoice = issued_by(au)
    post = {
        "billing_account": invoice.billing_account_id,
        "company": Company.objects.default().pk,
        "credited_invoice": invoice.pk,
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-0-rate": RateFactory().pk,
        "form-0-quantity": "1",
        "form-0-unit_price": "10",
        "form-0-tax_rate": TaxRateFactory(company=au).pk,
    }
    staff.post(reverse("billing:invoice_create") + "?kind=credit_note", post)
    assert Invoice.objects.get(kind="credit_note").company == au


def test_a_line_with_another_companys_tax_rate_is_refused_and_nothing_is_saved():
    au = CompanyFactory(name="Cocoon Freight AU Pty Ltd")
    nz_gst = TaxRateFactory(name="GST on income", rate=Decimal("15"))
    with pytest.raises(ValidationError, match="GST on income \\(15%\\) is another company's tax rate: choose Cocoon"):
        draft_with_lines(line(tax_rate=nz_gst), company=au)
    assert not Invoice.objects.exists()


def test_a_company_may_book_a_rates_revenue_to_its_own_account():
    au = CompanyFactory()
    rate = RateFactory(revenue_account_code="SEA|200")
    RateCompanyCode.objects.create(rate=rate, company=au, revenue_account_code="SEA|41000")
    nz = Company.objects.default()
    assert (rate.revenue_accounting_code_for(nz.pk), rate.revenue_accounting_code_for(au.pk)) == ("200", "41000")


def test_with_one_company_no_page_shows_a_company(staff):
    account, tax = BillingAccountFactory(), TaxRateFactory()
    pages = [
        reverse("billing:invoice_create"),
        reverse("billing:invoice_create") + "?kind=credit_note",
        reverse("billing:account_create"),
        reverse("billing:account_edit", args=[account.pk]),
        reverse("billing:taxrate_create"),
        reverse("billing:taxrate_edit", args=[tax.pk]),
    ]
    for url in pages:
        page = staff.get(url).content.decode()
        assert "Company" not in page and "company</label>" not in page, url


def test_with_several_companies_the_draft_and_tax_rate_forms_ask_which(staff):
    CompanyFactory(name="Cocoon Freight AU Pty Ltd")
    for url in (reverse("billing:invoice_create"), reverse("billing:taxrate_create")):
        page = staff.get(url).content.decode()
        assert 'name="company"' in page and "Cocoon Freight AU Pty Ltd" in page, url


def test_with_several_companies_the_list_shows_and_filters_by_company_and_a_document_names_its_company(staff):
    Company.objects.default()
    au = CompanyFactory(name="Cocoon Freight AU Pty Ltd")
    nz_invoice, au_invoice = issued_by(Company.objects.default()), issued_by(au)
    page = staff.get(reverse("billing:invoice_list"), {"company": au.pk}).content.decode()
    assert f">{au_invoice.number}<" in page and f">{nz_invoice.number}<" not in page
    assert "<th>Company</th>" in page and 'title="Cocoon Freight AU Pty Ltd"' in page
    detail = staff.get(au_invoice.get_absolute_url()).content.decode()
    assert 'data-testid="company">Cocoon Freight AU Pty Ltd<' in detail


def test_with_one_company_the_list_has_no_company_column_or_filter(staff):
    issued_by(Company.objects.default())
    page = staff.get(reverse("billing:invoice_list")).content.decode()
    assert "<th>Company</th>" not in page and 'name="company"' not in page
