"""Organisation, chart of accounts, tax rates and currencies: read-only reference data."""

from . import where
from .gateway import ApiCall, ApiResult, accounting_endpoint
from .serializers import account_element, currency_element, organisation_element, tax_rate_element
from .xero_json import envelope


def filtered(call: ApiCall, elements: list[dict]) -> list[dict]:
    """Apply the `where` query parameter, if any."""
    expression = call.param("where")
    if not expression:
        return elements
    groups = where.parse(expression)
    return [element for element in elements if where.matches(element, groups)]


@accounting_endpoint
def organisation(call: ApiCall) -> ApiResult:
    return ApiResult(envelope(Organisations=[organisation_element(call.organisation)]), elements=1)


@accounting_endpoint
def accounts(call: ApiCall) -> ApiResult:
    elements = filtered(call, [account_element(a) for a in call.organisation.accounts.all()])
    return ApiResult(envelope(Accounts=elements), elements=len(elements))


@accounting_endpoint
def tax_rates(call: ApiCall) -> ApiResult:
    elements = filtered(call, [tax_rate_element(r) for r in call.organisation.tax_rates.all()])
    return ApiResult(envelope(TaxRates=elements), elements=len(elements))


@accounting_endpoint
def currencies(call: ApiCall) -> ApiResult:
    """The organisation's enabled currencies, base currency first (Xero lists only these)."""
    elements = filtered(call, [currency_element(code) for code in call.organisation.enabled_currencies()])
    return ApiResult(envelope(Currencies=elements), elements=len(elements))
