"""The invoice, credit note, payment and allocation answers validated against Xero's own
Accounting API specification (requests as the SDK would send them)."""

import json
from urllib.parse import urlencode

import pytest
import urllib3
from openapi_core.testing import MockRequest, MockResponse

from .books_factories import contact, document
from .openapi_specs import load

XERO_API_HOST = "https://api.xero.com"
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


@pytest.fixture
def send(linked, sandbox_url):
    http = urllib3.PoolManager(retries=False)
    spec = load("xero_accounting.yaml")

    def send(method, path, *, query=None, body=None, status=200):
        headers = {
            "Authorization": f"Bearer {linked.access_token.token}",
            "xero-tenant-id": linked.tenant(),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        data = json.dumps(body).encode() if body is not None else None
        url = f"{sandbox_url}/api.xro/2.0{path}" + (f"?{urlencode(query)}" if query else "")
        answer = http.request(method, url, body=data, headers=headers)
        assert answer.status == status, answer.data
        request = MockRequest(
            XERO_API_HOST, method.lower(), f"/api.xro/2.0{path}", args=query or {}, headers=headers, data=data
        )
        spec.validate_response(
            request, MockResponse(answer.data, status_code=answer.status, headers=dict(answer.headers))
        )
        return json.loads(answer.data)

    return send


@pytest.fixture
def acme(linked):
    return contact(linked.orgs["NZ"], "ACME01")


def invoice_body(acme, **fields):
    line = {
        "Description": "Freight",
        "Quantity": 1.5,
        "UnitAmount": 12.3456,
        "AccountCode": "200",
        "TaxType": "OUTPUT2",
    }
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": str(acme.contact_id)},
        "Date": "2024-03-01",
        "DueDate": "2024-03-21",
        "Status": "AUTHORISED",
        "LineItems": [line],
    } | fields


def test_invoice_answers_match_xeros_specification(send, acme):
    send(
        "PUT",
        "/Invoices",
        query={"summarizeErrors": "false", "unitdp": "4"},
        body={
            "Invoices": [invoice_body(acme), invoice_body(acme, LineItems=[{"AccountCode": "610", "UnitAmount": 1}])]
        },
    )
    created = send("GET", "/Invoices", query={"page": "1"})["Invoices"][0]
    send("POST", f"/Invoices/{created['InvoiceID']}", body={"Invoices": [{"Reference": "Changed"}]})
    send("GET", f"/Invoices/{created['InvoiceID']}")
    refused = send("PUT", "/Invoices", body={"Invoices": [invoice_body(acme, Type="ACCPAY")]}, status=400)
    assert refused["Elements"][0]["HasErrors"] is True


def test_credit_note_allocation_and_payment_answers_match_xeros_specification(send, acme):
    invoice = document(acme)
    credit_notes = {"CreditNotes": [invoice_body(acme, Type="ACCRECCREDIT")]}
    credit_note = send("PUT", "/CreditNotes", body=credit_notes)["CreditNotes"][0]
    send("GET", "/CreditNotes", query={"where": f'CreditNoteID==Guid("{credit_note["CreditNoteID"]}")'})
    allocation = {"Invoice": {"InvoiceID": str(invoice.document_id)}, "Amount": 5, "Date": "2024-03-02"}
    send("PUT", f"/CreditNotes/{credit_note['CreditNoteID']}/Allocations", body={"Allocations": [allocation]})
    payment = {"Invoice": {"InvoiceID": str(invoice.document_id)}, "Account": {"Code": "260"}, "Amount": 10}
    paid = send("PUT", "/Payments", body={"Payments": [payment]})["Payments"][0]
    send("GET", "/Payments")
    send("POST", f"/Payments/{paid['PaymentID']}", body={"Status": "DELETED"})
    after = send("GET", f"/Invoices/{invoice.document_id}")["Invoices"][0]
    assert after["AmountCredited"] == 5 and after["AmountPaid"] == 0  # each answer was also validated in send()
