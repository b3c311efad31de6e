"""Routes `/api.xro/2.0/<path>` to its handler. Xero's paths ignore case (the SDK itself asks for
`/Connections`), which Django's URL patterns cannot express reversibly, so the Accounting API gets
one URL pattern and this table, keyed by the lower-cased path with `*` for an id or number.
Xero's edge (`edge`) looks at every request first, known path or not."""

from django.contrib.auth.decorators import login_not_required
from django.views.decorators.csrf import csrf_exempt

from . import api_attachments, api_contacts, api_documents, api_reference
from .edge import edge_checked
from .xero_json import json_response

ROUTES = {
    "organisation": api_reference.organisation,
    "accounts": api_reference.accounts,
    "taxrates": api_reference.tax_rates,
    "currencies": api_reference.currencies,
    "trackingcategories": api_reference.tracking_categories,
    "trackingcategories/*": api_reference.tracking_category,
    "brandingthemes": api_reference.branding_themes,
    "brandingthemes/*": api_reference.branding_theme,
    **api_contacts.ROUTES,
    **api_documents.ROUTES,
    **api_attachments.ROUTES,
}


@csrf_exempt
@login_not_required
@edge_checked
def accounting_api(request, path: str):
    segments = [segment for segment in path.split("/") if segment]
    for route, handler in ROUTES.items():
        parts = route.split("/")
        if len(parts) == len(segments) and all(
            p == "*" or p == s.lower() for p, s in zip(parts, segments, strict=True)
        ):
            ids = [s for p, s in zip(parts, segments, strict=True) if p == "*"]
            return handler(request, *ids)
    return json_response({"Title": "Not Found", "Status": 404, "Detail": f"No such resource: /{path}"}, status=404)
