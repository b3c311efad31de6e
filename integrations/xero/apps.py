from django.apps import AppConfig


class XeroConfig(AppConfig):
    """The Xero add-on. Talks to Xero only over HTTP, through `client.py`."""

    name = "integrations.xero"
    label = "xero"
    verbose_name = "Xero add-on"

    def ready(self):
        from . import checks, code_advice, panels, receivers  # noqa: F401  (registers checks, document panels, the code advisor, receivers)
