from django.apps import AppConfig


class XeroSandboxConfig(AppConfig):
    """A local stand-in for Xero (identity, connections, Accounting API, webhooks).

    Separate from the integration, which never imports it: the integration reaches it only over
    HTTP, through the XERO_*_URL settings, exactly as it reaches the real Xero.
    """

    name = "xero_sandbox"
    verbose_name = "Xero sandbox"
