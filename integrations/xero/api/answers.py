"""Xero's JSON answers read into plain values (`values.py`). Read leniently: an unknown enumeration
value or a missing optional field must never fail a read."""

import datetime
import logging
import re
from decimal import Decimal

from integrations.xero.api.values import DocumentFound, DocumentIn, DocumentState, Tenant, XeroContact

logger = logging.getLogger(__name__)
MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def readable(read_one, elements) -> list:
    """Each element read into a plain value; one Xero answers in a shape this code cannot read is left
    out (the caller treats it as not answered) rather than failing the rest."""
    return [value for value in (readable_one(read_one, e) for e in elements or []) if value is not None]


def readable_one(read_one, element):
    try:
        return read_one(element)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
        logger.warning("An element of Xero's answer could not be read (%s: %s)", type(error).__name__, error)
        return None


def tenant(connection: dict) -> Tenant:
    return Tenant(
        str(connection["id"]),
        str(connection["tenantId"]),
        connection.get("tenantName") or "",
        connection.get("tenantType") or "",
    )


def contact(element: dict) -> XeroContact:
    return XeroContact(
        str(element["ContactID"]),
        element.get("Name") or "",
        element.get("AccountNumber") or "",
        element.get("ContactStatus") or "",
    )


def messages(element: dict) -> tuple[str, ...]:
    return tuple(error["Message"] for error in (element.get("ValidationErrors") or []) if error.get("Message"))


def xero_says(details) -> str:
    """Xero's own words in a 400's answer: its Message (a QueryParseException's, say) and any validation messages."""
    if not isinstance(details, dict):
        return ""
    said = [str(details.get("Message") or "")]
    said += [m for element in details.get("Elements") or [] if isinstance(element, dict) for m in messages(element)]
    return " ".join(dict.fromkeys(text for text in said if text))


def document_in(element: dict) -> DocumentIn:
    credit_note = "CreditNoteNumber" in element or "CreditNoteID" in element
    number = element.get("CreditNoteNumber" if credit_note else "InvoiceNumber") or ""
    xero_id = element.get("CreditNoteID" if credit_note else "InvoiceID") or ""
    said = messages(element)
    if not said and not _is_real_id(xero_id):
        xero_id = ""  # an unsaved element carries the empty id 00000000-…
    return DocumentIn(
        number=number,
        xero_id="" if said else str(xero_id),
        status=element.get("Status") or "",
        messages=said,
        total=money(element.get("Total")),
    )


def document_found(element: dict) -> DocumentFound:
    credit_note = "CreditNoteID" in element
    contact_of = element.get("Contact") or {}
    return DocumentFound(
        xero_id=str(element["CreditNoteID" if credit_note else "InvoiceID"]),
        type=element.get("Type") or "",
        number=element.get("CreditNoteNumber" if credit_note else "InvoiceNumber") or "",
        status=element.get("Status") or "",
        contact_id=str(contact_of.get("ContactID") or ""),
        contact_name=contact_of.get("Name") or "",
        total=money(element.get("Total")),
        date=date(element.get("Date")),
    )


def invoice_state(invoice: dict) -> DocumentState:
    return DocumentState(
        xero_id=str(invoice["InvoiceID"]),
        status=invoice.get("Status") or "",
        amount_paid=money(invoice.get("AmountPaid")),
        amount_due=money(invoice.get("AmountDue")),
        updated_at=moment(invoice.get("UpdatedDateUTC")),
        type=invoice.get("Type") or "",
    )


def credit_note_state(note: dict) -> DocumentState:
    # A credit note's "due" is its remaining credit; what is used (allocated or refunded) counts as paid.
    remaining, total = money(note.get("RemainingCredit")), money(note.get("Total"))
    used = total - remaining if total is not None and remaining is not None else None
    return DocumentState(
        xero_id=str(note["CreditNoteID"]),
        status=note.get("Status") or "",
        amount_paid=used,
        amount_due=remaining,
        updated_at=moment(note.get("UpdatedDateUTC")),
        type=note.get("Type") or "",
    )


def money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def moment(text) -> datetime.datetime | None:
    """Xero's `/Date(1700000000000+0000)/` (milliseconds since the epoch, UTC) or an ISO date-time
    (taken as UTC when it has no offset)."""
    if not text:
        return None
    match = MS_DATE.match(str(text))
    if match:
        return EPOCH + datetime.timedelta(milliseconds=int(match["ms"]))  # exact to the millisecond, as Xero keeps it
    parsed = datetime.datetime.fromisoformat(str(text))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def date(text) -> datetime.date | None:
    parsed = moment(text)
    return None if parsed is None else parsed.date()


def _is_real_id(xero_id) -> bool:
    return bool(xero_id) and str(xero_id).strip("0-") != ""
