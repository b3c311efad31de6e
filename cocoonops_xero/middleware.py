from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest


class StaffOnlyMiddleware:
    """The platform's screens are for the operator's staff only.

    `LoginRequiredMiddleware` has already sent anonymous users to the login page (except for views
    marked `login_not_required`); a signed-in user who is not staff is refused here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user.is_staff:
            raise PermissionDenied("Only the operator's staff can use this page.")
        return None


class RefuseNulInQueryMiddleware:
    """A search or filter value holding a NUL character is refused (400) before any view reads it: no text
    stored here can hold one, and PostgreSQL fails a query that compares with one (a 500 on the address book
    search and in every admin list's search and filters)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return HttpResponseBadRequest(
                "A search or filter holds a NUL character (U+0000), which no text here can contain.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, which with SESSION_SAVE_EVERY_REQUEST (the idle timeout) saves the session and sets its
    cookie on every answer; a view marked `sessionless` (the signed webhook, which Xero calls without
    cookies and which must set none) is answered without touching it."""

    def process_response(self, request, response):
        if getattr(request, "sessionless", False):
            return response
        return super().process_response(request, response)
