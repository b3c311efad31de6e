from decimal import Decimal

import pytest
from xero_python.exceptions import HTTPStatusException

from xero_sandbox.models import RequestLog


def test_the_organisation_is_read_through_the_sdk(linked):
    org = linked.api.get_organisations(linked.tenant("GB")).organisations[0]
    assert (org.name, org.base_currency.value, org.country_code.value) == ("Demo Freight UK Ltd", "GBP", "GB")


def test_the_chart_of_accounts_filters_active_revenue_accounts_with_where(linked):
    accounts = linked.api.get_accounts(linked.tenant(), where='Status=="ACTIVE" AND Class=="REVENUE"').accounts
    assert sorted(a.code for a in accounts) == ["200", "260", "270"]


def test_archived_and_system_accounts_are_listed_as_such(linked):
    accounts = {a.code: a for a in linked.api.get_accounts(linked.tenant()).accounts}
    assert accounts["250"].status == "ARCHIVED"
    assert accounts["610"].system_account == "DEBTORS"


def test_tax_rates_say_whether_they_apply_to_revenue(linked):
    rates = {r.tax_type: r for r in linked.api.get_tax_rates(linked.tenant()).tax_rates}
    assert rates["OUTPUT2"].can_apply_to_revenue is True
    assert Decimal(str(rates["OUTPUT2"].effective_rate)) == Decimal("15")
    assert rates["INPUT2"].can_apply_to_revenue is False


def test_a_tenant_the_app_is_not_connected_to_is_forbidden(linked):
    with pytest.raises(HTTPStatusException) as error:
        linked.api.get_organisations("00000000-0000-0000-0000-000000000000")
    assert error.value.status == 403


def test_every_call_is_logged_with_its_tenant_and_status(linked):
    linked.api.get_accounts(linked.tenant())
    entry = RequestLog.objects.get()
    assert (entry.method, entry.status_code, entry.organisation, entry.elements) == (
        "GET",
        200,
        linked.orgs["NZ"],
        19 + 1,
    )


def test_currencies_lists_the_organisations_enabled_currencies_base_first(linked):
    currencies = linked.api.get_currencies(linked.tenant()).currencies
    assert [(c.code.value, c.description) for c in currencies] == [
        ("NZD", "New Zealand Dollar"),
        ("AUD", "Australian Dollar"),
        ("USD", "United States Dollar"),
    ]
    assert [c.code.value for c in linked.api.get_currencies(linked.tenant("GB")).currencies] == ["GBP"]
