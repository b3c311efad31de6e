"""The webhook receiver Xero posts to (`XERO_WEBHOOK_URL`). It answers fast whatever it is sent: the
work is done by `webhooks.receive` (store and queue) and later by a worker."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.xero.inbound import webhooks


@csrf_exempt  # Xero signs its posts instead
@login_not_required
@require_POST
def receive(request):
    # Neither the session nor the CSRF token is touched here, so the answer sets no cookie (Xero requires none).
    request.sessionless = True  # not even to extend a signed-in browser's session (cocoonops_xero.middleware)
    length = _declared_length(request)
    if length is None:
        return HttpResponse(status=400)  # a Content-Length that is not a number: nothing is read
    if length > settings.XERO_WEBHOOK_MAX_BYTES:
        return HttpResponse(status=413)
    body = request.body
    if not webhooks.webhook_signature_valid(body=body, signature=request.headers.get("x-xero-signature", "")):
        return HttpResponse(status=401)
    webhooks.webhook_receive(body=body)
    return HttpResponse(status=200)


def _declared_length(request) -> int | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length >= 0 else None
