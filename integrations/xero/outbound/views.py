"""Thin views over sync_exceptions.py: the Sync exceptions page, acknowledging one, linking a number
clash, and retrying a document (from this page and from the document's Xero panel)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from billing.models import Company
from billing.selectors import several_companies
from integrations.xero.companies import company_chosen
from integrations.xero.models import SyncRecord
from integrations.xero.outbound import sync_exceptions
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
