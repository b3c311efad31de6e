"""Changes that Xero would announce by webhook. Every create or update of an invoice, credit note
or contact — by the API or by a person in the sandbox's pages — calls `record_event`, inside the
transaction that made the change, so an event exists exactly when the change committed."""

from django.conf import settings
from django.utils import timezone

from .models import App, Organisation, WebhookEvent

CATEGORIES = {"INVOICE": "Invoices", "CREDITNOTE": "CreditNotes", "CONTACT": "Contacts"}


def record_event(*, organisation: Organisation, category: str, resource_id, event_type: str) -> None:
    """One event per app that is connected to the organisation and has a webhook URL."""
    apps = App.objects.filter(connections__organisation=organisation).exclude(webhook_url="").distinct()
    now = timezone.now()
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            app=app,
            organisation=organisation,
            category=category,
            event_type=event_type,
            resource_id=resource_id,
            resource_url=f"{_api_base()}/{CATEGORIES[category]}/{resource_id}",
            event_date=now,
        )
        for app in apps
    )


def _api_base() -> str:
    # Xero's events point at the real API host; the sandbox points at itself when it can tell.
    return getattr(settings, "XERO_SANDBOX_PUBLIC_API_URL", "https://api.xero.com/api.xro/2.0")
