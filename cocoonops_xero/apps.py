from django.apps import AppConfig


class CocoonopsXeroConfig(AppConfig):
    name = "cocoonops_xero"
    verbose_name = "CocoonOPS"
