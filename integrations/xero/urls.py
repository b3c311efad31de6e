from django.urls import path

from . import exception_views, setup_check_views, views, webhook_views

app_name = "xero"

urlpatterns = [
    path("link/", views.link, name="link"),
    path("callback/", views.callback, name="callback"),
    path("choose/", views.choose, name="choose"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("documents/<int:pk>/retry/", views.retry, name="retry"),
    # --- Sync exceptions page (exception_views.py) ---
    path("exceptions/", exception_views.sync_exception_list, name="sync_exceptions"),
    path("exceptions/<int:pk>/acknowledge/", exception_views.sync_exception_acknowledge, name="sync_exception_acknowledge"),
    path("exceptions/<int:pk>/link-clash/", exception_views.sync_exception_link_clash, name="sync_exception_link_clash"),
    # --- end of Sync exceptions page ---
    # --- Set-up check page (setup_check_views.py) ---
    path("setup-check/", setup_check_views.setup_check_page, name="setup_check"),
    path("setup-check/recheck/", setup_check_views.setup_check_recheck, name="setup_check_recheck"),
    # --- end of Set-up check page ---
    # --- Webhooks from Xero (webhook_views.py); XERO_WEBHOOK_URL points here ---
    path("webhooks/", webhook_views.receive, name="webhooks"),
]
