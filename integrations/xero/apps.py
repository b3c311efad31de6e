from django.apps import AppConfig


class XeroConfig(AppConfig):
    """The Xero add-on. Talks to Xero only over HTTP, through the `api` package."""

    name = "integrations.xero"
    label = "xero"
    verbose_name = "Xero add-on"

    def ready(self):
        # Registers the system checks, the document panels, the code advisor and the signal receivers.
        from integrations.xero import checks  # noqa: F401
        from integrations.xero.outbound import panels, receivers  # noqa: F401
        from integrations.xero.setup import code_advice  # noqa: F401
