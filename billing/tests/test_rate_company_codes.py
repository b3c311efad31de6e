"""A company may book a rate's revenue to an account of its own: with several companies, the rate's page has
one revenue account code per company (blank: the rate's own code applies there), saved with the rate in one
transaction. With one company the rate pages are as they were."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services
from billing.models import Company, Rate, RateCompanyCode

from .factories import CompanyFactory, RateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def companies():
    """The default company (New Zealand) first, then an Australian one."""
    return Company.objects.default(), CompanyFactory(name="Cocoon Freight AU Pty Ltd")


def field(company) -> str:
    return f"company_code_{company.pk}"


def rate_post(rate, **fields) -> dict:
    own = {
        "label": rate.label,
        "category": rate.category,
        "cost_account_code": rate.cost_account_code,
        "revenue_account_code": rate.revenue_account_code,
    }
    return {**own, **fields}


def company_codes(rate) -> dict[str, str]:
    return dict(RateCompanyCode.objects.filter(rate=rate).values_list("company__name", "revenue_account_code"))


def test_with_one_company_the_rate_pages_have_no_company_codes(staff):
    rate = RateFactory()
    RateCompanyCode.objects.create(rate=rate, company=Company.objects.default(), revenue_account_code="41000")
    pages = [reverse("billing:rate_create"), reverse("billing:rate_edit", args=[rate.pk]), reverse("billing:rate_list")]
    for url in pages:
        page = staff.get(url).content.decode()
        assert "company_code_" not in page and "Revenue account code for" not in page, url
        assert "company code" not in page, url
    form = staff.get(reverse("billing:rate_edit", args=[rate.pk])).context["form"]
    assert list(form.fields) == ["label", "category", "service", "cost_account_code", "revenue_account_code"]


def test_with_one_company_saving_a_rate_leaves_its_company_codes_alone(staff):
    rate = RateFactory()
    RateCompanyCode.objects.create(rate=rate, company=Company.objects.default(), revenue_account_code="41000")
    staff.post(reverse("billing:rate_edit", args=[rate.pk]), rate_post(rate, label="Renamed"))
    rate.refresh_from_db()
    assert rate.label == "Renamed" and RateCompanyCode.objects.get().revenue_account_code == "41000"


def test_with_several_companies_the_rate_page_has_each_companys_code_and_why_blank_is_fine(staff, companies):
    nz, au = companies
    rate = RateFactory(revenue_account_code="SEA|200")
    RateCompanyCode.objects.create(rate=rate, company=au, revenue_account_code="41000")
    response = staff.get(reverse("billing:rate_edit", args=[rate.pk]))
    page = response.content.decode()
    assert "Revenue account code for Cocoon Freight AU Pty Ltd" in page
    assert f"Revenue account code for {nz.name}" in page
    assert f'name="{field(au)}" value="41000"' in page and f'name="{field(nz)}"' in page
    assert "Leave blank to use the rate's own revenue account code." in page
    assert "Cocoon Freight AU Pty Ltd's Xero chart of accounts" in page
    assert response.context["form"][field(nz)].value() == ""  # no code of its own: the rate's applies


def test_a_company_name_is_shown_as_text_in_the_help(staff):
    CompanyFactory(name="<b>Bold</b> Ltd")
    page = staff.get(reverse("billing:rate_create")).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt; Ltd's Xero chart of accounts" in page and "<b>Bold</b>" not in page


def test_saving_the_rate_page_sets_changes_and_clears_a_companys_code(staff, companies):
    nz, au = companies
    rate = RateFactory(revenue_account_code="SEA|200")
    url = reverse("billing:rate_edit", args=[rate.pk])

    staff.post(url, rate_post(rate, **{field(au): "SEA|41000", field(nz): ""}))
    assert company_codes(rate) == {au.name: "SEA|41000"}
    assert (rate.revenue_accounting_code_for(nz.pk), rate.revenue_accounting_code_for(au.pk)) == ("200", "41000")

    staff.post(url, rate_post(rate, label="Sea freight (LCL)", **{field(au): "41100", field(nz): "205"}))
    rate.refresh_from_db()
    assert rate.label == "Sea freight (LCL)" and company_codes(rate) == {au.name: "41100", nz.name: "205"}

    response = staff.post(url, rate_post(rate, **{field(au): "", field(nz): "205"}), follow=True)
    assert company_codes(rate) == {nz.name: "205"}
    assert "Rate “Sea freight (LCL)” saved." in response.content.decode()


def test_a_new_rate_is_saved_with_its_companies_codes(staff, companies):
    nz, au = companies
    staff.post(
        reverse("billing:rate_create"),
        {"label": "Air freight", "category": "freight", "revenue_account_code": "AIR|210", field(au): "41200"},
    )
    assert company_codes(Rate.objects.get(label="Air freight")) == {au.name: "41200"}


def test_an_invalid_company_code_is_refused_with_a_message_and_changes_nothing(staff, companies):
    nz, au = companies
    rate = RateFactory(label="Sea freight", revenue_account_code="SEA|200")
    RateCompanyCode.objects.create(rate=rate, company=au, revenue_account_code="41000")
    post = rate_post(rate, label="Renamed", **{field(nz): "205", field(au): "SEA|"})
    response = staff.post(reverse("billing:rate_edit", args=[rate.pk]), post)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        field(au): ["Use CODE or PREFIX|CODE (one pipe, text on both sides), for example 200 or SEA|200."]
    }
    assert "Use CODE or PREFIX|CODE (one pipe, text on both sides)" in response.content.decode()
    rate.refresh_from_db()
    assert rate.label == "Sea freight" and company_codes(rate) == {au.name: "41000"}


def test_the_service_refuses_an_invalid_company_code_naming_the_company_before_writing_anything(companies):
    nz, au = companies
    rate = RateFactory(label="Sea freight")
    rate.label = "Renamed"
    with pytest.raises(ValidationError, match="Revenue account code for Cocoon Freight AU Pty Ltd: A code cannot"):
        services.rate_save(rate=rate, company_codes={nz: "205", au: "41 000"})
    rate.refresh_from_db()
    assert rate.label == "Sea freight" and not RateCompanyCode.objects.exists()


def test_the_rate_and_its_company_codes_are_saved_in_one_transaction(companies, monkeypatch):
    nz, au = companies
    rate = RateFactory(label="Sea freight")
    RateCompanyCode.objects.create(rate=rate, company=nz, revenue_account_code="205")

    def fail_on_the_second(*, rate, company, code):
        if company == au:
            raise RuntimeError("the database went away")
        RateCompanyCode.objects.filter(rate=rate, company=company).delete()

    monkeypatch.setattr(services, "_set_company_code", fail_on_the_second)
    rate.label = "Renamed"
    with pytest.raises(RuntimeError):
        services.rate_save(rate=rate, company_codes={nz: "", au: "41000"})
    rate.refresh_from_db()
    assert rate.label == "Sea freight" and company_codes(rate) == {nz.name: "205"}


@pytest.mark.parametrize("rows", [2, 5])
def test_the_rate_list_counts_each_rates_company_codes_in_the_same_queries_however_many_rates(
    staff, companies, rows, django_assert_num_queries
):
    nz, au = companies
    for rate in RateFactory.create_batch(rows):
        RateCompanyCode.objects.create(rate=rate, company=nz, revenue_account_code=f"N{rate.pk}")
        RateCompanyCode.objects.create(rate=rate, company=au, revenue_account_code=f"A{rate.pk}")
    RateFactory(label="Zz no company codes")
    # The session and user, the page frame's own, whether there are several companies, the rates with their counts.
    with django_assert_num_queries(8):
        page = staff.get(reverse("billing:rate_list")).content.decode()
    assert page.count('data-testid="company-codes"') == rows and page.count(">2 company codes<") == rows
