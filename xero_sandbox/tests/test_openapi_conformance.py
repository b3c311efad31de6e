"""The sandbox's answers validated against Xero's own Accounting API specification."""

import datetime
import json
from urllib.parse import urlencode

import pytest
import urllib3
from openapi_core.testing import MockRequest, MockResponse
from xero_python.accounting import Contact, Invoice, Invoices, LineAmountTypes, LineItem
from xero_python.api_client.serializer import serialize

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
    http = urllib3.PoolManager(retries=False)

    def send(method, path, *, tenant="NZ", query=None, body=None):
        headers = {
            "Authorization": f"Bearer {linked.access_token.token}",
            "xero-tenant-id": linked.tenant(tenant),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        data = json.dumps(body).encode() if body is not None else None
        url = f"{sandbox_url}/api.xro/2.0{path}" + (f"?{urlencode(query)}" if query else "")
        answer = http.request(method, url, body=data, headers=headers)
        request = MockRequest(
            XERO_API_HOST, method.lower(), f"/api.xro/2.0{path}", args=query or {}, headers=headers, data=data
        )
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


# Read-only flags the SDK's models always send (Xero ignores them; a strict validator refuses them).
SDK_READ_ONLY_DEFAULTS = {"HasAttachments", "HasErrors", "HasValidationErrors"}


def without_read_only_flags(node):
    if isinstance(node, dict):
        return {k: without_read_only_flags(v) for k, v in node.items() if k not in SDK_READ_ONLY_DEFAULTS}
    if isinstance(node, list):
        return [without_read_only_flags(v) for v in node]
    return node


def test_an_invoice_batch_as_the_sdk_sends_it_is_a_valid_request_and_answer(accounting_spec, call, linked):
    acme = linked.orgs["NZ"].contacts.get(account_number="ACME01")
    invoices = Invoices(
        invoices=[
            Invoice(
                type="ACCREC",
                contact=Contact(contact_id=str(acme.contact_id)),
                invoice_number="INV-000001",
                date=datetime.date(2026, 11, 27),
                due_date=datetime.date(2026, 12, 27),
                status="AUTHORISED",
                line_amount_types=LineAmountTypes.EXCLUSIVE,
                line_items=[
                    LineItem(
                        description="Sea freight",
                        quantity=3.25,
                        unit_amount=185.5,
                        account_code="200",
                        tax_type="OUTPUT2",
                    )
                ],
            )
        ]
    )
    body = without_read_only_flags(serialize(invoices))
    request, response = call("PUT", "/Invoices", query={"summarizeErrors": "false", "unitdp": "4"}, body=body)
    assert response.status_code == 200, response.data
    accounting_spec.validate_request(request)
    accounting_spec.validate_response(request, response)


def test_the_connections_answer_matches_xeros_identity_specification(linked, sandbox_url):
    identity_spec = load("xero-identity.yaml")
    headers = {"Authorization": f"Bearer {linked.access_token.token}"}
    answer = urllib3.PoolManager(retries=False).request("GET", f"{sandbox_url}/Connections", headers=headers)
    assert answer.status == 200
    connections = json.loads(answer.data)
    assert len(connections) == 2
    # Xero answers naive UTC timestamps ("2019-12-07T18:46:19.5165400", its own example) that the
    # schema's date-time format refuses; the sandbox answers as Xero does, so mark them UTC here.
    for connection in connections:
        assert connection["createdDateUtc"][-1].isdigit()
        connection["createdDateUtc"] += "Z"
        connection["updatedDateUtc"] += "Z"
    request = MockRequest(XERO_API_HOST, "get", "/Connections", headers=headers)
    identity_spec.validate_request(request)
    identity_spec.validate_response(request, MockResponse(json.dumps(connections).encode(), status_code=200))
