from django.db.models import Case, F, Value, When
from django.template.loader import render_to_string

from billing.panels import register_document_list_annotation, register_document_panel
from integrations.xero import web_links
from integrations.xero.models import SyncRecord

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
        {"record": record, "invoice": invoice, "attempts": attempts, "in_xero": in_xero},
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
