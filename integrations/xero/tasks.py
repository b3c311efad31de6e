from celery import shared_task
from django.core.cache import cache

from . import sync, tokens

PUSH_QUEUED = "xero:push-queued"
PUSH_GATHER_SECONDS = 1  # documents issued within this second share one push task
PUSH_QUEUED_TTL = 15  # should a queued push be lost, later issues queue another after this (the sweeper catches up anyway)


def push_soon() -> None:
    """Queue a push for the documents issued around now, unless one is queued and not started yet:
    issuing a thousand documents queues a handful of tasks, not a thousand."""
    if not cache.add(PUSH_QUEUED, True, timeout=PUSH_QUEUED_TTL):
        return
    try:
        push_documents.apply_async(countdown=PUSH_GATHER_SECONDS)
    except Exception:
        cache.delete(PUSH_QUEUED)  # the broker is down: the next issue tries again, the sweeper later
        raise


@shared_task
def refresh_idle_connections():
    """Keep idle links alive: Xero's refresh tokens expire after 60 days unused."""
    return tokens.refresh_idle_connections()


@shared_task
def push_documents(max_rounds: int = 20):
    """Send waiting documents to Xero, a batch per round, until none is left (or the round limit).

    A full batch suggests more are waiting: another pusher is queued so that several workers send in
    parallel (the pace shared by all keeps them within Xero's limits).
    """
    cache.delete(PUSH_QUEUED)  # documents issued from now on are not necessarily this task's to find
    for _ in range(max_rounds):
        handled = sync.push_round()
        if not handled:
            return
        if handled >= sync.BATCH_SIZE:
            push_soon()
    push_soon()  # the round limit was reached with work left


@shared_task
def sweep():
    """The safety net: hand back claims of dead workers and send what is still waiting."""
    sync.release_stale_claims()
    push_documents.delay()
