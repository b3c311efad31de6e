"""Xero's three hosts, mirrored under /xero-sandbox/."""

from django.urls import path, re_path

from . import router

urlpatterns = [
    re_path(r"^api\.xro/2\.0/(?P<path>.+)$", router.accounting_api),
]
