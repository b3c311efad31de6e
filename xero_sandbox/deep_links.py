"""Xero's web app deep links (go.xero.com), answered with the sandbox's own pages, so that "Open in Xero"
leads somewhere when the sandbox is the configured Xero (XERO_WEB_URL = <sandbox>/go)."""

import uuid

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect

from .models import Contact, Document, Organisation


def document(request):
    """/AccountsReceivable/View.aspx?InvoiceID=… and /ViewCreditNote.aspx?creditNoteID=…"""
    given = request.GET.get("InvoiceID") or request.GET.get("creditNoteID") or ""
    found = get_object_or_404(Document, document_id=_uuid(given))
    return redirect("xero_sandbox:document_detail", org_pk=found.organisation_id, pk=found.pk)


def contact(request, contact_id):
    found = get_object_or_404(Contact, contact_id=contact_id)
    return redirect("xero_sandbox:contact_list", org_pk=found.organisation_id)


def sales(request):
    """Xero's sales search opens in the organisation the browser last used; the sandbox has no such memory."""
    first = Organisation.objects.order_by("pk").first()
    if first is None:
        return redirect("xero_sandbox:organisation_list")
    return redirect("xero_sandbox:invoice_list", org_pk=first.pk)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Http404("No such document in the sandbox.") from None
