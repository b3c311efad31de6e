"""Thin views over sync_exceptions.py: the Sync exceptions page, acknowledging one, linking a number
clash, and retrying a document (from this page and from the document's Xero panel); and over branding.py:
choosing a billing account's branding theme (from its page); and over backfill.py: sending earlier documents
(from the Add Ons page)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from billing.models import BillingAccount, Company
from billing.selectors import several_companies
from integrations.xero.api.errors import XeroError
from integrations.xero.companies import company_chosen
from integrations.xero.models import Backfill, PdfAttachment, SyncRecord, XeroConnection
from integrations.xero.outbound import backfill, branding, pdfs, sync_exceptions
from integrations.xero.permissions import MANAGE, sync_viewer_required

SHOW_ALL = "all"
PAGE_SIZE = 50


@require_GET
@sync_viewer_required
def sync_exception_list(request):
    show_all = request.GET.get("show") == SHOW_ALL
    companies = list(Company.objects.all()) if several_companies() else []
    company = company_chosen(request.GET) if companies and request.GET.get("company") else None
    records = sync_exceptions.sync_exception_list(include_acknowledged=show_all, company=company)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "xero/sync_exceptions.html",
        {
            "show_all": show_all,
            "companies": companies,
            "company": company,
            "counts": sync_exceptions.sync_exception_counts(company=company),
            "records": page.object_list,
            "page_obj": page,
            "paginator": page.paginator,
            "is_paginated": page.has_other_pages(),
        },
    )


@require_POST
@permission_required("billing.change_billingaccount", raise_exception=True)
def branding_choose(request, pk):
    """The branding theme of a billing account's documents in one organisation (from its page)."""
    account = get_object_or_404(BillingAccount, pk=pk)
    connection = get_object_or_404(XeroConnection.objects.active(), pk=request.POST.get("connection") or 0)
    try:
        choice = branding.theme_choose(
            billing_account=account, connection=connection, theme_id=request.POST.get("theme", "")
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        theme = choice.theme_name if choice else "the organisation's default"
        messages.success(request, f"{account.code}'s documents carry {theme} in {connection.tenant_name} from now on.")
    return redirect("billing:account_edit", pk=account.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def sync_exception_acknowledge(request, pk):
    record = get_object_or_404(SyncRecord.objects.select_related("invoice", "acknowledged_by"), pk=pk)
    document = record.invoice
    outcome = sync_exceptions.sync_exception_acknowledge(record=record, user=request.user)
    if outcome == sync_exceptions.NOT_FAILING:
        messages.info(
            request, f"{document} is no longer failing ({record.get_state_display().lower()}); nothing to acknowledge."
        )
    elif outcome == sync_exceptions.ALREADY_ACKNOWLEDGED:
        who = record.acknowledged_by.get_username() if record.acknowledged_by else "someone"
        messages.info(request, f"{document} was already acknowledged by {who}.")
    else:
        messages.success(
            request, f"Acknowledged the failure of {document}. It stays under “All” until it is sent to Xero."
        )
    return redirect(_back_to_list(request))


@require_POST
@permission_required(MANAGE, raise_exception=True)
def sync_exception_link_clash(request, pk):
    """“This is ours — link it”: the person has looked at the document Xero holds under this number."""
    record = get_object_or_404(SyncRecord.objects.select_related("invoice"), pk=pk)
    if sync_exceptions.sync_exception_link_clash(record=record):
        messages.success(
            request,
            f"{record.invoice} is now linked to the document Xero holds under its number; "
            "its status in Xero is being read back.",
        )
    else:
        messages.info(request, f"{record.invoice} no longer waits for that decision (sent, retried or unlinked since).")
    return redirect(_back_to_list(request))


@require_POST
@permission_required(MANAGE, raise_exception=True)
def retry(request, pk):
    record = get_object_or_404(SyncRecord.objects.select_related("invoice"), pk=pk)
    sync_exceptions.sync_record_retry(record=record)
    messages.success(request, f"{record.invoice} will be sent to Xero again.")
    back = request.POST.get("next", "")
    # Only a path on this site (the page the button was on); HttpResponseRedirect, not redirect(), which
    # would take a word such as "0" for a view's name and fail with a 500.
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(back)
    return redirect(record.invoice)


def _back_to_list(request) -> str:
    """The list as the person left it (the filter they were on)."""
    url = reverse("xero:sync_exceptions")
    return f"{url}?show={SHOW_ALL}" if request.POST.get("show") == SHOW_ALL else url


# --- Earlier documents, on request (backfill.py) -----------------------------------------------------------
class EarlierDocumentsForm(forms.Form):
    issued_from = forms.DateField(
        label="Send documents issued on or after",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Open (issued, unpaid) invoices and credit notes that have never been to Xero.",
    )


@require_GET
@permission_required(MANAGE, raise_exception=True)
def backfill_preview(request):
    """Choose the first day; then see how many documents and their total before confirming."""
    company = company_chosen(request.GET)
    connection = get_object_or_404(XeroConnection.objects.active(), company=company)
    form = EarlierDocumentsForm(request.GET if "issued_from" in request.GET else None)
    preview = backfill.backfill_preview(company, form.cleaned_data["issued_from"]) if form.is_valid() else None
    return render(
        request,
        "xero/backfill_preview.html",
        {"company": company, "connection": connection, "form": form, "preview": preview},
    )


@require_POST
@permission_required(MANAGE, raise_exception=True)
def backfill_start(request):
    company = company_chosen(request.POST)
    connection = get_object_or_404(XeroConnection.objects.live(), company=company)
    form = EarlierDocumentsForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.get("issued_from") or "Choose the first day of documents to send.")
        started = backfill.backfill_start(
            connection=connection, issued_from=form.cleaned_data["issued_from"], user=request.user
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect(f"{reverse('xero:backfill')}?company={company.pk}")
    return redirect("xero:backfill_detail", pk=started.pk)


@require_GET
@permission_required(MANAGE, raise_exception=True)
def backfill_detail(request, pk):
    started = get_object_or_404(Backfill.objects.select_related("company", "requested_by"), pk=pk)
    return render(
        request, "xero/backfill_detail.html", {"backfill": started, "progress": backfill.backfill_progress(started)}
    )


# --- Xero's online invoice (pdfs.py) -----------------------------------------------------------------------
@require_GET
@sync_viewer_required
def online_invoice(request, pk):
    """Open Xero's online invoice of a sent invoice whose PDF is attached (its address asked of Xero once)."""
    attachment = get_object_or_404(
        PdfAttachment.objects.select_related("record"),
        record__pk=pk,
        record__state=SyncRecord.State.SENT,
        state=PdfAttachment.State.ATTACHED,
    )
    try:
        url = pdfs.online_invoice_open(attachment=attachment)
        why = "the organisation is not linked now"
    except XeroError as error:
        url, why = "", error.message
    if url:
        return HttpResponseRedirect(url)  # Xero's own address for the customer's view
    messages.error(request, f"Xero's online invoice could not be opened: {why}.")
    return redirect("billing:invoice_detail", pk=attachment.record.invoice_id)
