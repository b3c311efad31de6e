from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """The platform's add-ons. Each lives in its own package (`integrations/xero/`, ...)."""

    name = "integrations"
    verbose_name = "Add-ons"
