from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from integrations.xero.monitoring.views import metrics

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="billing:invoice_list"), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),  # Prometheus' scrape, for the bearer of METRICS_TOKEN
    path("", include("billing.urls")),
    path("", include("integrations.urls")),
    path("integrations/xero/", include("integrations.xero.urls")),
]

if settings.XERO_SANDBOX_ENABLED:
    urlpatterns.insert(0, path("xero-sandbox/", include("xero_sandbox.urls")))
