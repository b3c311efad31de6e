"""Organisation, chart of accounts, tax rates, currencies, tracking categories and branding themes:
read-only reference data."""

from . import where
from .api_support import method_not_allowed, not_found
from .document_input import as_uuid
from .gateway import ApiCall, ApiError, ApiResult, accounting_endpoint
from .serializers import (
    account_element,
    branding_theme_element,
    currency_element,
    organisation_element,
    tax_rate_element,
    tracking_category_element,
)
from .xero_json import envelope, post_data_invalid


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


# --- Tracking categories -------------------------------------------------------------------------
@accounting_endpoint
def tracking_categories(call: ApiCall) -> ApiResult:
    """The active categories with their active options; `includeArchived=true` adds the archived ones of
    both ("Categories and options with a status of ARCHIVED will be included", Xero's specification).
    Deleted ones are never listed. `where` and `order` apply to the categories."""
    if call.request.method != "GET":
        return method_not_allowed()
    shown = ("ACTIVE", "ARCHIVED") if call.flag("includeArchived", False) else ("ACTIVE",)
    categories = call.organisation.tracking_categories.filter(status__in=shown).prefetch_related("options")
    elements = [
        tracking_category_element(category, [o for o in category.options.all() if o.status in shown])
        for category in categories
    ]
    elements = _ordered(call, filtered(call, elements))
    return ApiResult(envelope(TrackingCategories=elements), elements=len(elements))


@accounting_endpoint
def tracking_category(call: ApiCall, tracking_category_id: str) -> ApiResult:
    """One category, whatever its status (Xero's specification shows a DELETED one answered), with its
    active and archived options: asked for by its ID, nothing of it is left out but deleted options."""
    if call.request.method != "GET":
        return method_not_allowed()
    category = (
        call.organisation.tracking_categories.filter(tracking_category_id=as_uuid(tracking_category_id))
        .prefetch_related("options")
        .first()
    )
    if category is None:
        raise ApiError(not_found(f"No TrackingCategory {tracking_category_id}"))
    options = [o for o in category.options.all() if o.status != "DELETED"]
    return ApiResult(envelope(TrackingCategories=[tracking_category_element(category, options)]), elements=1)


def _ordered(call: ApiCall, elements: list[dict]) -> list[dict]:
    """`order=Field [ASC|DESC]` on one of the elements' own fields (Name, Status, ...)."""
    words = call.param("order").split()
    if not words:
        return elements
    fields = {key.lower(): key for element in elements for key, value in element.items() if isinstance(value, str)}
    field = fields.get(words[0].lower())
    if len(words) > 2 or (elements and field is None):
        raise ApiError(post_data_invalid(f"The sandbox cannot order by '{call.param('order')}'."))
    descending = len(words) > 1 and words[1].upper() == "DESC"
    return sorted(elements, key=lambda element: str(element.get(field, "")).lower(), reverse=descending)


# --- Branding themes -----------------------------------------------------------------------------
@accounting_endpoint
def branding_themes(call: ApiCall) -> ApiResult:
    """The organisation's themes, the default (SortOrder 0) first."""
    if call.request.method != "GET":
        return method_not_allowed()
    elements = [branding_theme_element(theme) for theme in call.organisation.branding_themes.all()]
    return ApiResult(envelope(BrandingThemes=elements), elements=len(elements))


@accounting_endpoint
def branding_theme(call: ApiCall, branding_theme_id: str) -> ApiResult:
    if call.request.method != "GET":
        return method_not_allowed()
    theme = call.organisation.branding_themes.filter(branding_theme_id=as_uuid(branding_theme_id)).first()
    if theme is None:
        raise ApiError(not_found(f"No BrandingTheme {branding_theme_id}"))
    return ApiResult(envelope(BrandingThemes=[branding_theme_element(theme)]), elements=1)
