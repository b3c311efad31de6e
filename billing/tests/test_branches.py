"""Branches or depots: optional; once there are any, a document says which one it comes from, by default its
billing account's, and a rate may name its service line."""

import pytest
from django.urls import reverse

from billing.models import Branch, Invoice, Rate

from .factories import BillingAccountFactory, RateFactory, TaxRateFactory, draft_with_lines, line
from .test_views import invoice_post, line_data

pytestmark = pytest.mark.django_db


def test_without_branches_no_page_asks_for_one(staff):
    assert 'name="branch"' not in staff.get(reverse("billing:invoice_create")).content.decode()
    assert 'name="default_branch"' not in staff.get(reverse("billing:account_create")).content.decode()


def test_a_draft_comes_from_its_billing_accounts_branch_unless_another_is_chosen(staff):
    auckland, wellington = Branch.objects.create(name="Auckland"), Branch.objects.create(name="Wellington")
    account, rate, gst = BillingAccountFactory(default_branch=auckland), RateFactory(), TaxRateFactory()
    assert "The billing account&#x27;s branch" in staff.get(reverse("billing:invoice_create")).content.decode()
    staff.post(reverse("billing:invoice_create"), invoice_post(account, line_data(rate, gst)) | {"branch": ""})
    staff.post(
        reverse("billing:invoice_create"), invoice_post(account, line_data(rate, gst)) | {"branch": wellington.pk}
    )
    assert list(Invoice.objects.order_by("pk").values_list("branch__name", flat=True)) == ["Auckland", "Wellington"]


def test_the_services_default_a_drafts_branch_to_its_billing_accounts():
    branch = Branch.objects.create(name="Christchurch")
    draft = draft_with_lines(line(), billing_account=BillingAccountFactory(default_branch=branch))
    assert draft.branch == branch


def test_the_document_page_shows_the_branch(staff):
    draft = draft_with_lines(
        line(), billing_account=BillingAccountFactory(), branch=Branch.objects.create(name="Napier")
    )
    assert 'data-testid="branch">Napier<' in staff.get(draft.get_absolute_url()).content.decode()


def test_a_rate_keeps_its_service_line(staff):
    staff.post(
        reverse("billing:rate_create"),
        {"label": "Air freight", "category": "freight", "service": "Air", "revenue_account_code": "200"},
    )
    assert Rate.objects.get(label="Air freight").service == "Air"
