from django.urls import path

from . import exception_views, views

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
    # --- end of Sync exceptions page ---
]
