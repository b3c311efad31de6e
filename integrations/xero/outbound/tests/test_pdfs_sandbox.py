"""Sent documents' PDFs attached in the sandbox over HTTP, as in Xero: shown on the online invoice the customer
opens, and attached once even when Xero's answer to the attaching was lost after it kept the file."""

import datetime

import urllib3
from django.urls import reverse
from django.utils import timezone

from integrations.xero.conftest import fault_once, issued, state_of
from integrations.xero.models import PdfAttachment
from integrations.xero.outbound import pdfs, sending
from xero_sandbox.models import Attachment, Fault, RequestLog


def sent(codes, **fields):
    document = issued(codes, **fields)
    while sending.sync_round_push():
        pass
    assert state_of(document).state == "sent", state_of(document).error
    return document


def attachments_in_xero(document) -> list[Attachment]:
    return list(Attachment.objects.filter(document__document_id=state_of(document).xero_id))


def test_a_sent_invoices_pdf_is_attached_in_xero_and_shown_on_its_online_invoice(linked, codes, admin_client):
    invoice = sent(codes)
    RequestLog.objects.all().delete()
    assert pdfs.pdfs_attach_due() == 1
    (attachment,) = attachments_in_xero(invoice)
    assert (attachment.file_name, attachment.include_online) == (f"{invoice.number}.pdf", True)
    assert bytes(attachment.content).startswith(b"%PDF-")
    assert RequestLog.objects.count() == 1  # the attaching alone: the online invoice is asked for when opened
    record = state_of(invoice)
    opened = admin_client.get(reverse("xero:online_invoice", args=[record.pk]))
    assert opened.status_code == 302
    page = urllib3.PoolManager(retries=False).request("GET", opened.url)
    assert page.status == 200 and f"{invoice.number}.pdf" in page.data.decode()
    admin_client.get(reverse("xero:online_invoice", args=[record.pk]))
    assert RequestLog.objects.filter(path__icontains="OnlineInvoice").count() == 1  # asked once, then kept


def test_a_credit_notes_pdf_is_attached_too(linked, codes):
    credit_note = sent(codes, kind="credit_note")
    pdfs.pdfs_attach_due()
    assert [a.file_name for a in attachments_in_xero(credit_note)] == [f"{credit_note.number}.pdf"]


def test_an_answer_lost_after_xero_kept_the_pdf_never_attaches_it_twice(linked, codes):
    invoice = sent(codes)
    fault_once(linked, Fault.Kind.ERROR_AFTER_COMMIT, method="PUT", path="/Attachments")
    pdfs.pdfs_attach_due()
    pdf = PdfAttachment.objects.get(record__invoice=invoice)
    assert (pdf.state, pdf.outcome_unknown) == ("waiting", True)
    PdfAttachment.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    pdfs.pdfs_attach_due()
    assert PdfAttachment.objects.get(record__invoice=invoice).state == "attached"
    assert len(attachments_in_xero(invoice)) == 1  # Xero would have kept a second copy, had it been put again
