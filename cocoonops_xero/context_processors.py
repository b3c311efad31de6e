from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from .tasks import HEARTBEAT_CACHE_KEY


def worker_status(request):
    """When a background worker was last seen, for the footer of every signed-in page."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    seen = cache.get(HEARTBEAT_CACHE_KEY)
    return {"worker_last_seen": parse_datetime(seen) if seen else None}
