"""Xero's online invoice (in.xero.com/<token>): the public page a customer opens from the link an app got
with `GET /Invoices/{id}/OnlineInvoice` (`api_attachments.online_invoice`), and the files attached to the
invoice with IncludeOnline. No sign-in: the unguessable token in the URL is the only key, for the page and
for each file. Files without IncludeOnline are not shown nor served here."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from .models import Attachment, Document


@login_not_required
@require_GET
def page(request, token: str):
    document = _document(token)
    return render(
        request,
        "xero_sandbox/online_invoice.html",
        {
            "document": document,
            "organisation": document.organisation,
            "lines": document.lines.all(),
            "attachments": document.attachments.filter(include_online=True).defer("content"),
        },
    )


@login_not_required
@require_GET
def attachment(request, token: str, attachment_id):
    found = Attachment.objects.filter(
        document=_document(token), attachment_id=attachment_id, include_online=True
    ).first()
    if found is None:
        raise Http404("No such file on this invoice.")
    return download(found)


def download(attachment: Attachment) -> HttpResponse:
    """The file, always as a download: a file someone uploaded is never shown as a page of this site."""
    response = HttpResponse(bytes(attachment.content), content_type=attachment.mime_type)
    response["Content-Disposition"] = content_disposition_header(True, attachment.file_name)
    return response


def _document(token: str) -> Document:
    found = (
        Document.objects.select_related("organisation", "contact")
        .filter(online_invoice_token=token, type=Document.INVOICE)
        .first()
    )
    if found is None:
        raise Http404("No such online invoice.")
    return found
