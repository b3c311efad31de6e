"""The sandbox's staff pages, under /xero-sandbox/ (clear of the identity and API paths)."""

from django.urls import path

from . import pages
from .models import Document

app_name = "xero_sandbox"

ORG = "orgs/<int:org_pk>/"
DOCUMENT = ORG + "documents/<int:pk>/"

urlpatterns = [
    path("", pages.OrganisationListView.as_view(), name="home"),
    path("orgs/", pages.OrganisationListView.as_view(), name="organisation_list"),
    path(ORG, pages.OrganisationDetailView.as_view(), name="organisation_detail"),
    path(
        ORG + "tracking-options/<int:pk>/archive/",
        pages.TrackingOptionArchiveView.as_view(archived=True),
        name="tracking_option_archive",
    ),
    path(
        ORG + "tracking-options/<int:pk>/restore/",
        pages.TrackingOptionArchiveView.as_view(archived=False),
        name="tracking_option_restore",
    ),
    path(ORG + "contacts/", pages.ContactListView.as_view(), name="contact_list"),
    path(ORG + "contacts/<int:pk>/archive/", pages.ContactArchiveView.as_view(archived=True), name="contact_archive"),
    path(
        ORG + "contacts/<int:pk>/unarchive/", pages.ContactArchiveView.as_view(archived=False), name="contact_unarchive"
    ),
    path(ORG + "accounts/", pages.AccountListView.as_view(), name="account_list"),
    path(ORG + "tax-rates/", pages.TaxRateListView.as_view(), name="taxrate_list"),
    path(ORG + "invoices/", pages.DocumentListView.as_view(document_types=Document.INVOICE_TYPES), name="invoice_list"),
    path(
        ORG + "credit-notes/",
        pages.DocumentListView.as_view(document_types=Document.CREDIT_NOTE_TYPES),
        name="credit_note_list",
    ),
    path(DOCUMENT, pages.DocumentDetailView.as_view(), name="document_detail"),
    path(DOCUMENT + "pay-in-full/", pages.DocumentPayFullView.as_view(), name="document_pay_full"),
    path(DOCUMENT + "pay/", pages.DocumentPayPartView.as_view(), name="document_pay_part"),
    path(DOCUMENT + "payments/<int:payment_pk>/delete/", pages.PaymentDeleteView.as_view(), name="payment_delete"),
    path(DOCUMENT + "void/", pages.DocumentVoidView.as_view(), name="document_void"),
    path(DOCUMENT + "delete/", pages.DocumentDeleteView.as_view(), name="document_delete"),
    path(
        DOCUMENT + "attachments/<uuid:attachment_id>/",
        pages.DocumentAttachmentView.as_view(),
        name="document_attachment",
    ),
    path(ORG + "faults/", pages.FaultAddView.as_view(), name="fault_add"),
    path(ORG + "faults/<int:pk>/remove/", pages.FaultRemoveView.as_view(), name="fault_remove"),
    path("webhooks/", pages.WebhookListView.as_view(), name="webhook_list"),
    path("webhooks/intent-to-receive/", pages.IntentToReceiveView.as_view(), name="webhook_intent"),
    path("webhooks/deliver/", pages.DeliverNowView.as_view(), name="webhook_deliver"),
    path("requests/", pages.RequestLogView.as_view(), name="request_log"),
]
