from django.utils.functional import SimpleLazyObject

from integrations.xero.outbound.sync_exceptions import sync_exception_unacknowledged_count


def xero_sync_exceptions(request):
    """The navigation's count of unacknowledged sync failures, for signed-in staff.

    Lazy: the query runs only when a template shows the count, and at most once per context
    (a document panel rendered with the request, for one, does not pay for it).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {"xero_sync_exception_count": SimpleLazyObject(sync_exception_unacknowledged_count)}
