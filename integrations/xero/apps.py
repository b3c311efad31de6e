from django.apps import AppConfig
from django.db.backends.signals import connection_created


class XeroConfig(AppConfig):
    """The Xero add-on. Talks to Xero only over HTTP, through the `api` package."""

    name = "integrations.xero"
    label = "xero"
    verbose_name = "Xero add-on"

    def ready(self):
        # Registers the system checks, the document panels, the code advisor and the signal receivers.
        from integrations.xero import checks  # noqa: F401
        from integrations.xero.monitoring.figures import register_sqlite_percentile
        from integrations.xero.outbound import panels, receivers  # noqa: F401
        from integrations.xero.setup import code_advice  # noqa: F401

        connection_created.connect(register_sqlite_percentile, dispatch_uid="xero_sqlite_percentile")
