"""Thin views over linking.py: LINK TO MY ACCOUNT, the OAuth callback, choosing an organisation, disconnect."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from billing.models import Company
from billing.selectors import several_companies
from integrations.xero.api.errors import XeroError
from integrations.xero.companies import company_chosen
from integrations.xero.link import linking
from integrations.xero.link.addon_card import configuration_problems
from integrations.xero.models import XeroConnection
from integrations.xero.permissions import MANAGE


@require_POST
@permission_required(MANAGE, raise_exception=True)
def link(request):
    problems = configuration_problems()
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect("integrations:addons")
    return redirect(linking.link_start(session=request.session, company=company_chosen(request.POST)))


@require_GET
@permission_required(MANAGE, raise_exception=True)
def callback(request):
    try:
        outcome = linking.link_callback(session=request.session, params=request.GET, user=request.user)
    except linking.StateMismatch as error:
        raise PermissionDenied(str(error)) from None
    except XeroError as error:
        messages.error(request, _link_failure(error))
        return redirect("integrations:addons")
    if outcome.cancelled:
        messages.warning(request, "Linking was cancelled on Xero's page; nothing changed.")
        return redirect("integrations:addons")
    if outcome.choices:
        return redirect("xero:choose")
    return _linked(request, outcome)


@permission_required(MANAGE, raise_exception=True)
def choose(request):
    choices = linking.link_pending_choices(session=request.session)
    if not choices:
        messages.error(request, "There is no organisation to choose: press LINK TO MY ACCOUNT again.")
        return redirect("integrations:addons")
    company, several = linking.link_company(session=request.session), several_companies()
    if request.method == "POST":
        try:
            books = _books_chosen(request.POST, choices, company) if several else _one_chosen(request.POST, company)
            outcome = linking.link_choose(session=request.session, books=books, user=request.user)
        except XeroError as error:
            messages.error(request, error.message)
            return redirect(
                "xero:choose" if linking.link_pending_choices(session=request.session) else "integrations:addons"
            )
        return _linked(request, outcome)
    current = XeroConnection.objects.current(company)
    context = {"choices": choices, "current": current, "company": company, "several": several}
    if several:
        context["companies"] = list(Company.objects.order_by("pk"))
    return render(request, "xero/choose.html", context)


def _one_chosen(data, company: Company) -> dict:
    """One company: the organisation picked (a radio button) books it."""
    return {data.get("tenant_id", ""): company}


def _books_chosen(data, choices, company: Company) -> dict:
    """Several companies: each organisation's drop-down says which company it books, or none for now."""
    companies = {str(one.pk): one for one in Company.objects.all()}
    books = {}
    for tenant in choices:
        chosen = data.get(f"books-{tenant.tenant_id}", "")
        if chosen:
            if chosen not in companies:
                raise XeroError("Pick one of the companies listed.", permanent=True)
            books[tenant.tenant_id] = companies[chosen]
    return books


@require_POST
@permission_required(MANAGE, raise_exception=True)
def disconnect(request):
    connection = XeroConnection.objects.current(company_chosen(request.POST))
    if connection is None:
        messages.info(request, "Xero is not linked.")
    else:
        linking.connection_disconnect(connection=connection)
        messages.success(
            request,
            f"Disconnected from {connection.tenant_name}. "
            "Documents issued from now on wait until Xero is linked again.",
        )
    return redirect("integrations:addons")


def _link_failure(error: XeroError) -> str:
    if error.permanent:
        return f"Linking to Xero failed: {error.message}"
    # Xero's answer to the callback's reads was a passing failure (a 429, a timeout): nothing retries a
    # consent by itself, and nothing was linked. (Passing failures' messages end "; it will be tried
    # again", written for the sync: not so here.)
    what = error.message.split("; ")[0].rstrip(".")
    return (
        f"Linking to Xero failed for a passing reason ({what}). "
        "Nothing was linked: press LINK TO MY ACCOUNT again in a minute."
    )


def _linked(request, outcome):
    connection, several = outcome.connection, several_companies()
    for linked in [outcome, *outcome.also]:
        books = f" for {linked.connection.company}" if several else ""
        messages.success(request, f"Linked to Xero organisation {linked.connection.tenant_name}{books}.")
        if linked.replaced:
            messages.warning(
                request,
                f"This replaces the link to {linked.replaced.tenant_name}. Documents already sent there stay "
                f"in {linked.replaced.tenant_name}; "
                f"only documents issued from now on go to {linked.connection.tenant_name}.",
            )
    # What Xero would refuse, before the first document goes across.
    return redirect(reverse("xero:setup_check") + (f"?company={connection.company_id}" if several else ""))
