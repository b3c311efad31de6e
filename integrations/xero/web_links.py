"""Links into Xero's web app ("Open in Xero"), from XERO_WEB_URL: Xero's own (https://go.xero.com), or
the sandbox's, which answers the same deep links when it is the configured Xero."""

from django.conf import settings


def document_url(xero_id, *, credit_note: bool) -> str:
    if credit_note:
        return f"{settings.XERO_WEB_URL}/AccountsReceivable/ViewCreditNote.aspx?creditNoteID={xero_id}"
    return f"{settings.XERO_WEB_URL}/AccountsReceivable/View.aspx?InvoiceID={xero_id}"


def contact_url(contact_id) -> str:
    return f"{settings.XERO_WEB_URL}/Contacts/View/{contact_id}"


def sales_url() -> str:
    return f"{settings.XERO_WEB_URL}/AccountsReceivable/Search.aspx"
