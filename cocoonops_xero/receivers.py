"""Sign-in events, logged for whoever watches the platform (never a password: Django hands receivers
the credentials with it masked)."""

import logging

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

logger = logging.getLogger("cocoonops_xero.sign_in")


@receiver(user_login_failed, dispatch_uid="log-failed-sign-in")
def log_failed_sign_in(sender, credentials, request=None, **kwargs):
    address = request.META.get("REMOTE_ADDR", "?") if request is not None else "?"
    logger.warning("Failed sign-in for %r from %s", credentials.get("username", ""), address)
