"""Sent documents' PDFs attached in Xero, on the in-memory Xero (api/fake.py): once, even after an answer that
never came (Xero keeps a second copy of a file put twice), never holding back a document, with Xero's refusal
or a missing permission said on the document's page. Over HTTP against the sandbox: test_pdfs_sandbox.py."""

import datetime
import html

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from billing.tests.factories import CompanyFactory, TaxRateFactory
from integrations.xero.api.errors import XeroError, XeroRejected
from integrations.xero.conftest import issued, state_of
from integrations.xero.models import PdfAttachment
from integrations.xero.outbound import pdfs, sending

ALLOWED = "offline_access accounting.invoices accounting.contacts accounting.settings.read accounting.attachments"


@pytest.fixture
def allowed(fake_xero):
    fake_xero.connection.scopes = ALLOWED
    fake_xero.connection.save()
    return fake_xero


def sent(codes, **fields):
    document = issued(codes, **fields)
    while sending.sync_round_push():
        pass
    assert state_of(document).state == "sent"
    return document


def pdf_of(document) -> PdfAttachment:
    return PdfAttachment.objects.get(record__invoice=document)


def in_fake(fake_xero, document):
    return fake_xero.org.documents[str(state_of(document).xero_id)]


def due_now():
    PdfAttachment.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))


def test_a_sent_invoices_pdf_is_attached_once_and_its_online_invoice_asked_for_only_when_opened(allowed, codes):
    invoice = sent(codes)
    assert pdf_of(invoice).state == "waiting"  # queued when it was sent, attached after
    assert pdfs.pdfs_attach_due() == 1
    assert pdfs.pdfs_attach_due() == 0
    pdf = pdf_of(invoice)
    assert (pdf.state, pdf.file_name, pdf.error) == ("attached", f"{invoice.number}.pdf", "")
    assert in_fake(allowed, invoice).attachments == [f"{invoice.number}.pdf"]
    assert "online_invoice_url" not in allowed.org.calls
    url = f"https://in.xero.example/{state_of(invoice).xero_id}"
    assert pdfs.online_invoice_open(attachment=pdf) == url
    assert pdfs.online_invoice_open(attachment=pdf_of(invoice)) == url  # kept: Xero is asked once
    assert allowed.org.calls.count("online_invoice_url") == 1


def test_sending_never_attaches_a_pdf_itself(allowed, codes):
    sent(codes)
    assert "attach_pdf" not in allowed.org.calls  # only pdfs_attach_due, after the pushes, does


def test_an_answer_lost_after_xero_took_the_pdf_is_settled_by_looking_never_attached_twice(allowed, codes):
    invoice = sent(codes)
    allowed.org.fail("attach_pdf", XeroError("Xero could not be reached (ReadTimeoutError)."), after_doing_it=True)
    pdfs.pdfs_attach_due()
    pdf = pdf_of(invoice)
    assert (pdf.state, pdf.outcome_unknown, pdf.attempts) == ("waiting", True, 1)
    assert pdf.error == "Not attached yet: Xero could not be reached (ReadTimeoutError)."
    assert pdf.next_attempt_at > timezone.now()
    assert pdfs.pdfs_attach_due() == 0  # not before its back-off
    due_now()
    pdfs.pdfs_attach_due()
    assert pdf_of(invoice).state == "attached"
    assert in_fake(allowed, invoice).attachments == [f"{invoice.number}.pdf"]
    assert allowed.org.calls.count("attach_pdf") == 1 and "attachment_names" in allowed.org.calls


def test_a_failure_before_xero_took_it_attaches_it_on_the_next_try(allowed, codes):
    invoice = sent(codes)
    allowed.org.fail("attach_pdf", XeroError("Xero could not be reached (connection refused)."))
    pdfs.pdfs_attach_due()
    due_now()
    pdfs.pdfs_attach_due()
    assert pdf_of(invoice).state == "attached"
    assert in_fake(allowed, invoice).attachments == [f"{invoice.number}.pdf"]


def test_xeros_refusal_is_kept_in_its_words_and_the_document_stays_sent(allowed, codes):
    invoice = sent(codes)
    refusal = XeroRejected("Xero refused the request.", details={"Message": "The file is too large."})
    allowed.org.fail("attach_pdf", refusal)
    pdfs.pdfs_attach_due()
    pdf = pdf_of(invoice)
    assert pdf.state == "refused" and pdf.error.startswith("Xero refused the PDF: Xero refused the request.")
    assert state_of(invoice).state == "sent"
    due_now()
    assert pdfs.pdfs_attach_due() == 0  # refused for good: never tried again by itself


def test_a_link_made_without_the_attachments_permission_says_so_and_calls_nothing(fake_xero, codes):
    invoice = sent(codes)
    pdfs.pdfs_attach_due()
    pdf = pdf_of(invoice)
    assert pdf.state == "not_allowed" and "Re-link" in pdf.error
    assert "attach_pdf" not in fake_xero.org.calls


def test_a_credit_notes_pdf_is_attached_and_its_panel_offers_no_online_invoice(allowed, codes, client):
    credit_note = sent(codes, kind="credit_note")
    pdfs.pdfs_attach_due()
    assert pdf_of(credit_note).state == "attached"
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw"))
    page = client.get(reverse("billing:invoice_detail", args=[credit_note.pk])).content.decode()
    assert "attached in Xero" in page and "online-invoice" not in page


def test_the_documents_page_says_where_its_pdf_is(allowed, codes, client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("finance", password="pw"))
    invoice = sent(codes)
    url = reverse("billing:invoice_detail", args=[invoice.pk])
    assert "to be attached in Xero" in client.get(url).content.decode()
    pdfs.pdfs_attach_due()
    page = client.get(url).content.decode()
    assert f"PDF {invoice.number}.pdf attached in Xero" in page
    online = reverse("xero:online_invoice", args=[state_of(invoice).pk])
    assert f'href="{online}"' in page
    opened = client.get(online)
    assert (opened.status_code, opened.url) == (302, f"https://in.xero.example/{state_of(invoice).xero_id}")


def test_documents_due_to_be_sent_go_first_and_pdfs_wait_for_them(allowed, codes):
    invoice = sent(codes)
    waiting = issued(codes)  # due to be sent: the workers are its first
    assert pdfs.pdfs_attach_due() == 0
    assert pdf_of(invoice).state == "waiting" and pdf_of(invoice).attempts == 0  # released, not counted
    assert state_of(waiting).state == "waiting"
    sending.sync_round_push()
    assert pdfs.pdfs_attach_due() == 2


def test_with_pdfs_switched_off_none_is_queued(fake_xero, codes, settings):
    settings.XERO_ATTACH_PDFS = False
    invoice = sent(codes)
    assert not PdfAttachment.objects.filter(record__invoice=invoice).exists()


def test_documents_of_a_company_without_a_link_hold_no_pdf_back(allowed, codes):
    invoice = sent(codes)
    other = CompanyFactory(name="Cocoon Freight UK Ltd", invoice_prefix="UKI", credit_note_prefix="UKC")
    issued(codes, company=other, tax=TaxRateFactory(company=other, accounting_code="OUTPUT2"))  # waits for a link
    assert pdfs.pdfs_attach_due() == 1
    assert pdf_of(invoice).state == "attached"


def test_an_online_invoice_that_cannot_be_asked_for_says_why_on_the_documents_page(allowed, codes, client):
    client.force_login(get_user_model().objects.create_superuser("finance", password="pw"))
    invoice = sent(codes)
    pdfs.pdfs_attach_due()
    allowed.org.fail("online_invoice_url", XeroError("Xero could not be reached"))
    answer = client.get(reverse("xero:online_invoice", args=[state_of(invoice).pk]), follow=True)
    assert answer.redirect_chain[-1][0] == reverse("billing:invoice_detail", args=[invoice.pk])
    assert "Xero's online invoice could not be opened: Xero could not be reached." in html.unescape(
        answer.content.decode()
    )
    assert pdf_of(invoice).online_invoice_url == ""  # asked again next time
