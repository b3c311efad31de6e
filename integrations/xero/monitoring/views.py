import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from billing.models import Company
from billing.selectors import several_companies
from integrations.xero.companies import company_chosen
from integrations.xero.monitoring import metrics as prometheus
from integrations.xero.monitoring.page import sync_page
from integrations.xero.permissions import sync_viewer_required


@require_GET
@sync_viewer_required
def sync_charts(request):
    """The sync at a glance, for one company (chosen with ?company= when there are several)."""
    companies = list(Company.objects.order_by("pk")) if several_companies() else []
    company = company_chosen(request.GET)
    return render(request, "xero/sync_charts.html", {"companies": companies, "company": company, **sync_page(company)})


@login_not_required
@require_GET
def metrics(request):
    """Prometheus' scrape, for a bearer of METRICS_TOKEN only (none set: closed to every caller)."""
    if not _bearer_of_metrics_token(request.headers.get("Authorization", "")):
        response = HttpResponse(
            "Scraping needs Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(prometheus.metrics_text(), content_type=CONTENT_TYPE_LATEST)


def _bearer_of_metrics_token(authorization: str) -> bool:
    token = settings.METRICS_TOKEN
    # Bytes on both sides: compare_digest refuses non-ASCII text, and a header may hold anything.
    given = authorization.encode("utf-8", "surrogatepass")
    return bool(token) and hmac.compare_digest(given, f"Bearer {token}".encode())
