from django.template.loader import render_to_string

from billing.panels import register_document_panel

from .models import SyncRecord


@register_document_panel
def xero_sync_panel(request, invoice) -> str:
    record = SyncRecord.objects.filter(invoice=invoice).first()
    if record is None:
        return ""
    return render_to_string("xero/sync_panel.html", {"record": record, "invoice": invoice}, request=request)
