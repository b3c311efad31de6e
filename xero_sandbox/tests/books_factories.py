"""Building invoices and credit notes for the sandbox's tests: as the SDK sends them, and directly
in the books (for tests about reading, or about the services themselves); and sending raw calls,
several at the same time."""

import datetime
import json
import threading
from decimal import Decimal

import urllib3
from xero_python.accounting import Contact as SdkContact
from xero_python.accounting import CreditNote, Invoice, LineAmountTypes, LineItem

from xero_sandbox import books
from xero_sandbox.models import Contact, Document, Organisation

DAY = datetime.date(2024, 3, 1)


def contact(org: Organisation, account_number: str) -> Contact:
    return Contact.objects.get(organisation=org, account_number=account_number)


def sdk_line(**overrides) -> LineItem:
    fields = {"description": "Freight", "quantity": 1, "unit_amount": 100, "account_code": "200", "tax_type": "OUTPUT2"}
    return LineItem(**(fields | overrides))


def sdk_invoice(customer: Contact, *, lines=None, **overrides) -> Invoice:
    fields = {
        "type": "ACCREC",
        "contact": SdkContact(contact_id=str(customer.contact_id)),
        "date": DAY,
        "due_date": DAY + datetime.timedelta(days=20),
        "status": "AUTHORISED",
        "line_amount_types": LineAmountTypes.EXCLUSIVE,
        "line_items": lines or [sdk_line()],
    }
    return Invoice(**(fields | overrides))


def sdk_bill(supplier: Contact, *, lines=None, **overrides) -> Invoice:
    """A supplier's bill as the SDK sends it: an expense account and a tax rate for expenses."""
    lines = lines or [sdk_line(account_code="429", tax_type="INPUT2")]
    return sdk_invoice(supplier, lines=lines, **({"type": "ACCPAY"} | overrides))


def outside(
    org: Organisation, type: str, number: str, *, contact_name="Outside Supplier Ltd", total="287.50", **fields
) -> Document:
    """A document someone typed into Xero by hand (a supplier's bill or credit note, an older sale)."""
    return books.outside_document_create(
        org, type=type, number=number, contact_name=contact_name, total=Decimal(total), **fields
    )


def sdk_credit_note(customer: Contact, *, lines=None, **overrides) -> CreditNote:
    fields = {
        "type": "ACCRECCREDIT",
        "contact": SdkContact(contact_id=str(customer.contact_id)),
        "date": DAY,
        "status": "AUTHORISED",
        "line_amount_types": LineAmountTypes.EXCLUSIVE,
        "line_items": lines or [sdk_line()],
    }
    return CreditNote(**(fields | overrides))


def line(
    unit_amount="100.00", quantity="1", *, account_code="200", tax_type="OUTPUT2", tax_rate="15"
) -> books.LineInput:
    return books.LineInput(
        description="Freight",
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit_amount),
        account_code=account_code,
        tax_type=tax_type,
        tax_rate=Decimal(tax_rate),
    )


def document(customer: Contact, *, type=Document.INVOICE, status="AUTHORISED", lines=None, **fields) -> Document:
    """A document written straight into the books (its CREATE event included)."""
    fields = {"contact": customer, "status": status, "date": DAY, **fields}
    data = books.DocumentInput(fields=fields, lines=lines or [line()])
    return books.document_create(organisation=customer.organisation, type=type, data=data)


def at_once(count: int, action) -> list:
    start, results = threading.Barrier(count), []

    def run(n):
        start.wait()
        results.append(action(n))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def raw_put(linked, sandbox_url, path: str, body: dict) -> int:
    headers = {
        "Authorization": f"Bearer {linked.access_token.token}",
        "xero-tenant-id": linked.tenant(),
        "Content-Type": "application/json",
    }
    url = f"{sandbox_url}/api.xro/2.0{path}"
    return urllib3.PoolManager(retries=False).request("PUT", url, body=json.dumps(body), headers=headers).status
