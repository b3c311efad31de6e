"""The rate and tax rate forms take help from whichever accounting add-on registers a code advisor,
knowing nothing of it: codes to pick from, and warnings that never stop a save."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing import panels
from billing.models import Rate, TaxRate

from .factories import RateFactory

pytestmark = pytest.mark.django_db


class BooksAdvisor:
    """An accounting system that knows revenue account 200 and tax code OUT at 15%."""

    def __init__(self):
        self.asked = []

    def revenue_account_advice(self, code):
        self.asked.append(code)
        return panels.CodeAdvice(
            choices=(("200", "200 — Sales"),), warning="" if code in ("", "200") else f"No account {code}."
        )

    def tax_code_advice(self, code, percentage, *, company=None):
        self.asked.append((code, percentage))
        wrong = code not in ("", "OUT") or (percentage is not None and percentage != Decimal("15"))
        return panels.CodeAdvice(
            choices=(("OUT", "OUT — Output tax"),), warning="Not as the books say." if wrong else ""
        )


@pytest.fixture
def advisor(monkeypatch):
    advisor = BooksAdvisor()
    monkeypatch.setattr(panels, "_code_advisors", [])  # only this one, whatever add-ons are installed
    panels.register_code_advisor(advisor)
    return advisor


def test_the_rate_form_offers_the_advisors_codes_in_a_datalist(staff, advisor):
    page = staff.get(reverse("billing:rate_create")).content.decode()
    assert 'list="revenue_account_code-choices"' in page
    assert '<datalist id="revenue_account_code-choices"' in page and '<option value="200">200 — Sales</option>' in page


def test_a_rate_code_the_advisor_warns_about_is_saved_and_the_warning_shown(staff, advisor):
    answer = staff.post(
        reverse("billing:rate_create"),
        {"label": "Storage", "category": "other", "revenue_account_code": "WH|999"},
        follow=True,
    )
    page = answer.content.decode()
    assert Rate.objects.get(label="Storage").revenue_account_code == "WH|999"
    assert "No account 999." in page  # asked about the part sent to accounting, after the pipe
    assert "999" in advisor.asked


def test_the_edit_page_warns_about_the_saved_code(staff, advisor):
    rate = RateFactory(revenue_account_code="ODD|777")
    page = staff.get(reverse("billing:rate_edit", args=[rate.pk])).content.decode()
    assert 'data-testid="code-warning"' in page and "No account 777." in page


def test_the_tax_rate_form_passes_the_percentage_along(staff, advisor):
    staff.post(reverse("billing:taxrate_create"), {"name": "Output", "rate": "12.5", "accounting_code": "OUT"})
    assert TaxRate.objects.filter(name="Output").exists()
    assert ("OUT", Decimal("12.5")) in advisor.asked


def test_without_an_advisor_the_forms_are_plain(staff, monkeypatch):
    monkeypatch.setattr(panels, "_code_advisors", [])
    page = staff.get(reverse("billing:rate_create")).content.decode()
    assert "datalist" not in page and 'data-testid="code-warning"' not in page
