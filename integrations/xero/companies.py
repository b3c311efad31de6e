"""Which company a page or a button is about: each company has its own Xero link."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from billing.models import Company


def company_chosen(data) -> Company:
    """The company named by `?company=` (or a form's `company` field); the default company when none is named,
    as on an installation with one company, whose pages name none."""
    company_id = data.get("company", "")
    if not company_id:
        return Company.objects.default()
    if not company_id.isdigit():
        raise Http404("No such company.")
    return get_object_or_404(Company, pk=company_id)
