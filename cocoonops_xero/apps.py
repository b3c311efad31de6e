from django.apps import AppConfig


class CocoonopsXeroConfig(AppConfig):
    name = "cocoonops_xero"
    verbose_name = "CocoonOPS"

    def ready(self):
        from . import checks, receivers  # noqa: F401  (registers the deployment checks and the sign-in log)
