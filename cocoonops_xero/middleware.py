from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


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
