from django.urls import path

from integrations.xero.inbound import views as inbound
from integrations.xero.link import views as link
from integrations.xero.monitoring import views as monitoring
from integrations.xero.outbound import views as outbound
from integrations.xero.setup import views as setup

app_name = "xero"

urlpatterns = [
    path("link/", link.link, name="link"),
    path("callback/", link.callback, name="callback"),
    path("choose/", link.choose, name="choose"),
    path("disconnect/", link.disconnect, name="disconnect"),
    path("documents/<int:pk>/retry/", outbound.retry, name="retry"),
    path("documents/<int:pk>/online-invoice/", outbound.online_invoice, name="online_invoice"),
    path("accounts/<int:pk>/branding/", outbound.branding_choose, name="branding_choose"),
    path("earlier-documents/", outbound.backfill_preview, name="backfill"),
    path("earlier-documents/send/", outbound.backfill_start, name="backfill_start"),
    path("earlier-documents/<int:pk>/", outbound.backfill_detail, name="backfill_detail"),
    # --- Sync exceptions page (outbound/views.py) ---
    path("exceptions/", outbound.sync_exception_list, name="sync_exceptions"),
    path("exceptions/<int:pk>/acknowledge/", outbound.sync_exception_acknowledge, name="sync_exception_acknowledge"),
    path("exceptions/<int:pk>/link-clash/", outbound.sync_exception_link_clash, name="sync_exception_link_clash"),
    # --- end of Sync exceptions page ---
    # --- Set-up check page (setup/views.py) ---
    path("setup-check/", setup.setup_check_page, name="setup_check"),
    path("setup-check/recheck/", setup.setup_check_recheck, name="setup_check_recheck"),
    path("setup-check/tracking/", setup.setup_check_tracking, name="setup_check_tracking"),
    # --- end of Set-up check page ---
    path("sync/", monitoring.sync_charts, name="sync_charts"),
    # --- Webhooks from Xero (inbound/views.py); XERO_WEBHOOK_URL points here ---
    path("webhooks/", inbound.receive, name="webhooks"),
]
