"""Xero's three hosts, mirrored under /xero-sandbox/."""

from django.urls import include, path, re_path

from . import deep_links, online_invoice, router

urlpatterns = [
    re_path(r"^api\.xro/2\.0/(?P<path>.+)$", router.accounting_api),
    # Xero's web app's deep links ("Open in Xero"), when XERO_WEB_URL points at <sandbox>/go.
    re_path(r"^go/AccountsReceivable/View(?:CreditNote)?\.aspx$", deep_links.document, name="sandbox_go_document"),
    path("go/Contacts/View/<uuid:contact_id>", deep_links.contact, name="sandbox_go_contact"),
    path("go/AccountsReceivable/Search.aspx", deep_links.sales, name="sandbox_go_sales"),
    # Xero's online invoices (in.xero.com/<token>): public pages for the customer, without a sign-in.
    path("in/<str:token>", online_invoice.page, name="sandbox_online_invoice"),
    path(
        "in/<str:token>/files/<uuid:attachment_id>",
        online_invoice.attachment,
        name="sandbox_online_invoice_attachment",
    ),
    path("", include("xero_sandbox.page_urls")),  # the staff pages: orgs/, webhooks/, requests/
]

# --- identity: Xero's login host (consent), identity host (tokens) and the connections API --------
# Xero's paths are not case-sensitive and the SDK calls `/Connections`: accept both spellings.
from . import identity_views  # noqa: E402

urlpatterns += [
    path("identity/connect/authorize", identity_views.authorize, name="sandbox_identity_authorize"),
    path("connect/token", identity_views.token, name="sandbox_identity_token"),
    path("connect/revocation", identity_views.revocation, name="sandbox_identity_revocation"),
    re_path(r"^[Cc]onnections$", identity_views.connections, name="sandbox_identity_connections"),
    re_path(
        r"^[Cc]onnections/(?P<connection_id>[^/]+)$", identity_views.connection, name="sandbox_identity_connection"
    ),
]
