"""Fresh access tokens, refreshed at most once however many workers ask at the same moment.

A refresh token is single-use, so one worker at a time may refresh a link's tokens. Links granted by one
consent share its tokens (`grant_id`): the lease is on the grant's first live link, and the new pair is
stored on every live link of the grant, so that none keeps a used refresh token. The lock is a lease on
that connection row, taken with a conditional UPDATE rather than a database lock held across the call
to Xero (which would also block the embedded SQLite database for everyone meanwhile). Workers that
find the lease taken wait and re-read the row: they get the new token instead of refreshing again
with a used one. A worker that dies mid-refresh leaves a lease that lapses; Xero still honours the
old refresh token for a grace period, so the next worker's refresh succeeds.
"""

import datetime
import time

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.xero.api import oauth
from integrations.xero.api.errors import XeroError, XeroNeedsRelink
from integrations.xero.models import XeroConnection

Status = XeroConnection.Status


def access_token_for(connection: XeroConnection) -> str:
    """A usable access token for the connection, refreshing it first when it is about to expire."""
    if connection.status != Status.ACTIVE:
        raise XeroNeedsRelink(connection.last_error or "The Xero add-on is not linked: link to Xero first.")
    if not _expiring(connection):
        return connection.access_token
    try:
        return _refresh_under_lock(connection.pk)
    except XeroNeedsRelink as error:
        connection_mark_needs_relink(connection=connection, reason=error.message)
        raise


def connections_refresh_idle(*, now: datetime.datetime | None = None) -> int:
    """Refresh links unused for a while, so their refresh tokens never reach Xero's 60-day expiry."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.XERO_IDLE_REFRESH_DAYS)
    refreshed = 0
    idle = XeroConnection.objects.filter(status=Status.ACTIVE, refreshed_at__lt=cutoff).order_by("grant_id", "pk")
    for connection in _one_per_grant(idle):  # a grant's links share its tokens: one refresh serves them all
        try:
            _refresh_under_lock(connection.pk, force=True)
            refreshed += 1
        except XeroNeedsRelink as error:
            connection_mark_needs_relink(connection=connection, reason=error.message)
    return refreshed


def connection_mark_needs_relink(*, connection: XeroConnection, reason: str) -> None:
    """The link `connection` was read as is refused. Documents waiting to be sent stay waiting: nothing is
    marked failed because the link broke. A failure of the link as it was before a re-link (a worker's
    refresh with the old token ending after the person linked again) leaves the new link alone."""
    XeroConnection.objects.filter(pk=connection.pk, linked_at=connection.linked_at).update(
        status=Status.NEEDS_RELINK, last_error=reason, last_error_at=timezone.now()
    )
    connection.status, connection.last_error = Status.NEEDS_RELINK, reason


def _expiring(connection: XeroConnection) -> bool:
    margin = datetime.timedelta(seconds=settings.XERO_REFRESH_MARGIN_SECONDS)
    expires_at = connection.access_token_expires_at
    return expires_at is None or expires_at - margin <= timezone.now()


def _refresh_under_lock(pk: int, *, force: bool = False) -> str:
    grant = _grant_of(pk)
    leader = grant.order_by("pk").values_list("pk", flat=True).first() or pk
    connection = _wait_for_lease(leader, force=force)
    if connection is None:  # another worker refreshed it while this one waited
        return XeroConnection.objects.get(pk=pk).access_token
    try:
        tokens = oauth.refresh_tokens(refresh_token=connection.refresh_token)
    except XeroError:
        XeroConnection.objects.filter(pk=leader).update(refresh_lease_until=None)
        raise
    connection.access_token = tokens.access_token
    connection.refresh_token = tokens.refresh_token or connection.refresh_token
    now = timezone.now()
    grant.update(
        access_token_encrypted=connection.access_token_encrypted,
        refresh_token_encrypted=connection.refresh_token_encrypted,
        access_token_expires_at=tokens.expires_at,
        refreshed_at=now,
        last_success_at=now,
    )
    XeroConnection.objects.filter(pk=leader).update(refresh_lease_until=None)
    return tokens.access_token


def _grant_of(pk: int):
    """The live links sharing this link's consent tokens (itself included)."""
    grant_id = XeroConnection.objects.filter(pk=pk).values("grant_id")
    return XeroConnection.objects.live().filter(grant_id__in=grant_id)


def _one_per_grant(links):
    seen = set()
    for link in links:
        if link.grant_id not in seen:
            seen.add(link.grant_id)
            yield link


def _wait_for_lease(pk: int, *, force: bool) -> XeroConnection | None:
    """Take the refresh lease and return the row as it is now; None when a refresh is no longer needed."""
    deadline = time.monotonic() + settings.XERO_REFRESH_WAIT_SECONDS
    while True:
        connection = XeroConnection.objects.get(pk=pk)
        if connection.status != Status.ACTIVE:
            raise XeroNeedsRelink(connection.last_error or "The Xero add-on needs to be linked again.")
        if not force and not _expiring(connection):
            return None
        if _take_lease(pk):
            connection.refresh_from_db()  # the state under the lease is the one that counts
            if not force and not _expiring(connection):
                XeroConnection.objects.filter(pk=pk).update(refresh_lease_until=None)
                return None
            return connection
        if time.monotonic() > deadline:
            raise XeroError("Another worker is still refreshing the Xero link; this will be tried again.")
        time.sleep(0.05)


def _take_lease(pk: int) -> bool:
    now = timezone.now()
    free = Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now)
    lease_until = now + datetime.timedelta(seconds=settings.XERO_REFRESH_WAIT_SECONDS)
    return XeroConnection.objects.filter(free, pk=pk).update(refresh_lease_until=lease_until) == 1
