from celery import shared_task

from . import sync, tokens


@shared_task
def refresh_idle_connections():
    """Keep idle links alive: Xero's refresh tokens expire after 60 days unused."""
    return tokens.refresh_idle_connections()


@shared_task
def push_documents(max_rounds: int = 20):
    """Send waiting documents to Xero, a batch per round, until none is left (or the round limit)."""
    for _ in range(max_rounds):
        if not sync.push_round():
            return


@shared_task
def sweep():
    """The safety net: hand back claims of dead workers and send what is still waiting."""
    sync.release_stale_claims()
    push_documents.delay()
