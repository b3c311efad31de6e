from django.shortcuts import render

from integrations.xero.link.addon_card import xero_card
from integrations.xero.permissions import may_see_sync

from .models import AddOn, addon_enabled


def addons(request):
    """The platform's add-ons, each with its state and what can be done next."""
    xero_enabled = addon_enabled(AddOn.Key.XERO)
    return render(
        request,
        "integrations/addons.html",
        {
            "xero_enabled": xero_enabled,
            "xero_visible": may_see_sync(request.user),
            "xero": xero_card() if xero_enabled and may_see_sync(request.user) else None,
        },
    )
