"""Which document Xero holds under a number is the platform's own: after an attempt whose outcome was
unknown, a sales document of the same type, number, contact, date and total is taken as sent; any other
sales document under that number is a clash for a person to resolve. Supplier bills and credit notes
(ACCPAY, ACCPAYCREDIT) share numbers freely: never ours, never a clash."""

from decimal import Decimal

from billing.models import Invoice
from integrations.xero.api import values
from integrations.xero.models import ContactLink


def ours_and_clashes(tenant_id, records, found: list[values.DocumentFound]) -> tuple[dict, dict]:
    """Of the documents found under these records' numbers, which is each record's own (a sales document
    of its type, to its contact, of its total and date) and which record's number another sales document
    holds. Supplier bills and credit notes (ACCPAY, ACCPAYCREDIT) share numbers freely: never ours, never a clash."""
    contacts = dict(
        ContactLink.objects.filter(
            tenant_id=tenant_id, billing_account__in=[r.invoice.billing_account_id for r in records]
        ).values_list("billing_account_id", "contact_id")
    )
    ours, clashes = {}, {}
    for record in records:
        invoice = record.invoice
        namesakes = _namesakes(invoice, found)
        contact = contacts.get(invoice.billing_account_id)
        own = [d for d in namesakes if contact is not None and is_this_document(d, invoice, str(contact))]
        if own:
            ours[record] = own[0]
        elif namesakes:
            clashes[record] = namesakes[0]
    return ours, clashes


def with_namesakes(records, found: list[values.DocumentFound]) -> list:
    """The records whose number a sales document of their type holds in Xero (theirs, or a clash)."""
    return [record for record in records if _namesakes(record.invoice, found)]


def _namesakes(invoice: Invoice, found: list[values.DocumentFound]) -> list[values.DocumentFound]:
    kind = "ACCRECCREDIT" if invoice.is_credit_note else "ACCREC"
    return [d for d in found if d.type == kind and d.number.casefold() == invoice.number.casefold()]


def is_this_document(found: values.DocumentFound, invoice: Invoice, contact_id: str) -> bool:
    # Xero may round tax per line where the platform rounds it otherwise: a cent a line either way.
    tolerance = Decimal("0.01") * max(1, invoice.lines.count())
    return (
        found.contact_id.lower() == contact_id.lower()
        and found.date == invoice.issue_date
        and found.total is not None
        and abs(found.total - invoice.total) <= tolerance
    )


def clash_message(document: values.DocumentFound) -> str:
    """What a person reads on the sync exception: the document Xero holds, and the two ways out."""
    noun = "credit note" if document.type == "ACCRECCREDIT" else "invoice"
    total = "no total" if document.total is None else f"{document.total:,.2f}"
    dated = f"dated {document.date:%Y-%m-%d}" if document.date else "undated"
    return (
        f"Not sent: Xero already holds a sales {noun} numbered {document.number} that the platform did not send — "
        f"to {document.contact_name or 'an unnamed contact'}, {total}, {dated}, {document.status} in Xero. "
        f"Xero keeps {noun} numbers unique, so this {noun} cannot go across under its number. "
        f"If that {noun} was entered in Xero by hand for this same sale, press “This is ours — link it”; "
        f"otherwise change that {noun}'s number in Xero (or void it there and give it another), then retry."
    )
