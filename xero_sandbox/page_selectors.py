"""Reads for the sandbox's staff pages: what a person acting as "Xero" looks at."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import (
    Account,
    Attachment,
    BrandingTheme,
    Connection,
    Contact,
    Document,
    DocumentLine,
    Fault,
    Organisation,
    Payment,
    RequestLog,
    TaxRate,
    TrackingCategory,
    TrackingOption,
    WebhookDelivery,
    WebhookEvent,
)

TRAFFIC_MINUTES = 15  # the per-minute table of the request log


def _count_of(queryset: QuerySet) -> Subquery:
    """A correlated COUNT(*) for an annotation, without the row blow-up of joining several relations."""
    counted = queryset.order_by().values("organisation").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _with_app_names(organisations) -> list[Organisation]:
    # An app connected through several consents appears once.
    for org in organisations:
        org.app_names = sorted({connection.app.name for connection in org.connections.all()})
    return list(organisations)


def organisation_list() -> list[Organisation]:
    """Every organisation with its connected apps and how many contacts, invoices and credit notes it holds."""
    return _organisations()


def organisation_get(*, pk: int) -> Organisation:
    """One organisation, annotated as in the list. Raises Organisation.DoesNotExist."""
    found = _organisations(pk=pk)
    if not found:
        raise Organisation.DoesNotExist(pk)
    return found[0]


def _organisations(**filters) -> list[Organisation]:
    mine = {"organisation": OuterRef("pk")}
    organisations = (
        Organisation.objects.filter(**filters)
        .annotate(
            contact_count=_count_of(Contact.objects.filter(**mine)),
            invoice_count=_count_of(Document.objects.filter(type__in=Document.INVOICE_TYPES, **mine)),
            credit_note_count=_count_of(Document.objects.filter(type__in=Document.CREDIT_NOTE_TYPES, **mine)),
        )
        .prefetch_related(Prefetch("connections", queryset=Connection.objects.select_related("app")))
    )
    return _with_app_names(organisations)


def contact_list(*, organisation: Organisation) -> QuerySet[Contact]:
    return Contact.objects.filter(organisation=organisation).order_by("name", "pk")


def contact_find(*, organisation: Organisation, pk: int) -> Contact | None:
    return Contact.objects.filter(organisation=organisation, pk=pk).first()


def account_list(*, organisation: Organisation) -> QuerySet[Account]:
    return Account.objects.filter(organisation=organisation)


def tax_rate_list(*, organisation: Organisation) -> QuerySet[TaxRate]:
    return TaxRate.objects.filter(organisation=organisation)


def tracking_category_list(*, organisation: Organisation) -> QuerySet[TrackingCategory]:
    """The categories the API can still show (active and archived), each with its options but deleted ones."""
    options = TrackingOption.objects.exclude(status="DELETED").order_by("name", "pk")
    categories = TrackingCategory.objects.filter(organisation=organisation).exclude(status="DELETED")
    return categories.order_by("status", "name", "pk").prefetch_related(Prefetch("options", queryset=options))


def tracking_option_find(*, organisation: Organisation, pk: int) -> TrackingOption | None:
    found = TrackingOption.objects.filter(category__organisation=organisation, pk=pk).exclude(status="DELETED")
    return found.select_related("category").first()


def branding_theme_list(*, organisation: Organisation) -> QuerySet[BrandingTheme]:
    """The themes, the default (lowest sort order) first."""
    return BrandingTheme.objects.filter(organisation=organisation).order_by("sort_order", "pk")


def document_list(*, organisation: Organisation, types: tuple[str, ...], status: str = "") -> QuerySet[Document]:
    """Sales documents and suppliers' alike (the page shows each one's type), as Xero lists them."""
    documents = Document.objects.filter(organisation=organisation, type__in=types).select_related("contact")
    return documents.filter(status=status) if status else documents


def document_get(*, organisation: Organisation, pk: int) -> Document:
    """A document with its contact and branding theme; raises Document.DoesNotExist."""
    documents = Document.objects.select_related("contact", "organisation", "branding_theme")
    return documents.get(organisation=organisation, pk=pk)


def document_lines(*, document: Document) -> QuerySet[DocumentLine]:
    return document.lines.all()


def document_attachments(*, document: Document) -> QuerySet[Attachment]:
    """The files attached to a document, oldest first, without their bytes."""
    return document.attachments.defer("content").order_by("created_at", "pk")


def document_attachment_find(*, document: Document, attachment_id) -> Attachment | None:
    return Attachment.objects.filter(document=document, attachment_id=attachment_id).first()


def document_payments(*, document: Document) -> QuerySet[Payment]:
    return document.payments.order_by("date", "pk")


def payment_find(*, document: Document, pk: int) -> Payment | None:
    return Payment.objects.filter(document=document, pk=pk).first()


def fault_list(*, organisation: Organisation) -> QuerySet[Fault]:
    return Fault.objects.filter(organisation=organisation)


def fault_find(*, organisation: Organisation, pk: int) -> Fault | None:
    return Fault.objects.filter(organisation=organisation, pk=pk).first()


def webhook_delivery_list(*, limit: int = 100) -> list[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.select_related("app").annotate(event_count=Count("events"))
    return list(deliveries[:limit])


def webhook_pending_events(*, limit: int = 100) -> QuerySet[WebhookEvent]:
    """Events not yet put into a delivery, oldest first (the order they will be sent in)."""
    return WebhookEvent.objects.filter(delivery__isnull=True).select_related("app", "organisation")[:limit]


def request_log_list(*, organisation: Organisation | None = None, status: str = "") -> QuerySet[RequestLog]:
    """The latest calls, newest first. `status` is a code ("429") or a class ("4xx")."""
    calls = RequestLog.objects.select_related("organisation", "app")
    if organisation is not None:
        calls = calls.filter(organisation=organisation)
    if status.endswith("xx"):
        first = int(status[0]) * 100
        calls = calls.filter(status_code__gte=first, status_code__lt=first + 100)
    elif status:
        calls = calls.filter(status_code=int(status))
    return calls


@dataclass
class Traffic:
    """One organisation's recent calls: what the rate limits look at."""

    organisation: Organisation | None  # None: calls refused before a tenant was known
    throttled_last_hour: int = 0
    per_minute: list[int] = field(default_factory=lambda: [0] * TRAFFIC_MINUTES)  # [0] is the latest minute

    @property
    def last_minute(self) -> int:
        return self.per_minute[0]


def request_traffic(*, now: datetime | None = None) -> list[Traffic]:
    """Per organisation: calls in the last minute, 429s in the last hour and calls per minute over the
    last 15 minutes — all counted in one aggregate query over the last hour of the log."""
    now = now or timezone.now()
    minute = timedelta(minutes=1)
    buckets = {
        f"m{i}": Count("pk", filter=Q(at__gt=now - (i + 1) * minute, at__lte=now - i * minute))
        for i in range(TRAFFIC_MINUTES)
    }
    rows = (
        RequestLog.objects.filter(at__gt=now - timedelta(hours=1), at__lte=now)
        .order_by()
        .values("organisation")
        .annotate(throttled=Count("pk", filter=Q(status_code=429)), **buckets)
    )
    counted = {row["organisation"]: ([row[f"m{i}"] for i in range(TRAFFIC_MINUTES)], row["throttled"]) for row in rows}
    traffic = []
    for org in Organisation.objects.all():
        per_minute, throttled = counted.pop(org.pk, ([0] * TRAFFIC_MINUTES, 0))
        traffic.append(Traffic(organisation=org, throttled_last_hour=throttled, per_minute=per_minute))
    if None in counted:
        per_minute, throttled = counted[None]
        traffic.append(Traffic(organisation=None, throttled_last_hour=throttled, per_minute=per_minute))
    return traffic
