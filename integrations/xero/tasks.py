from celery import shared_task

from . import tokens


@shared_task
def refresh_idle_connections():
    """Keep idle links alive: Xero's refresh tokens expire after 60 days unused."""
    return tokens.refresh_idle_connections()
