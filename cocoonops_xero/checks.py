"""Deployment checks of the project's own (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def sandbox_not_mounted(app_configs, **kwargs):
    """The Xero sandbox answers as Xero to anyone (its API and consent pages need no platform login):
    it is for development, tests and benchmarks on one machine, never for a site people use."""
    if not settings.XERO_SANDBOX_ENABLED:
        return []
    return [
        Error(
            "XERO_SANDBOX_ENABLED is on: a fake Xero is mounted at /xero-sandbox/.",
            hint="Unset XERO_SANDBOX_ENABLED in production; point the XERO_*_URL settings at Xero's real hosts.",
            id="cocoonops.E001",
        )
    ]
