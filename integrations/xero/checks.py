from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def token_keys_configured(app_configs, **kwargs):
    if settings.DEBUG or settings.XERO_TOKEN_KEYS:
        return []
    return [
        Error(
            "XERO_TOKEN_KEYS is not set.",
            hint="Xero tokens are stored encrypted: set one or more Fernet keys, comma-separated.",
            id="xero.E001",
        )
    ]
