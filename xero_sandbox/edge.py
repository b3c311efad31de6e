"""Xero's edge: the load balancers in front of the Accounting API and `/connections`, which answer some
requests before the API sees them — without authentication, rate limits or JSON.

A request whose path and query are longer than EDGE_MAX_REQUEST_CHARS (about 2,050 characters after
URL-encoding, xero-api.md §10) gets a 404 HTML page, not a validation error: a client that reads it as
"no such record" is fooled. The sandbox logs the refusal (benchmarks count them) with its organisation
when the tenant header names one, but with no app: only calls that reached the API's authentication
count against the rate limits (`gateway._counted`), and the edge answers before that.
"""

import functools
import time
import uuid
from urllib.parse import urlsplit

from django.http import HttpResponse
from django.utils.encoding import iri_to_uri

from .conf import sandbox_setting
from .models import Organisation, RequestLog

NOT_FOUND_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>404 - Not Found</title></head>\n"
    "<body><h1>404 - Not Found</h1><p>The resource you're looking for cannot be found.</p></body></html>\n"
)

# What the edge answers now and then to a request it did not like (a Fault of kind html_400 plays it):
# a client that decodes every 400 as JSON breaks on it (xero-api.md §10).
BAD_REQUEST_PAGE = "<html><body><h1>Bad Request</h1></body></html>\n"


def bad_request() -> HttpResponse:
    return HttpResponse(BAD_REQUEST_PAGE, status=400, content_type="text/html")


def target(request) -> str:
    """The request target (path, `?`, query) as the client sent it, URL-encoded.

    The raw target when the server passes it on (gunicorn's RAW_URI, others' REQUEST_URI): re-quoting
    leaves its %-escapes alone and encodes what the client left bare (a space, a `"`), as its HTTP
    library would have. Django's own servers do not pass it on: then `get_full_path()`, which re-encodes
    the decoded path and keeps the query string as sent."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if not raw:
        return request.get_full_path()
    if "://" in raw.split("?", 1)[0]:  # an absolute-form target: the authority is not part of the length
        parts = urlsplit(raw)
        raw = parts.path + (f"?{parts.query}" if parts.query else "")
    return iri_to_uri(raw)


def target_length(request) -> int:
    return len(target(request))


def edge_checked(view):
    """Answer as Xero's edge before `view` runs, when the request is too long for it."""

    @functools.wraps(view)
    def checked(request, *args, **kwargs):
        refusal = _refusal(request)
        return refusal if refusal is not None else view(request, *args, **kwargs)

    return checked


def _refusal(request) -> HttpResponse | None:
    started = time.monotonic()
    sent = target(request)
    if len(sent) <= sandbox_setting("EDGE_MAX_REQUEST_CHARS"):
        return None
    response = HttpResponse(NOT_FOUND_PAGE, status=404, content_type="text/html")
    RequestLog.objects.create(
        organisation=_named_organisation(request),
        method=request.method,
        path=sent[:500],
        target_length=len(sent),
        status_code=response.status_code,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    return response


def _named_organisation(request) -> Organisation | None:
    """The organisation the tenant header names, unchecked: for the log only, the edge trusts nothing."""
    try:
        tenant_id = uuid.UUID(request.headers.get("xero-tenant-id", "").strip())
    except ValueError:
        return None
    return Organisation.objects.filter(tenant_id=tenant_id).first()
