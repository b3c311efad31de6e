import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from integrations.xero.inbound import inbox, reconciliation
from integrations.xero.link import linking, tokens
from integrations.xero.models import XeroConnection
from integrations.xero.outbound import pdfs, sending

logger = logging.getLogger(__name__)

PUSH_QUEUED = "xero:push-queued"
PUSH_GATHER_SECONDS = 1  # documents issued within this second share one push task
EVENTS_QUEUED = "xero:webhook-events-queued"
PDFS_QUEUED = "xero:pdfs-queued"
PDFS_RUNNING = "xero:pdfs-running"
QUEUED_MARK_SECONDS = 15  # should a queued task be lost, a later call queues another after this


def push_soon() -> None:
    """Queue a push for the documents issued around now, unless one is queued and not started yet:
    issuing a thousand documents queues a handful of tasks, not a thousand. (The sweeper catches up
    should the broker be down.)"""
    _queue_once(push_documents, key=PUSH_QUEUED, gather_seconds=PUSH_GATHER_SECONDS)


def process_events_soon() -> None:
    """Queue the processing of received webhook events, unless one is queued and not started yet: the
    events of many deliveries then share one task, and the same few calls to read their documents back.
    (The reconciliation catches up should the broker be down.)"""
    _queue_once(process_webhook_events, key=EVENTS_QUEUED, gather_seconds=settings.XERO_WEBHOOK_GATHER_SECONDS)


def _queue_once(task, *, key: str, gather_seconds: float) -> None:
    # The task deletes the mark when it starts: whatever arrives after that needs a task of its own.
    if not cache.add(key, True, timeout=gather_seconds + QUEUED_MARK_SECONDS):
        return
    try:
        task.apply_async(countdown=gather_seconds)
    except Exception:
        cache.delete(key)  # the broker is down: the next call tries again
        raise


@shared_task
def load_reference_data(connection_id: int):
    """An organisation's chart of accounts, tax rates and currencies, for a link made along with others."""
    connection = XeroConnection.objects.active().filter(pk=connection_id).first()
    if connection is not None:
        linking.reference_data_load(connection=connection)


@shared_task
def refresh_idle_connections():
    """Keep idle links alive: Xero's refresh tokens expire after 60 days unused."""
    return tokens.connections_refresh_idle()


@shared_task
def push_documents(max_rounds: int = 20):
    """Send waiting documents to Xero, a batch per round, until none is left (or the round limit).

    A full batch suggests more are waiting: another pusher is queued so that several workers send in
    parallel (the pace shared by all keeps them within Xero's limits).
    """
    cache.delete(PUSH_QUEUED)
    for _ in range(max_rounds):
        handled = sending.sync_round_push()
        if not handled:
            attach_soon()  # nothing left to send: the sent documents' PDFs
            return
        if handled >= sending.BATCH_SIZE:
            push_soon()
    push_soon()  # the round limit was reached with work left


def attach_soon() -> None:
    """Queue the attaching of sent documents' PDFs, unless it is queued and not started yet."""
    _queue_once(attach_pdfs, key=PDFS_QUEUED, gather_seconds=PUSH_GATHER_SECONDS)


@shared_task
def attach_pdfs(max_rounds: int = 20):
    """Attach sent documents' PDFs in Xero, an organisation's few a round, until none is due (or the round
    limit: the sweeper queues the next pusher, whose end queues this again)."""
    cache.delete(PDFS_QUEUED)
    # One worker process at a time renders and attaches PDFs: the others stay free to send documents.
    if not cache.add(PDFS_RUNNING, True, timeout=settings.XERO_SYNC_CLAIM_SECONDS):
        return
    try:
        for _ in range(max_rounds):
            if not pdfs.pdfs_attach_due():
                return
    finally:
        cache.delete(PDFS_RUNNING)


@shared_task
def sweep():
    """The safety net: hand back claims of dead workers and send what is still waiting."""
    sending.sync_claims_release_stale()
    push_documents.delay()


@shared_task
def process_webhook_events(max_rounds: int = 20):
    """Apply the waiting webhook events, a round at a time, until none is left or Xero cannot be read now."""
    cache.delete(EVENTS_QUEUED)
    for _ in range(max_rounds):
        result = inbox.webhook_events_process()
        if result.claimed:
            logger.info("Xero webhook events: %s", result)
        if not result.claimed or result.interrupted:
            return
    process_events_soon()  # the round limit was reached with events left


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def read_back_states(record_ids: list[int]):
    """Read documents a person linked by hand back from Xero (their status may have moved on)."""
    return inbox.document_states_read_back(record_ids=record_ids)


@shared_task
def reconcile_statuses():
    """The safety net for missed webhooks: read back what Xero changed since last time, in each linked
    organisation in turn (every 15 minutes)."""
    reconciliation.reconciliation_run_periodic()
