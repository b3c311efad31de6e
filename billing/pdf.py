"""Issued invoices and credit notes as PDF documents, as the customer receives them.

`document_pdf` renders `billing/invoice_pdf.html` with xhtml2pdf; `document_pdf_filename` names the file. Both
refuse a draft: it has no number, and what it says may still change. An add-on that sends documents elsewhere
calls these; billing knows nothing of where they go.
"""

import re
import unicodedata
from io import BytesIO

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import translation
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from .models import Invoice, InvoiceLine

TEMPLATE = "billing/invoice_pdf.html"

# What a company's tax registration number is called on its documents, by the country it is registered in.
TAX_REGISTRATION_LABELS = {"NZ": "GST number", "AU": "ABN", "GB": "VAT number", "IE": "VAT number"}
TAX_REGISTRATION_LABEL = "Tax registration number"

# The template fetches nothing, and the text in it is the customers' and the staff's: whatever it might hold,
# the renderer may read no file and reach no host.
NOTHING_TO_FETCH = ResourceAccessPolicy(allow_remote=False, base_dir=None)

# Characters a file name keeps; any run of others becomes one underscore (no path separator, no quote).
UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class DocumentNotIssued(ValueError):
    """A draft was asked for as a PDF: only an issued (paid, voided, deleted) document has one."""


class DocumentPdfError(RuntimeError):
    """xhtml2pdf reported errors while rendering a document."""


def document_pdf(invoice: Invoice) -> bytes:
    """The PDF of an issued invoice or credit note (paid, voided and deleted ones too, those two marked VOID).

    Reads the document afresh with its lines, billing account and company, in the same few queries however
    many lines it has. Raises `DocumentNotIssued` for a draft and `DocumentPdfError` when the renderer fails."""
    document = _load(invoice.pk)
    _refuse_draft(document)
    with translation.override(settings.LANGUAGE_CODE):  # the same dates and figures whoever asks for it
        html = render_to_string(TEMPLATE, _context(document))
    out = BytesIO()
    try:
        result = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=NOTHING_TO_FETCH)
    except Exception as error:
        raise DocumentPdfError(f"{document.number}: the PDF could not be rendered ({error}).") from error
    if result.err:
        errors = "; ".join(message for mode, _, message, _ in result.log if mode == "error")
        raise DocumentPdfError(f"{document.number}: the PDF could not be rendered ({errors or 'no detail given'}).")
    return out.getvalue()


def document_pdf_filename(invoice: Invoice) -> str:
    """The PDF's file name: the document's number, e.g. INV-000001.pdf, in letters, digits, `.`, `_` and `-` only
    (other characters of a company's prefix are transliterated or replaced by `_`). Refuses a draft."""
    _refuse_draft(invoice)
    ascii_number = unicodedata.normalize("NFKD", invoice.number).encode("ascii", "ignore").decode()
    stem = UNSAFE_IN_FILENAME.sub("_", ascii_number).strip("._-")
    return f"{stem or f'document-{invoice.pk}'}.pdf"


def _load(pk: int) -> Invoice:
    return (
        Invoice.objects.select_related("company", "billing_account", "credited_invoice")
        .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.select_related("tax_rate")))
        .get(pk=pk)
    )


def _refuse_draft(invoice: Invoice) -> None:
    if invoice.is_draft or not invoice.number:
        raise DocumentNotIssued(f"{invoice} is a draft: only an issued document has a PDF.")


def _context(document: Invoice) -> dict:
    company = document.company
    return {
        "invoice": document,
        "company": company,
        "account": document.billing_account,
        "lines": list(document.lines.all()),
        "void": document.status in (Invoice.Status.VOIDED, Invoice.Status.DELETED),
        "title": "Credit note" if document.is_credit_note else "Tax invoice",
        "tax_registration_label": TAX_REGISTRATION_LABELS.get(company.country.code, TAX_REGISTRATION_LABEL),
    }
