"""Changes that Xero would announce by webhook. Every create or update of an invoice, credit note
or contact — by the API or by a person in the sandbox's pages — calls `record_event`, inside the
transaction that made the change, so an event exists exactly when the change committed.
`webhooks.deliver_due` later batches, signs and sends them.

`resourceUrl` points at the Accounting API base in the setting `XERO_SANDBOX_PUBLIC_API_URL`
(e.g. `http://127.0.0.1:8000/xero-sandbox/api.xro/2.0`, so that the URL really answers), or at
Xero's real host when it is not set, as Xero's own events do.
"""

from django.conf import settings
from django.utils import timezone

from .models import App, Organisation, WebhookEvent

CATEGORIES = {"INVOICE": "Invoices", "CREDITNOTE": "CreditNotes", "CONTACT": "Contacts"}
# Xero has no delete or void event: deleting or voiding a document is an UPDATE.
EVENT_TYPES = {"CREATE", "UPDATE"}
XERO_API_BASE = "https://api.xero.com/api.xro/2.0"


def record_event(*, organisation: Organisation, category: str, resource_id, event_type: str) -> None:
    """One event per app that is connected to the organisation and has a webhook URL."""
    category, event_type = category.upper(), event_type.upper()
    if category not in CATEGORIES or event_type not in EVENT_TYPES:
        raise ValueError(f"No Xero webhook event {category}/{event_type}")
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
    # `or`: an environment variable left empty means "not set", not "no host".
    return (getattr(settings, "XERO_SANDBOX_PUBLIC_API_URL", "") or XERO_API_BASE).rstrip("/")
