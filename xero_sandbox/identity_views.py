"""Xero's login and identity hosts: the consent page, the token and revocation endpoints, connections.

A person "signs in to Xero" on the consent page, not to the platform: none of these views needs a
platform login. The logic lives in `identity`; these views only read requests and shape answers.
"""

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import identity
from .edge import edge_checked
from .models import Organisation
from .xero_json import json_response, problem

CONSENT_TEMPLATE = "xero_sandbox/consent.html"


@dataclass
class AuthorizeParams:
    client_id: str
    redirect_uri: str
    response_type: str
    scopes: list[str]
    state: str

    @classmethod
    def from_query(cls, query) -> "AuthorizeParams":
        return cls(
            client_id=query.get("client_id", ""),
            redirect_uri=query.get("redirect_uri", ""),
            response_type=query.get("response_type", ""),
            scopes=query.get("scope", "").split(),
            state=query.get("state", ""),
        )


class ConsentForm(forms.Form):
    organisations = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.all(),
        to_field_name="tenant_id",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one organisation to connect."},
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def authorize(request):
    params = AuthorizeParams.from_query(request.GET)
    try:
        app = identity.consent_app(client_id=params.client_id, redirect_uri=params.redirect_uri)
    except identity.ConsentRefused as refused:
        # Never redirect to a URI that is not the app's: show the person what went wrong instead.
        return render(request, CONSENT_TEMPLATE, {"error": str(refused)}, status=400)
    if params.response_type != "code":
        return _back_to_app(params, error="unsupported_response_type")
    if not params.scopes or not set(params.scopes) <= identity.KNOWN_SCOPES:
        return _back_to_app(params, error="invalid_scope")
    if request.POST.get("decision") == "deny":
        return _back_to_app(params, error="access_denied")
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = identity.consent_approve(
            app=app,
            redirect_uri=params.redirect_uri,
            scopes=params.scopes,
            organisations=list(form.cleaned_data["organisations"]),
        )
        return _back_to_app(params, code=code.code)
    return render(request, CONSENT_TEMPLATE, {"app": app, "scopes": params.scopes, "form": form})


def _back_to_app(params: AuthorizeParams, **answer) -> HttpResponseRedirect:
    """Redirect to the app's callback with the answer and its state, keeping any query it has."""
    if params.state:
        answer["state"] = params.state
    scheme, netloc, path, query, fragment = urlsplit(params.redirect_uri)
    query = "&".join(part for part in (query, urlencode(answer)) if part)
    return HttpResponseRedirect(urlunsplit((scheme, netloc, path, query, fragment)))


@login_not_required
@csrf_exempt
@require_POST
def token(request):
    try:
        app = identity.client_authenticate(**_client_credentials(request))
        exchange = TOKEN_GRANTS.get(request.POST.get("grant_type", ""))
        if exchange is None:
            raise identity.OAuthError("unsupported_grant_type")
        token_set = exchange(app, request.POST)
    except identity.OAuthError as error:
        return _oauth_error(error)
    response = JsonResponse(token_set)
    response["Cache-Control"] = "no-store"
    return response


TOKEN_GRANTS = {
    "authorization_code": lambda app, form: identity.code_exchange(
        app=app, code=form.get("code", ""), redirect_uri=form.get("redirect_uri", "")
    ),
    "refresh_token": lambda app, form: identity.token_refresh(app=app, refresh_token=form.get("refresh_token", "")),
}


@login_not_required
@csrf_exempt
@require_POST
def revocation(request):
    try:
        app = identity.client_authenticate(**_client_credentials(request))
    except identity.OAuthError as error:
        return _oauth_error(error)
    identity.token_revoke(app=app, token=request.POST.get("token", ""))
    return HttpResponse(status=200)


def _client_credentials(request) -> dict:
    """HTTP Basic if the client sent it, else the form fields (as xero-python does)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise identity.OAuthError("invalid_client") from None
        return {"client_id": unquote(client_id), "client_secret": unquote(client_secret)}
    return {"client_id": request.POST.get("client_id", ""), "client_secret": request.POST.get("client_secret", "")}


def _oauth_error(error: identity.OAuthError) -> JsonResponse:
    return JsonResponse({"error": error.code}, status=400)


@login_not_required
@csrf_exempt
@edge_checked
@require_GET
def connections(request):
    try:
        access = identity.access_authenticate(authorization_header=request.headers.get("Authorization", ""))
    except identity.Unauthorized as refused:
        return problem(401, "Unauthorized", refused.detail)
    found = identity.connection_list(access=access, auth_event_id=request.GET.get("authEventId", ""))
    return json_response([identity.connection_json(connection) for connection in found])


@login_not_required
@csrf_exempt
@edge_checked
@require_http_methods(["DELETE"])
def connection(request, connection_id: str):
    try:
        access = identity.access_authenticate(authorization_header=request.headers.get("Authorization", ""))
    except identity.Unauthorized as refused:
        return problem(401, "Unauthorized", refused.detail)
    if not identity.connection_delete(access=access, connection_id=connection_id):
        return problem(404, "Not Found", f"Connection {connection_id} was not found.")
    return HttpResponse(status=204)
