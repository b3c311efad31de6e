"""Billing's announcements, as the Xero add-on hears them."""

import logging

from django.dispatch import receiver

from billing.signals import document_issued, document_issuing
from integrations.models import AddOn, addon_enabled
from integrations.xero import tasks
from integrations.xero.outbound import sending

logger = logging.getLogger(__name__)


@receiver(document_issuing, dispatch_uid="xero-outbox")
def write_outbox_row(sender, invoice, **kwargs):
    # Inside the issuing transaction: the row exists exactly when the issue commits.
    if addon_enabled(AddOn.Key.XERO):
        sending.sync_record_create(invoice=invoice)


@receiver(document_issued, dispatch_uid="xero-push")
def push_soon(sender, invoice, **kwargs):
    if addon_enabled(AddOn.Key.XERO):
        # If the broker is down this raises (billing logs it); the sweeper sends the document later.
        tasks.push_soon()
