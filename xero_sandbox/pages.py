"""The sandbox's staff pages: look at the organisations' books and act as "Xero" in a demo or a test
(pay, void, delete, archive, inject faults, send webhooks). Views only load, call and redirect:
reads are in `page_selectors`, writes in `books` and `page_services`.

The project's middleware already limits every page to signed-in staff; each action also needs a
permission on the sandbox's models (a superuser has them all)."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import ListView, TemplateView

from . import books, online_invoice, webhooks
from . import page_selectors as selectors
from . import page_services as services
from .models import Document, Organisation
from .page_forms import DocumentFilterForm, FaultForm, IntentToReceiveForm, PartPaymentForm, RequestLogFilterForm

PAGE_SIZE = 100


class OrganisationMixin:
    """Loads the organisation of the URL (`org_pk`) as `self.organisation`, for the page and its tabs."""

    def dispatch(self, request, *args, **kwargs):
        try:
            self.organisation = selectors.organisation_get(pk=kwargs["org_pk"])
        except Organisation.DoesNotExist:
            raise Http404("No such organisation in the sandbox.") from None
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(organisation=self.organisation, **kwargs)


class ActionMixin(PermissionRequiredMixin):
    """A POST that changes something, then goes back to a page with what happened as a message.

    Put it first among the bases, so that the permission is checked before anything is loaded.
    With a `form_class`, the bound form is `self.form` and an invalid one changes nothing."""

    http_method_names = ["post"]
    form_class = None

    def post(self, request, *args, **kwargs):
        if self.form_class is not None:
            self.form = self.form_class(request.POST)
            if not self.form.is_valid():
                messages.error(request, _form_errors(self.form))
                return redirect(self.next_url())
        try:
            message = self.act()
        except (books.RuleBroken, services.ContactRefused) as refusal:
            messages.error(request, str(refusal))  # Xero's own words; nothing was changed
        else:
            messages.success(request, message)
        return redirect(self.next_url())

    # Subclasses (or a mixin after this one) give `act() -> str`, the success message, and `next_url()`.


def _found(row):
    """The row a URL names, looked up within its organisation or document: another's is not found."""
    if row is None:
        raise Http404("Not found in this organisation.")
    return row


def _form_errors(form) -> str:
    return "; ".join(
        f"{form.fields[name].label or name.title() if name in form.fields else 'Form'}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


# --- Organisations -----------------------------------------------------------------------------
class OrganisationListView(TemplateView):
    template_name = "xero_sandbox/organisation_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(organisations=selectors.organisation_list(), **kwargs)


class OrganisationDetailView(OrganisationMixin, TemplateView):
    template_name = "xero_sandbox/organisation_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            faults=selectors.fault_list(organisation=self.organisation),
            fault_form=FaultForm(),
            tracking_categories=selectors.tracking_category_list(organisation=self.organisation),
            branding_themes=selectors.branding_theme_list(organisation=self.organisation),
            **kwargs,
        )


class ContactListView(OrganisationMixin, ListView):
    template_name = "xero_sandbox/contact_list.html"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        return selectors.contact_list(organisation=self.organisation)


class AccountListView(OrganisationMixin, ListView):
    template_name = "xero_sandbox/account_list.html"

    def get_queryset(self):
        return selectors.account_list(organisation=self.organisation)


class TaxRateListView(OrganisationMixin, ListView):
    template_name = "xero_sandbox/taxrate_list.html"

    def get_queryset(self):
        return selectors.tax_rate_list(organisation=self.organisation)


class TrackingOptionArchiveView(ActionMixin, OrganisationMixin, View):
    """Archive (`archived=True`) or restore a tracking option."""

    permission_required = "xero_sandbox.change_trackingoption"
    archived = True

    def act(self) -> str:
        option = _found(selectors.tracking_option_find(organisation=self.organisation, pk=self.kwargs["pk"]))
        option = services.tracking_option_set_archived(option=option, archived=self.archived)
        return f"Tracking option {option.category.name}: {option.name} is now {option.status.lower()}."

    def next_url(self) -> str:
        return reverse("xero_sandbox:organisation_detail", args=[self.organisation.pk]) + "#tracking"


# --- Contacts ----------------------------------------------------------------------------------
class ContactArchiveView(ActionMixin, OrganisationMixin, View):
    """Archive (`archived=True`) or un-archive a contact."""

    permission_required = "xero_sandbox.change_contact"
    archived = True

    def act(self) -> str:
        contact = _found(selectors.contact_find(organisation=self.organisation, pk=self.kwargs["pk"]))
        contact = services.contact_set_archived(contact=contact, archived=self.archived)
        return f"{contact.name} is now {contact.status.lower()}."

    def next_url(self) -> str:
        return reverse("xero_sandbox:contact_list", args=[self.organisation.pk])


# --- Invoices and credit notes -----------------------------------------------------------------
class DocumentListView(OrganisationMixin, ListView):
    """Invoices and bills (`document_types=Document.INVOICE_TYPES`) or both kinds of credit notes
    (`CREDIT_NOTE_TYPES`), filtered by status."""

    template_name = "xero_sandbox/document_list.html"
    paginate_by = PAGE_SIZE
    document_types = Document.INVOICE_TYPES

    def get_queryset(self):
        self.filter_form = DocumentFilterForm(self.request.GET or None)
        status = self.filter_form.cleaned_data["status"] if self.filter_form.is_valid() else ""
        return selectors.document_list(organisation=self.organisation, types=self.document_types, status=status)

    def get_context_data(self, **kwargs):
        credit_notes = self.document_types == Document.CREDIT_NOTE_TYPES
        return super().get_context_data(filter_form=self.filter_form, credit_notes=credit_notes, **kwargs)


class DocumentMixin(OrganisationMixin):
    """Loads the organisation's document of the URL (`pk`) as `self.document`."""

    @property
    def document(self) -> Document:
        if not hasattr(self, "_document"):
            try:
                self._document = selectors.document_get(organisation=self.organisation, pk=self.kwargs["pk"])
            except Document.DoesNotExist:
                raise Http404("No such invoice or credit note in this organisation.") from None
        return self._document

    def next_url(self) -> str:
        return reverse("xero_sandbox:document_detail", args=[self.organisation.pk, self.kwargs["pk"]])


class DocumentDetailView(DocumentMixin, TemplateView):
    template_name = "xero_sandbox/document_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            document=self.document,
            lines=selectors.document_lines(document=self.document),
            payments=selectors.document_payments(document=self.document),
            attachments=selectors.document_attachments(document=self.document),
            part_payment_form=PartPaymentForm(),
            **kwargs,
        )


class DocumentAttachmentView(DocumentMixin, View):
    """A file the platform attached to the document, as a download (whether or not it is shown online)."""

    def get(self, request, *args, **kwargs):
        found = selectors.document_attachment_find(document=self.document, attachment_id=kwargs["attachment_id"])
        return online_invoice.download(_found(found))


class DocumentActionView(ActionMixin, DocumentMixin, View):
    permission_required = "xero_sandbox.change_document"


class DocumentPayFullView(DocumentActionView):
    def act(self) -> str:
        payment = books.document_pay(document=self.document, amount=self.document.amount_due)
        return f"Payment of {payment.amount} recorded on {self.document}."


class DocumentPayPartView(DocumentActionView):
    form_class = PartPaymentForm

    def act(self) -> str:
        payment = books.document_pay(document=self.document, amount=self.form.cleaned_data["amount"])
        return f"Payment of {payment.amount} recorded on {self.document}."


class PaymentDeleteView(DocumentActionView):
    def act(self) -> str:
        payment = _found(selectors.payment_find(document=self.document, pk=self.kwargs["payment_pk"]))
        books.payment_delete(payment=payment)
        return f"Payment of {payment.amount} deleted from {self.document}."


class DocumentVoidView(DocumentActionView):
    def act(self) -> str:
        books.document_void(document=self.document)
        return f"{self.document} voided."


class DocumentDeleteView(DocumentActionView):
    def act(self) -> str:
        books.document_delete(document=self.document)
        return f"{self.document} deleted."


# --- Faults ------------------------------------------------------------------------------------
class FaultActionView(ActionMixin, OrganisationMixin, View):
    def next_url(self) -> str:
        return reverse("xero_sandbox:organisation_detail", args=[self.organisation.pk])


class FaultAddView(FaultActionView):
    permission_required = "xero_sandbox.add_fault"
    form_class = FaultForm

    def act(self) -> str:
        fault = services.fault_add(organisation=self.organisation, **self.form.cleaned_data)
        return f"Fault added: {fault.get_kind_display()}."


class FaultRemoveView(FaultActionView):
    permission_required = "xero_sandbox.delete_fault"

    def act(self) -> str:
        fault = _found(selectors.fault_find(organisation=self.organisation, pk=self.kwargs["pk"]))
        services.fault_remove(fault=fault)
        return f"Fault removed: {fault.get_kind_display()}."


# --- Webhooks ----------------------------------------------------------------------------------
class WebhookListView(TemplateView):
    template_name = "xero_sandbox/webhooks.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("intent_form", IntentToReceiveForm())
        return super().get_context_data(
            deliveries=selectors.webhook_delivery_list(),
            pending_events=selectors.webhook_pending_events(),
            **kwargs,
        )


class IntentToReceiveView(PermissionRequiredMixin, WebhookListView):
    """Runs Xero's intent-to-receive check against an app's webhook URL and shows what it observed.

    The answer is shown on the page itself rather than after a redirect: it is a report, not a change."""

    permission_required = "xero_sandbox.change_webhookdelivery"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = IntentToReceiveForm(request.POST)
        result = webhooks.intent_to_receive(app=form.cleaned_data["app"]) if form.is_valid() else None
        return self.render_to_response(self.get_context_data(intent_form=form, intent_result=result))


class DeliverNowView(ActionMixin, View):
    permission_required = "xero_sandbox.change_webhookdelivery"

    def act(self) -> str:
        sent = webhooks.deliver_due()
        delivered = sum(1 for delivery in sent if delivery.delivered_at)
        if not sent:
            return "Nothing was due."
        return f"Sent {len(sent)} (delivered {delivered}, not accepted {len(sent) - delivered})."

    def next_url(self) -> str:
        return reverse("xero_sandbox:webhook_list")


# --- Request log -------------------------------------------------------------------------------
class RequestLogView(ListView):
    template_name = "xero_sandbox/request_log.html"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.filter_form = RequestLogFilterForm(self.request.GET or None)
        filters = self.filter_form.cleaned_data if self.filter_form.is_valid() else {}
        return selectors.request_log_list(organisation=filters.get("organisation"), status=filters.get("status", ""))

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filter_form=self.filter_form,
            traffic=selectors.request_traffic(),
            minutes=range(selectors.TRAFFIC_MINUTES),
            **kwargs,
        )
