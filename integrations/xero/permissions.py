"""Who may see and do what in the Xero add-on. The sync's state shows documents' numbers, customers'
names and codes and Xero's messages: billing data, for people who may see invoices or run the add-on."""

from functools import wraps

from django.core.exceptions import PermissionDenied

MANAGE = "xero.manage_xero_addon"
SEE_SYNC = ("billing.view_invoice", MANAGE)


def may_see_sync(user) -> bool:
    return user.is_authenticated and any(user.has_perm(permission) for permission in SEE_SYNC)


def sync_viewer_required(view):
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not may_see_sync(request.user):
            raise PermissionDenied(
                "Seeing the Xero sync needs the billing permission to view invoices, or the Xero add-on's."
            )
        return view(request, *args, **kwargs)

    return checked
