"""The Set-up check page (setup_check.py does the work) and its Recheck button."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from billing.selectors import several_companies
from integrations.xero.api.errors import XeroError
from integrations.xero.companies import company_chosen
from integrations.xero.link import linking
from integrations.xero.models import XeroConnection
from integrations.xero.outbound import tracking
from integrations.xero.permissions import MANAGE
from integrations.xero.setup import setup_check


@require_GET
@permission_required(MANAGE, raise_exception=True)
def setup_check_page(request):
    connection = XeroConnection.objects.current(company_chosen(request.GET))
    if connection is None:
        messages.info(
            request, "Link to Xero first: the set-up check compares the platform's codes with your Xero organisation's."
        )
        return redirect("integrations:addons")
    report = setup_check.setup_check_run(connection=connection)
    context = {
        "report": report,
        "connection": connection,
        "several": several_companies(),
        "tracking_categories": tracking.active_categories(connection),
    }
    return render(request, "xero/setup_check.html", context)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def setup_check_tracking(request):
    """Choose the tracking categories that rates' service lines and documents' branches are tracked by."""
    connection = XeroConnection.objects.current(company_chosen(request.POST))
    if connection is None:
        return redirect("integrations:addons")
    try:
        tracking.tracking_choose(
            connection=connection,
            for_service=request.POST.get("for_service", ""),
            for_branch=request.POST.get("for_branch", ""),
        )
    except tracking.TrackingRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Tracking saved: documents sent from now on carry it.")
    return _back_to_the_check(request, connection)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def setup_check_recheck(request):
    """Read the chart of accounts and tax rates again now (contacts are read on every check anyway)."""
    connection = XeroConnection.objects.current(company_chosen(request.POST))
    if connection is None:
        return redirect("integrations:addons")
    try:
        linking.reference_data_refresh(connection=connection)
    except XeroError as error:
        messages.error(request, f"Xero could not be read again: {error.message}")
    else:
        messages.success(request, "Checked again against Xero's contacts, chart of accounts and tax rates.")
    return _back_to_the_check(request, connection)


def _back_to_the_check(request, connection: XeroConnection):
    """The company's set-up check (named in the address when the form named it: there are several)."""
    named = f"?company={connection.company_id}" if request.POST.get("company") else ""
    return redirect(reverse("xero:setup_check") + named)
