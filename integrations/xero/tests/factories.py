"""Factories for the add-on's rows: a linked organisation, webhook events. A sync record is made by
issuing a document (`conftest.issued`), as in the product: the outbox row is written by the issue."""

import datetime
import uuid

import factory
from django.utils import timezone

from billing.models import Company
from integrations.xero.models import WebhookEvent, XeroConnection


class XeroConnectionFactory(factory.django.DjangoModelFactory):
    """Linked, with the chart of accounts and tax rates the in-memory Xero (api/fake.py) starts with."""

    class Meta:
        model = XeroConnection

    company = factory.LazyFunction(Company.objects.default)
    tenant_id = factory.LazyFunction(uuid.uuid4)
    connection_id = factory.LazyFunction(uuid.uuid4)
    tenant_name = "Fake Freight NZ Ltd"
    country_code = "NZ"
    base_currency = "NZD"
    status = XeroConnection.Status.ACTIVE
    access_token = "not-used-by-the-fake"
    refresh_token = "not-used-by-the-fake"
    access_token_expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(minutes=30))
    linked_at = factory.LazyFunction(timezone.now)
    chart_of_accounts = factory.LazyFunction(
        lambda: [
            {
                "code": "200",
                "name": "Sales",
                "type": "REVENUE",
                "class": "REVENUE",
                "status": "ACTIVE",
                "system_account": "",
                "tax_type": "OUTPUT2",
            },  # fmt: skip
        ]
    )
    tax_rates = factory.LazyFunction(
        lambda: [
            {
                "name": "GST on Income",
                "tax_type": "OUTPUT2",
                "status": "ACTIVE",
                "can_apply_to_revenue": True,
                "effective_rate": "15.0000",
            },  # fmt: skip
        ]
    )
    currencies = factory.LazyFunction(lambda: ["NZD"])
    reference_data_loaded_at = factory.LazyFunction(timezone.now)


class WebhookEventFactory(factory.django.DjangoModelFactory):
    """A change Xero announced: by default an update of an invoice, just now."""

    class Meta:
        model = WebhookEvent

    tenant_id = factory.LazyFunction(uuid.uuid4)
    category = "INVOICE"
    event_type = "UPDATE"
    resource_id = factory.LazyFunction(uuid.uuid4)
    event_date = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)
