"""The sandbox's answers validated against Xero's own Accounting API specification."""


import json

import pytest
import urllib3
from openapi_core.testing import MockRequest, MockResponse

from .openapi_specs import load

XERO_API_HOST = "https://api.xero.com"
# openapi-core cannot check the OAuth2 scheme itself and says so on every call; the bearer token is
# checked by the sandbox's own tests.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


@pytest.fixture
def accounting_spec():
    return load("xero_accounting.yaml")


@pytest.fixture
def call(linked, sandbox_url):
    """Send a raw request to the sandbox; return it and its answer as openapi-core sees them."""
    http = urllib3.PoolManager()

    def send(method, path, *, tenant="NZ", query=None, body=None):
        headers = {
            "Authorization": f"Bearer {linked.access_token.token}",
            "xero-tenant-id": linked.tenant(tenant),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        data = json.dumps(body).encode() if body is not None else None
        answer = http.request(method, f"{sandbox_url}/api.xro/2.0{path}", fields=query, body=data, headers=headers)
        request = MockRequest(XERO_API_HOST, method.lower(), f"/api.xro/2.0{path}", args=query or {}, headers=headers, data=data)
        response = MockResponse(answer.data, status_code=answer.status, headers=dict(answer.headers))
        return request, response

    return send


@pytest.mark.parametrize(
    "path, query",
    [
        ("/Organisation", None),
        ("/Accounts", None),
        ("/Accounts", {"where": 'Class=="REVENUE"'}),
        ("/TaxRates", None),
    ],
)
def test_reference_data_answers_match_xeros_specification(accounting_spec, call, path, query):
    request, response = call("GET", path, query=query)
    assert response.status_code == 200
    accounting_spec.validate_request(request)
    accounting_spec.validate_response(request, response)
