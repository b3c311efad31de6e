"""The Sync exceptions page: every document that failed to reach Xero, and acknowledging one.

Retrying goes through the existing `xero:retry` view (views.py), as it does from the document page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from . import exceptions, sync, tasks
from .models import SyncRecord
from .views import MANAGE

SHOW_ALL = "all"
PAGE_SIZE = 50


@require_GET
def sync_exception_list(request):
    show_all = request.GET.get("show") == SHOW_ALL
    records = exceptions.sync_exception_list(include_acknowledged=show_all)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "xero/exceptions.html", {
        "show_all": show_all,
        "counts": exceptions.sync_exception_counts(),
        "records": page.object_list,
        "page_obj": page,
        "paginator": page.paginator,
        "is_paginated": page.has_other_pages(),
    })


@require_POST
@permission_required(MANAGE, raise_exception=True)
def sync_exception_acknowledge(request, pk):
    record = get_object_or_404(SyncRecord.objects.select_related("invoice", "acknowledged_by"), pk=pk)
    document = record.invoice
    if record.state != SyncRecord.State.FAILED:
        # Sent or retried since the page was loaded: there is nothing left to acknowledge.
        messages.info(request, f"{document} is no longer failing ({record.get_state_display().lower()}); nothing to acknowledge.")
    elif record.acknowledged_at:
        who = record.acknowledged_by.get_username() if record.acknowledged_by else "someone"
        messages.info(request, f"{document} was already acknowledged by {who}.")
    else:
        sync.acknowledge(record=record, user=request.user)
        messages.success(request, f"Acknowledged the failure of {document}. It stays under “All” until it is sent to Xero.")
    return redirect(_back_to_list(request))


@require_POST
@permission_required(MANAGE, raise_exception=True)
def sync_exception_link_clash(request, pk):
    """“This is ours — link it”: the person has looked at the document Xero holds under this number."""
    record = get_object_or_404(SyncRecord.objects.select_related("invoice"), pk=pk)
    if sync.link_clash(record=record):
        tasks.read_back_states.delay([record.pk])
        messages.success(request, f"{record.invoice} is now linked to the document Xero holds under its number; "
                                  "its status in Xero is being read back.")
    else:
        messages.info(request, f"{record.invoice} no longer waits for that decision (sent, retried or unlinked since).")
    return redirect(_back_to_list(request))


def _back_to_list(request) -> str:
    """The list as the person left it (the filter they were on)."""
    url = reverse("xero:sync_exceptions")
    return f"{url}?show={SHOW_ALL}" if request.POST.get("show") == SHOW_ALL else url
