from django.db.models import Case, F, Value, When
from django.template.loader import render_to_string

from billing.panels import (
    register_account_panel,
    register_document_list_annotation,
    register_document_panel,
    register_issue_destination,
)
from integrations.models import AddOn, addon_enabled
from integrations.xero import web_links
from integrations.xero.models import PdfAttachment, SyncRecord, XeroConnection
from integrations.xero.outbound import branding

ATTEMPTS_SHOWN = 10


@register_document_panel
def xero_sync_panel(request, invoice) -> str:
    record = SyncRecord.objects.filter(invoice=invoice).first()
    if record is None:
        return ""
    attempts = list(record.attempt_log.all()[:ATTEMPTS_SHOWN])
    in_xero = web_links.document_url(record.xero_id, credit_note=invoice.is_credit_note) if record.xero_id else ""
    return render_to_string(
        "xero/sync_panel.html",
        {
            "record": record,
            "invoice": invoice,
            "attempts": attempts,
            "in_xero": in_xero,
            "pdf": PdfAttachment.objects.filter(record=record).first(),
        },
        request=request,
    )


@register_document_list_annotation
def xero_sync_state(documents):
    labels = [
        When(xero_sync__state=state, then=Value(f"Xero: {label.lower()}")) for state, label in SyncRecord.State.choices
    ]
    return documents.annotate(
        accounting_state=F("xero_sync__state"), accounting_state_label=Case(*labels, default=Value(""))
    )


@register_issue_destination
def xero_destination(invoice) -> str:
    """Where the Issue confirmation says the document goes next, in the platform's words and Xero's."""
    if not addon_enabled(AddOn.Key.XERO):
        return ""
    connection = XeroConnection.objects.current(invoice.company)  # the issuing company's organisation
    if connection is None:
        return ""
    kind = invoice.get_kind_display().lower()
    if connection.status != XeroConnection.Status.ACTIVE:
        return f"The Xero add-on sends it once Xero is linked again (Add Ons: {connection.get_status_display()})."
    return (
        f"The Xero add-on sends it to {connection.tenant_name} in Xero, as an approved (AUTHORISED) {kind} "
        "under the same number, usually within seconds; this page shows when it is there."
    )


@register_account_panel
def xero_branding_panel(request, account) -> str:
    """The branding theme the account's documents carry in each linked organisation that has themes."""
    if not addon_enabled(AddOn.Key.XERO):
        return ""
    connections = XeroConnection.objects.active().select_related("company").order_by("company__name")
    rows = [row for row in branding.account_branding(account, connections) if row["themes"]]
    if not rows:
        return ""
    return render_to_string(
        "xero/branding_panel.html",
        {"account": account, "rows": rows, "may_change": request.user.has_perm("billing.change_billingaccount")},
        request=request,
    )
