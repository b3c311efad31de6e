"""What the Add Ons page says about the Xero add-on."""

from django.conf import settings

from integrations.xero.api import pacing
from integrations.xero.models import XeroConnection


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
    connection = XeroConnection.objects.select_related("linked_by").current()
    return {
        "connection": connection,
        "pause": pacing.paused(str(connection.tenant_id)) if connection else None,
        "problems": configuration_problems(),
        "redirect_uri": settings.XERO_REDIRECT_URI,
    }
