"""What stands in front of every Accounting API call, as Xero's gateway does: the bearer token, its
scopes and the tenant, rate limits with their headers, idempotency keys, injected faults and the request
log. (Xero's edge, in front of all this, is `edge`.)

A handler is `handler(call: ApiCall) -> ApiResult`; `accounting_endpoint` wraps it into a view. Most
handlers read a JSON body; one that takes a file (an attachment) is wrapped with
`accounting_endpoint(raw_body=True)` and gets the body's bytes as they came.
"""

import contextlib
import functools
import hashlib
import json
import math
import random
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from . import edge
from .conf import sandbox_setting
from .models import AccessToken, App, Connection, Fault, IdempotencyRecord, Organisation, RequestLog
from .xero_json import json_response, post_data_invalid, problem

WRITE_METHODS = {"PUT", "POST"}
# The scopes that open each collection (the first segment after /api.xro/2.0/, lower-cased): any one of
# them will do, and for a GET its `.read` variant too. Apps created since March 2026 hold the granular
# `accounting.invoices`, older ones `accounting.transactions` (xero-api.md §1).
INVOICING = ("accounting.invoices", "accounting.transactions")
SCOPES_NEEDED = {
    "contacts": ("accounting.contacts",),
    "invoices": INVOICING,
    "creditnotes": INVOICING,  # allocations too
    "payments": (*INVOICING, "accounting.payments"),
    "accounts": ("accounting.settings",),
    "taxrates": ("accounting.settings",),
    "currencies": ("accounting.settings",),
    "trackingcategories": ("accounting.settings",),
    "brandingthemes": ("accounting.settings",),
    "organisation": ("accounting.settings",),
}
# Attachments, of whatever they hang on (`/Invoices/{id}/Attachments/...`), need their own scope instead:
# a token with `accounting.invoices` but not `accounting.attachments` gets 401 AuthorizationUnsuccessful.
ATTACHMENTS = ("accounting.attachments",)
API_COLLECTION = re.compile(r"/api\.xro/2\.0/(?P<collection>[^/]+)", re.IGNORECASE)
API_ATTACHMENTS = re.compile(r"/api\.xro/2\.0/[^/]+/[^/]+/attachments(?:/|$)", re.IGNORECASE)


@dataclass
class ApiCall:
    request: object
    organisation: Organisation
    app: App
    body: object = None  # the parsed JSON body of a PUT/POST (its bytes, for a raw-body handler)

    def param(self, name: str, default: str = "") -> str:
        """A query parameter, by Xero's case-insensitive name."""
        wanted = name.lower()
        for key, value in self.request.GET.items():
            if key.lower() == wanted:
                return value
        return default

    def flag(self, name: str, default: bool) -> bool:
        value = self.param(name, "")
        return default if value == "" else value.lower() == "true"


@dataclass
class ApiResult:
    payload: dict | bytes
    status: int = 200
    elements: int = 0
    headers: dict = field(default_factory=dict)
    # Set for an answer that is not JSON (an attachment's bytes): `payload` is then sent as it is.
    content_type: str = ""


class ApiError(Exception):
    """A handler's way to answer an error before or instead of a result."""

    def __init__(self, response: HttpResponse):
        self.response = response


def accounting_endpoint(handler=None, *, raw_body: bool = False):
    """Wrap `handler` into a view; `@accounting_endpoint(raw_body=True)` for one that takes the body's
    bytes (a file) instead of JSON."""
    if handler is None:
        return functools.partial(accounting_endpoint, raw_body=raw_body)
    handler.raw_body = raw_body

    @functools.wraps(handler)
    def view(request, *args):
        started = time.monotonic()
        target = edge.target(request)
        log = RequestLog(method=request.method, path=target[:500], target_length=len(target), status_code=0)
        try:
            response = _handle(request, log, handler, args)
        except ApiError as error:
            response = error.response
        log.status_code = response.status_code
        log.duration_ms = int((time.monotonic() - started) * 1000)
        log.save()
        return response

    return view


def _handle(request, log, handler, ids):
    access = _authenticate(request)
    organisation = _tenant(request, access)
    log.organisation, log.app = organisation, access.grant.app
    _authorise(request, access)
    log.save()  # counted from here on, so that calls at the same moment see each other
    try:
        _enforce_rate_limits(log)
        _enter(log)
    except ApiError as refused:  # Xero's 429s say how many calls remain too
        _refused_with_limit_headers(log, refused.response)
        raise
    try:
        fault = _take_fault(request, organisation)
        log.fault = fault.kind if fault else ""
        response = _run(request, log, handler, ids, fault)
    finally:
        Organisation.objects.filter(pk=organisation.pk).update(in_flight=F("in_flight") - 1)
    for name, value in _limit_headers(log).items():
        response[name] = value
    return response


def _authenticate(request) -> AccessToken:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(problem(401, "Unauthorized", "AuthenticationUnsuccessful"))
    access = AccessToken.objects.select_related("grant__app").filter(token=token.strip()).first()
    if access is None or access.grant.revoked_at:
        raise ApiError(problem(401, "Unauthorized", "AuthenticationUnsuccessful"))
    if access.expires_at <= timezone.now():
        raise ApiError(
            problem(401, "Unauthorized", f"TokenExpired: token expired at {access.expires_at:%m/%d/%Y %H:%M:%S}")
        )
    return access


def _authorise(request, access: AccessToken) -> None:
    """A valid token whose consent lacks the endpoint's scope: Xero's 401 AuthorizationUnsuccessful.
    Refreshing the token does not help (the scopes stay); the person must consent again."""
    needed = _scopes_needed(request.path)
    if request.method == "GET":
        needed = (*needed, *(f"{scope}.read" for scope in needed))
    if needed and not set(needed) & set(access.grant.scope_list):
        raise ApiError(_authorization_unsuccessful())


def _scopes_needed(path: str) -> tuple[str, ...]:
    if API_ATTACHMENTS.search(path):
        return ATTACHMENTS
    match = API_COLLECTION.search(path)
    return SCOPES_NEEDED.get(match["collection"].lower(), ()) if match else ()


def _authorization_unsuccessful() -> HttpResponse:
    return problem(401, "Unauthorized", "AuthorizationUnsuccessful")


def _tenant(request, access: AccessToken) -> Organisation:
    tenant_id = request.headers.get("xero-tenant-id", "").strip()
    connection = (
        Connection.objects.select_related("organisation")
        .filter(app=access.grant.app, organisation__tenant_id=_uuid_or_none(tenant_id))
        .first()
    )
    if connection is None:
        raise ApiError(problem(403, "Forbidden", "AuthenticationUnsuccessful"))
    return connection.organisation


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _window_start(minutes: float):
    return timezone.now() - timedelta(seconds=minutes * sandbox_setting("MINUTE_SECONDS"))


def _window_calls(log, minutes: float, by_app: bool = False):
    """Calls in the window that count against a limit: those that got past authentication (so not the
    edge's refusals, logged without an app) and were not refused with a 429. The app's limit counts
    the calls to all its organisations."""
    calls = RequestLog.objects.filter(at__gte=_window_start(minutes), app__isnull=False)
    calls = calls.exclude(status_code=429)
    return calls.filter(app=log.app) if by_app else calls.filter(organisation=log.organisation)


def _counted(log, minutes: float, by_app: bool = False) -> int:
    return _window_calls(log, minutes, by_app).count()


# (X-Rate-Limit-Problem, window in "minutes", the knob holding its limit, counted across the app)
RATE_LIMITS = (
    ("minute", 1, "MINUTE_LIMIT", False),
    ("day", 1440, "DAY_LIMIT", False),
    ("appminute", 1, "APP_MINUTE_LIMIT", True),
)


def _enforce_rate_limits(log) -> None:
    for problem_name, minutes, limit_name, by_app in RATE_LIMITS:
        calls = _window_calls(log, minutes, by_app)
        excess = calls.count() - sandbox_setting(limit_name)
        if excess > 0:
            raise ApiError(_too_many(log, problem_name, _seconds_until_room(calls, minutes, excess)))


def _seconds_until_room(calls, minutes: float, excess: int) -> float:
    """Until enough calls have left the sliding window for this one to fit, as Xero's Retry-After says:
    the moment the `excess`-th oldest call in it is a window old. (This call is the newest.)"""
    oldest = list(calls.order_by("at", "pk").values_list("at", flat=True)[excess - 1 : excess])
    if not oldest:  # they left the window since they were counted: there is room already
        return 1
    window = timedelta(seconds=minutes * sandbox_setting("MINUTE_SECONDS"))
    return (oldest[0] + window - timezone.now()).total_seconds()


def _enter(log) -> None:
    """Count the call in flight, or refuse it when the organisation's limit is reached (one conditional
    UPDATE: of a burst, exactly the first calls up to the limit get in, as with Xero)."""
    entered = Organisation.objects.filter(
        pk=log.organisation_id, in_flight__lt=sandbox_setting("CONCURRENT_LIMIT")
    ).update(in_flight=F("in_flight") + 1)
    if not entered:
        raise ApiError(_too_many(log, "concurrent", 1))


def _too_many(log, problem_name: str, retry_seconds: float) -> HttpResponse:
    log.rate_limit_problem = problem_name
    response = problem(429, "Too Many Requests", f"Rate limit exceeded: {problem_name}")
    response["Retry-After"] = str(max(1, math.ceil(retry_seconds)))  # whole seconds, never 0
    response["X-Rate-Limit-Problem"] = problem_name
    return response


def _refused_with_limit_headers(log, response: HttpResponse) -> None:
    """Record the refusal first, so that it is not counted in the remaining calls it reports."""
    log.status_code = response.status_code
    log.save(update_fields=["status_code", "rate_limit_problem"])
    for name, value in _limit_headers(log).items():
        response[name] = value


def _limit_headers(log) -> dict:
    return {
        "X-MinLimit-Remaining": str(max(0, sandbox_setting("MINUTE_LIMIT") - _counted(log, 1))),
        "X-DayLimit-Remaining": str(max(0, sandbox_setting("DAY_LIMIT") - _counted(log, 1440))),
        "X-AppMinLimit-Remaining": str(max(0, sandbox_setting("APP_MINUTE_LIMIT") - _counted(log, 1, by_app=True))),
    }


def _take_fault(request, organisation) -> Fault | None:
    """The first fault that applies to this call, with one use taken from it."""
    for fault in Fault.objects.filter(organisation=organisation):
        if fault.method and fault.method.upper() != request.method:
            continue
        if fault.path_contains and fault.path_contains.lower() not in request.path.lower():
            continue
        if random.random() >= fault.probability:
            continue
        if fault.remaining is not None:
            taken = Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
            if not taken:
                continue
        return fault
    return None


def _run(request, log, handler, ids, fault) -> HttpResponse:
    kind = fault.kind if fault else None
    if kind == Fault.Kind.RATE_LIMIT:
        return _too_many(log, "minute", sandbox_setting("MINUTE_SECONDS"))
    if kind == Fault.Kind.HTML_400:
        return edge.bad_request()
    if kind == Fault.Kind.AUTH_401:
        return _authorization_unsuccessful()
    if kind == Fault.Kind.SLOW:
        time.sleep(fault.delay_seconds)
    if kind == Fault.Kind.DROP:
        return _dropped_connection(request)
    if kind == Fault.Kind.ERROR_BEFORE_COMMIT:
        return _server_error()
    response = _run_idempotently(request, log, handler, ids)
    if kind == Fault.Kind.ERROR_AFTER_COMMIT:
        return _server_error()  # the write above has committed; the caller cannot know
    return response


def _run_idempotently(request, log, handler, ids) -> HttpResponse:
    key = request.headers.get("Idempotency-Key", "")
    if not key or request.method not in WRITE_METHODS:
        return _call_handler(request, log, handler, ids)
    body_hash = hashlib.sha256(_body(request, handler)).hexdigest()
    earlier = IdempotencyRecord.objects.filter(
        organisation=log.organisation,
        key=key,
        created_at__gte=timezone.now() - timedelta(seconds=sandbox_setting("IDEMPOTENCY_SECONDS")),
    ).first()
    if earlier and earlier.body_hash != body_hash:
        return post_data_invalid("The Idempotency-Key was already used with a different request body.")
    if earlier:
        return HttpResponse(
            bytes(earlier.response_body), status=earlier.status_code, content_type="application/json; charset=utf-8"
        )
    IdempotencyRecord.objects.filter(organisation=log.organisation, key=key).delete()  # an expired one
    response = _call_handler(request, log, handler, ids)
    with contextlib.suppress(IntegrityError):  # a concurrent call with the same key recorded its answer first
        IdempotencyRecord.objects.create(
            organisation=log.organisation,
            key=key,
            body_hash=body_hash,
            status_code=response.status_code,
            response_body=response.content,
        )
    return response


def _body(request, handler) -> bytes:
    """The request body. Django guards `request.body` with DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), but Xero
    takes files larger than that: a raw-body handler's body is read from the stream instead (and kept
    where `request.body` finds it, so it is read once). The handler refuses what is too large itself."""
    if getattr(handler, "raw_body", False) and not hasattr(request, "_body"):
        request._body = request.read()
    return request.body


def _call_handler(request, log, handler, ids) -> HttpResponse:
    body = None
    if request.method in WRITE_METHODS and getattr(handler, "raw_body", False):
        body = _body(request, handler)  # a file: Xero's 3.5 MB cap on a body is for JSON, not attachments
    elif request.method in WRITE_METHODS:
        if len(request.body) > sandbox_setting("MAX_BODY_BYTES"):
            return json_response({"Message": "Request Entity Too Large"}, status=413)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as error:
            return post_data_invalid(f"The request body is not valid JSON: {error}")
    call = ApiCall(request=request, organisation=log.organisation, app=log.app, body=body)
    with transaction.atomic():
        result = handler(call, *ids)
    log.elements = result.elements
    if result.content_type:
        response = HttpResponse(result.payload, status=result.status, content_type=result.content_type)
        for name, value in result.headers.items():
            response[name] = value
        return response
    return json_response(result.payload, status=result.status, **result.headers)


def _server_error() -> HttpResponse:
    return json_response({"Message": "An error occurred in Xero. Please try again."}, status=500)


def _dropped_connection(request) -> HttpResponse:
    """Close the client's connection without an answer, as a failing network or proxy does."""
    sock = _client_socket(request)
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
        return HttpResponse(status=499)  # never reaches the client; only logged here
    return _truncated_answer()


def _client_socket(request):
    """The request's socket, under gunicorn or Django's own server (wsgi.input wraps the socket file)."""
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        return sock
    stream = request.META.get("wsgi.input")
    for _ in range(3):  # LimitedStream → BufferedReader → SocketIO, each wrapping the next
        if hasattr(stream, "_sock"):
            return stream._sock
        reader = getattr(stream, "_read", None)
        stream = getattr(reader, "__self__", None) or getattr(stream, "raw", None)
    return None


def _truncated_answer() -> HttpResponse:
    """Where the socket is out of reach: headers promise a body that never comes."""

    def broken_body():
        yield b'{"Id": "'
        raise ConnectionAbortedError("sandbox fault: connection dropped")

    response = StreamingHttpResponse(broken_body(), content_type="application/json")
    response["Content-Length"] = "1000"
    return response
