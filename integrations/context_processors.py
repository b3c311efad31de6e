from django.utils.functional import SimpleLazyObject

from integrations.xero.outbound.sync_exceptions import sync_exception_unacknowledged_count
from integrations.xero.permissions import may_see_sync


def xero_sync_exceptions(request):
    """The navigation's Sync exceptions link and its count of unacknowledged failures, for people who may
    see the sync (billing or the add-on's permission).

    Lazy: the query runs only when a template shows the count, and at most once per context
    (a document panel rendered with the request, for one, does not pay for it).
    """
    user = getattr(request, "user", None)
    if user is None or not may_see_sync(user):
        return {}
    return {
        "xero_sync_visible": True,
        "xero_sync_exception_count": SimpleLazyObject(sync_exception_unacknowledged_count),
    }
