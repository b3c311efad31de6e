"""Billing account codes and number prefixes hold only what a person can see and Xero can match: kept
NFKC-normalised; an invisible, control or quote character is refused by name; a code that differs from
another only in case, spaces or look-alike letters is refused, naming the other account."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.forms import BillingAccountForm
from billing.models import BillingAccount, Company

from .factories import BillingAccountFactory

pytestmark = pytest.mark.django_db


def account_form(code: str, **fields) -> BillingAccountForm:
    data = {"code": code, "name": "Uni Freight Ltd", "currency": "NZD", "payment_terms_days": 20, **fields}
    return BillingAccountForm(data=data)


@pytest.mark.parametrize(
    "code, says",
    [
        ('UNI"1', "a double quote (QUOTATION MARK, U+0022) at position 4"),
        ("UNI“1”", "a curly quote (LEFT DOUBLE QUOTATION MARK, U+201C) at position 4"),
        ("UNI\x011", "a control character (U+0001, U+0001) at position 4"),
        ("UNI1\u200d", "an invisible formatting character (ZERO WIDTH JOINER, U+200D) at position 5"),
        ("UNI\u20281", "a line separator (LINE SEPARATOR, U+2028) at position 4"),
        ("UNI\ue0001", "a private-use character (U+E000, U+E000) at position 4"),
    ],
)
def test_a_code_holding_a_character_nobody_can_see_or_that_quotes_is_refused_naming_it(code, says):
    form = account_form(code)
    assert not form.is_valid()
    assert f"The code holds {says}" in form.errors["code"][0]
    assert not BillingAccount.objects.exists()


@pytest.mark.parametrize("entered, kept", [("ＵＮＩ１", "UNI1"), ("UNI\u00a01", "UNI 1"), ("ﬁN01", "fiN01")])
def test_a_code_is_kept_as_the_plain_text_it_shows(entered, kept):
    form = account_form(entered)
    assert form.is_valid(), form.errors
    assert form.save().code == kept


@pytest.mark.parametrize("twin", ["uni1", "Uni1", "UN I1", "UNІ1", "Ｕni1"])  # the fourth holds a Cyrillic І
def test_a_code_that_differs_from_another_only_in_case_spaces_or_look_alikes_is_refused_naming_it(twin):
    BillingAccountFactory(code="UNI1", name="Uni Freight Ltd")
    form = account_form(twin.strip(), name="Another Ltd")
    assert not form.is_valid()
    assert "looks like the billing account code UNI1 of Uni Freight Ltd" in form.errors["code"][0]
    assert BillingAccount.objects.count() == 1


def test_an_account_keeps_its_own_code_when_saved_again():
    account = BillingAccountFactory(code="ACME01", name="Acme Ltd")
    form = BillingAccountForm(
        instance=account,
        data={"code": "ACME01", "name": "Acme Freight Ltd", "currency": "NZD", "payment_terms_days": 20},
    )
    assert form.is_valid(), form.errors


def test_the_address_book_page_shows_why_a_code_is_refused(staff):
    response = staff.post(
        reverse("billing:account_create"),
        {"code": "ACME\u200b01", "name": "Acme Ltd", "currency": "NZD", "payment_terms_days": 20},
    )
    assert response.status_code == 200
    assert "ZERO WIDTH SPACE, U+200B" in response.content.decode()
    assert not BillingAccount.objects.exists()


def test_a_number_prefix_is_normalised_and_refuses_quotes():
    company = Company(name="Cocoon Freight AU Pty Ltd", country="AU", base_currency="AUD", invoice_prefix="ＡＵＩＮＶ")
    company.credit_note_prefix = "AUCN"
    company.full_clean()
    assert company.invoice_prefix == "AUINV"
    company.credit_note_prefix = 'AU"CN'
    with pytest.raises(ValidationError, match="a double quote"):
        company.full_clean()
