"""Each sent document's PDF, attached to it in Xero with "include online", so that the customer sees it on
Xero's online invoice. The online invoice's address is asked of Xero only when someone opens it from the
document's page (`online_invoice_open`), then kept: asking for every invoice sent would double the calls
attaching costs, and 3,000 invoices a day would then need more than Xero's 5,000 calls a day.

A PDF never holds back a document: PDFs are attached by their own task (`tasks.attach_pdfs`, queued when a
pusher runs out of work), one worker process at a time, only while no document of a linked company is due to
be sent, as background calls in the organisation's pace, a few of one organisation at a time; a failure that
passes is tried again later. Xero keeps a second copy when the same file is put twice, so
an attempt whose answer never came is settled by looking at the document's attachments before putting it again.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.pdf import document_pdf, document_pdf_filename
from integrations.xero.api.errors import Paused, XeroError, XeroNeedsRelink, XeroRateLimited, XeroRejected
from integrations.xero.api.xero_api import XeroApi, xero_api_for
from integrations.xero.models import PdfAttachment, SyncRecord, XeroConnection

State = PdfAttachment.State
ATTACH_BATCH = 10  # of one organisation a round: each is a call
SCOPE = "accounting.attachments"
NOT_ALLOWED = (
    "Not attached: the link to Xero does not allow attaching files (it was made before the platform attached "
    "PDFs). Press Re-link on the Add Ons page to allow it; the document itself is in Xero."
)
LONGEST_WAIT_SECONDS = 3600


def pdf_queue(*, record: SyncRecord) -> None:
    """The document is in Xero: its PDF is to be attached (once, however often this is called), unless PDFs are
    not attached (XERO_ATTACH_PDFS)."""
    if settings.XERO_ATTACH_PDFS:
        PdfAttachment.objects.get_or_create(record=record)


def pdfs_attach_due(*, now: datetime.datetime | None = None) -> int:
    """Attach the due PDFs of one organisation, the one whose PDF has waited longest; return how many were
    handled (0: none due, or none could go)."""
    now = now or timezone.now()
    connection, claimed = _claim(now)
    if not claimed:
        return 0
    api = xero_api_for(connection)
    handled = 0
    for index, attachment in enumerate(claimed):
        if _sending_due(now):
            _release(claimed[index:])
            break
        if not _attach(api, connection, attachment):
            _release(claimed[index + 1 :])
            break
        handled += 1
    return handled


def _sending_due(now: datetime.datetime) -> bool:
    """Documents of a linked company are due to be sent: they go first (the workers are theirs), PDFs after.
    (A company without a live link keeps its documents waiting: they hold nothing back.)"""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    linked = XeroConnection.objects.active().values("company_id")
    return SyncRecord.objects.filter(due, state=SyncRecord.State.WAITING, invoice__company_id__in=linked).exists()


def _due(now: datetime.datetime):
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return PdfAttachment.objects.filter(free, state=State.WAITING, next_attempt_at__lte=now)


def _claim(now: datetime.datetime) -> tuple[XeroConnection | None, list[PdfAttachment]]:
    active = XeroConnection.objects.active()
    with transaction.atomic():
        tenant_id = (
            _due(now)
            .filter(record__tenant_id__in=active.values("tenant_id"))
            .order_by("next_attempt_at", "pk")
            .values_list("record__tenant_id", flat=True)
            .first()
        )
        if tenant_id is None:
            return None, []
        rows = _due(now).select_for_update(skip_locked=True).filter(record__tenant_id=tenant_id).order_by("pk")
        pks = list(rows.values_list("pk", flat=True)[:ATTACH_BATCH])
        lease = now + datetime.timedelta(seconds=settings.XERO_SYNC_CLAIM_SECONDS)
        PdfAttachment.objects.filter(pk__in=pks).update(claimed_until=lease, attempts=F("attempts") + 1)
    claimed = PdfAttachment.objects.filter(pk__in=pks).select_related("record__invoice").order_by("pk")
    return active.for_tenant(tenant_id), list(claimed)


def _attach(api: XeroApi, connection: XeroConnection, attachment: PdfAttachment) -> bool:
    """One document's PDF; False when this round should stop (the organisation's pace or link holds it)."""
    if SCOPE not in connection.scopes.split():
        _finish(attachment, state=State.NOT_ALLOWED, error=NOT_ALLOWED)
        return True
    try:
        file_name = _put_once(api, attachment)
    except Paused as pause:
        _retry_at(attachment, pause.until, error="", unknown=False)
        return False
    except XeroRateLimited as error:
        _retry_at(attachment, timezone.now() + datetime.timedelta(seconds=error.retry_after), error="", unknown=False)
        return False
    except XeroNeedsRelink as error:
        _retry_later(attachment, f"Not attached yet: {error.message}")
        return False
    except XeroRejected as error:
        _finish(attachment, state=State.REFUSED, error=f"Xero refused the PDF: {error.message} {error.details or ''}")
        return True
    except XeroError as error:
        _retry_later(attachment, f"Not attached yet: {error.message}")
        return True
    now = timezone.now()
    _finish(attachment, state=State.ATTACHED, file_name=file_name, attached_at=now)
    return True


def _put_once(api: XeroApi, attachment: PdfAttachment) -> str:
    """Put the PDF on the document unless an attempt whose answer never came got it there; return its file name."""
    invoice, document_id = attachment.record.invoice, str(attachment.record.xero_id)
    file_name = document_pdf_filename(invoice)
    there = attachment.outcome_unknown and file_name in api.attachment_names(
        document_id=document_id, credit_note=invoice.is_credit_note
    )
    if not there:
        # Noted before the call: should the worker die in it, the next attempt looks first.
        PdfAttachment.objects.filter(pk=attachment.pk).update(outcome_unknown=True, file_name=file_name)
        pdf = document_pdf(invoice)
        api.attach_pdf(document_id=document_id, credit_note=invoice.is_credit_note, file_name=file_name, content=pdf)
    return file_name


def online_invoice_open(*, attachment: PdfAttachment) -> str:
    """The address of Xero's online invoice of a sent invoice whose PDF is attached: asked of Xero the first
    time (one call), then kept. "" when the organisation is not linked now; raises XeroError when Xero cannot
    say."""
    record = attachment.record
    if attachment.online_invoice_url:
        return attachment.online_invoice_url
    connection = XeroConnection.objects.active().for_tenant(record.tenant_id)
    if connection is None:
        return ""
    url = xero_api_for(connection).online_invoice_url(invoice_id=str(record.xero_id))
    PdfAttachment.objects.filter(pk=attachment.pk).update(online_invoice_url=url)
    return url


def _finish(attachment: PdfAttachment, *, state: str, error: str = "", **fields) -> None:
    PdfAttachment.objects.filter(pk=attachment.pk).update(
        state=state, error=error.strip(), claimed_until=None, outcome_unknown=False, **fields
    )


def _retry_later(attachment: PdfAttachment, error: str) -> None:
    """A failure that passes: the answer may not have come, so the next attempt looks before putting again."""
    wait = min(LONGEST_WAIT_SECONDS, 30 * 2 ** min(attachment.attempts, 7))
    _retry_at(attachment, timezone.now() + datetime.timedelta(seconds=wait), error=error, unknown=None)


def _retry_at(attachment: PdfAttachment, moment: datetime.datetime, *, error: str, unknown: bool | None) -> None:
    fields = {"next_attempt_at": moment, "claimed_until": None, "error": error}
    if unknown is not None:
        fields["outcome_unknown"] = unknown
    PdfAttachment.objects.filter(pk=attachment.pk).update(**fields)


def _release(attachments: list[PdfAttachment]) -> None:
    """Claimed but not tried this round: free again at once, the attempt not counted."""
    for attachment in attachments:
        PdfAttachment.objects.filter(pk=attachment.pk).update(claimed_until=None, attempts=attachment.attempts - 1)
