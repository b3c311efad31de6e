"""What the Add Ons page says about the Xero add-on."""

from django.conf import settings

from billing.models import Company
from integrations.xero.api import pacing
from integrations.xero.api.errors import no_answer
from integrations.xero.models import Backfill, XeroConnection
from integrations.xero.outbound import backfill


def configuration_problems() -> list[str]:
    """Settings missing for linking, explained for the administrator (instead of a crash)."""
    problems = []
    if not settings.XERO_CLIENT_ID or not settings.XERO_CLIENT_SECRET:
        problems.append(
            "The Xero app's credentials are not configured: set XERO_CLIENT_ID and XERO_CLIENT_SECRET "
            "(from your app at developer.xero.com) and restart."
        )
    if not settings.DEBUG and not settings.XERO_TOKEN_KEYS:
        problems.append("XERO_TOKEN_KEYS is not set: Xero tokens are stored encrypted and need a key.")
    return problems


def xero_card() -> dict:
    """The add-on's card: what the settings lack, and one link per company (its name shown when several)."""
    companies = list(Company.objects.order_by("pk")) or [Company.objects.default()]
    links = {link.company_id: link for link in XeroConnection.objects.live().select_related("linked_by")}
    return {
        "links": [company_link(company, links.get(company.pk)) for company in companies],
        "any_linked": bool(links),
        "several": len(companies) > 1,
        "problems": configuration_problems(),
        "redirect_uri": settings.XERO_REDIRECT_URI,
        "api_url": settings.XERO_API_URL,
        "sandbox_off": "/xero-sandbox" in settings.XERO_API_URL and not settings.XERO_SANDBOX_ENABLED,
    }


def company_link(company: Company, connection: XeroConnection | None) -> dict:
    pause = pacing.paused(str(connection.tenant_id)) if connection else None
    return {
        "company": company,
        "connection": connection,
        "pause": pause,
        "day_reserve": day_reserve_hold(connection, pause),
        "not_answering": connection is not None and not_answering(connection),
        "backfill": _latest_backfill(connection),
    }


def _latest_backfill(connection: XeroConnection | None) -> dict | None:
    """The last request to send the company's earlier documents to this organisation, and how far it got."""
    latest = Backfill.objects.filter(tenant_id=connection.tenant_id).order_by("-pk").first() if connection else None
    return {"request": latest, "progress": backfill.backfill_progress(latest)} if latest else None


def day_reserve_hold(connection: XeroConnection | None, pause) -> pacing.Hold | None:
    """Sending held by the day's reserve (the last calls of the organisation's day kept for reading payments and
    voids back), as sending sees it: read from what Xero last said, so that showing the page never calls Xero.
    Not shown while a pause that lasts as long says that sending waits."""
    if connection is None or connection.status != XeroConnection.Status.ACTIVE:
        return None
    hold = pacing.day_reserve_hold(str(connection.tenant_id))
    if hold is None or (pause is not None and pause.paused_until >= hold.until):
        return None
    return hold


def not_answering(connection: XeroConnection) -> bool:
    """Xero did not answer the last call made to it: read from what the calls recorded (xero_api.py), so
    that showing the page never waits for Xero."""
    failed_at, answered_at = connection.last_error_at, connection.last_success_at
    return (
        connection.status == XeroConnection.Status.ACTIVE
        and failed_at is not None
        and (answered_at is None or failed_at > answered_at)
        and no_answer(connection.last_error)
    )
