from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.utils.http import content_disposition_header
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, TemplateView, UpdateView

from . import pdf, selectors, services
from .forms import (
    BillingAccountForm,
    InvoiceFilterForm,
    InvoiceForm,
    InvoiceLineFormSet,
    RateForm,
    TaxRateForm,
    line_initial,
    too_many_lines,
)
from .models import BillingAccount, Invoice, Rate, TaxRate
from .panels import account_panels, annotate_document_list, document_panels, issue_concerns, issue_destinations

PAGE_SIZE = 50


class FormPageMixin(SuccessMessageMixin):
    """A create or edit page for one row, on the shared form template, with a message on success."""

    template_name = "billing/form.html"

    def get_context_data(self, **kwargs):
        name = self.model._meta.verbose_name
        title = f"Edit {name} “{self.object}”" if self.object else f"New {name}"
        return super().get_context_data(page_title=title, **kwargs)


class CodeFormPageMixin(FormPageMixin):
    """A rate or tax rate page: the accounting add-ons' codes to pick from, and their warnings, which are
    repeated after a save (the code is saved all the same)."""

    template_name = "billing/code_form.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        for warning in form.code_warnings:
            messages.warning(self.request, warning)
        return response


# --- Address book, rates and tax rates: plain rows, validated and saved by their ModelForms (no rule
# beyond the models' own; a rate's form saves it with its companies' codes through billing.services);
# documents go through billing.services -----------------------------------------------------------
class BillingAccountListView(PermissionRequiredMixin, ListView):
    permission_required = "billing.view_billingaccount"
    template_name = "billing/account_list.html"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        return selectors.billing_account_list(search=self.request.GET.get("q", "").strip())


class BillingAccountCreateView(PermissionRequiredMixin, FormPageMixin, CreateView):
    permission_required = "billing.add_billingaccount"
    model = BillingAccount
    form_class = BillingAccountForm
    success_url = reverse_lazy("billing:account_list")
    success_message = "Billing account %(code)s added."


class BillingAccountUpdateView(PermissionRequiredMixin, FormPageMixin, UpdateView):
    permission_required = "billing.change_billingaccount"
    model = BillingAccount
    form_class = BillingAccountForm
    success_url = reverse_lazy("billing:account_list")
    success_message = "Billing account %(code)s saved."

    def get_context_data(self, **kwargs):
        return super().get_context_data(panels=account_panels(self.request, self.object), **kwargs)


# --- Rates and tax rates --------------------------------------------------------------------
class RateListView(PermissionRequiredMixin, ListView):
    permission_required = "billing.view_rate"
    template_name = "billing/rate_list.html"

    def get_queryset(self):
        return selectors.rate_list()

    def get_context_data(self, **kwargs):
        return super().get_context_data(several_companies=selectors.several_companies(), **kwargs)


class RateCreateView(PermissionRequiredMixin, CodeFormPageMixin, CreateView):
    permission_required = "billing.add_rate"
    model = Rate
    form_class = RateForm
    success_url = reverse_lazy("billing:rate_list")
    success_message = "Rate “%(label)s” added."


class RateUpdateView(PermissionRequiredMixin, CodeFormPageMixin, UpdateView):
    permission_required = "billing.change_rate"
    model = Rate
    form_class = RateForm
    success_url = reverse_lazy("billing:rate_list")
    success_message = "Rate “%(label)s” saved."


class TaxRateListView(PermissionRequiredMixin, ListView):
    permission_required = "billing.view_taxrate"
    model = TaxRate
    template_name = "billing/taxrate_list.html"


class TaxRateCreateView(PermissionRequiredMixin, CodeFormPageMixin, CreateView):
    permission_required = "billing.add_taxrate"
    model = TaxRate
    form_class = TaxRateForm
    success_url = reverse_lazy("billing:taxrate_list")
    success_message = "Tax rate “%(name)s” added."


class TaxRateUpdateView(PermissionRequiredMixin, CodeFormPageMixin, UpdateView):
    permission_required = "billing.change_taxrate"
    model = TaxRate
    form_class = TaxRateForm
    success_url = reverse_lazy("billing:taxrate_list")
    success_message = "Tax rate “%(name)s” saved."


# --- Invoices and credit notes --------------------------------------------------------------
class InvoiceListView(PermissionRequiredMixin, ListView):
    permission_required = "billing.view_invoice"
    template_name = "billing/invoice_list.html"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        # A filter value that is not valid (an unknown status, a deleted account) is shown as an
        # error above the list; the filters that are valid still apply.
        self.several_companies = selectors.several_companies()
        self.filter_form = InvoiceFilterForm(self.request.GET, several_companies=self.several_companies)
        self.filter_form.is_valid()
        data = self.filter_form.cleaned_data
        return annotate_document_list(
            selectors.invoice_list(
                search=data.get("q", "").strip(),
                status=data.get("status", ""),
                kind=data.get("kind", ""),
                billing_account=data.get("billing_account"),
                company=data.get("company"),
            )
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filter_form=self.filter_form, several_companies=self.several_companies, **kwargs
        )


class InvoiceDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "billing.view_invoice"
    template_name = "billing/invoice_detail.html"
    queryset = Invoice.objects.select_related("billing_account", "credited_invoice").prefetch_related(
        "lines__rate", "lines__tax_rate"
    )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            panels=document_panels(self.request, self.object),
            several_companies=selectors.several_companies(),
            **kwargs,
        )


class InvoicePdfView(PermissionRequiredMixin, View):
    """An issued document as a PDF download (billing/pdf.py renders it); a draft has none."""

    permission_required = "billing.view_invoice"
    http_method_names = ["get", "head"]

    def get(self, request, pk):
        invoice = get_object_or_404(Invoice.objects.exclude(status=Invoice.Status.DRAFT), pk=pk)
        return HttpResponse(
            pdf.document_pdf(invoice),
            content_type="application/pdf",
            headers={"Content-Disposition": content_disposition_header(True, pdf.document_pdf_filename(invoice))},
        )


class InvoiceEditView(PermissionRequiredMixin, TemplateView):
    """Create a draft (`?kind=credit_note` for a credit note) or edit one, header and lines together."""

    template_name = "billing/invoice_form.html"

    def get_permission_required(self):
        return ["billing.change_invoice" if "pk" in self.kwargs else "billing.add_invoice"]

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        refusal = too_many_lines(request.POST) if request.method == "POST" else ""
        if refusal:  # before anything is read: Django would build a line form for each line the client claims
            return HttpResponseBadRequest(refusal, content_type="text/plain; charset=utf-8")
        self.invoice = self._load_invoice()
        if self.invoice.pk and not self.invoice.is_draft:
            messages.error(request, f"{self.invoice} is issued and can no longer be edited.")
            return redirect(self.invoice)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        form = InvoiceForm(instance=self.invoice)
        formset = InvoiceLineFormSet(initial=line_initial(self.invoice) if self.invoice.pk else None)
        return self.render_to_response(self.get_context_data(form=form, formset=formset))

    def post(self, request, *args, **kwargs):
        form = InvoiceForm(request.POST, instance=self.invoice)
        formset = InvoiceLineFormSet(request.POST)
        if form.is_valid() and formset.is_valid():
            try:
                invoice = services.invoice_save_draft(
                    invoice=form.instance, lines=[f.to_line_input() for f in formset.kept_forms()]
                )
            except ValidationError as error:
                # Its messages only: a dict keyed by a line's or a hidden field's name would not fit the form.
                form.add_error(None, error.messages)
            else:
                messages.success(request, f"{invoice} saved.")
                return redirect(invoice)
        return self.render_to_response(self.get_context_data(form=form, formset=formset))

    def get_context_data(self, **kwargs):
        return super().get_context_data(invoice=self.invoice, **kwargs)

    def _load_invoice(self) -> Invoice:
        if "pk" in self.kwargs:
            return get_object_or_404(Invoice, pk=self.kwargs["pk"])
        kind = self.request.GET.get("kind", Invoice.Kind.INVOICE)
        if kind not in Invoice.Kind.values:
            kind = Invoice.Kind.INVOICE
        return Invoice(kind=kind)


class InvoiceIssueView(PermissionRequiredMixin, TemplateView):
    """Issue, after a confirmation that says what happens next and, from the add-ons, why the accounting
    system would refuse the document: "Issue anyway" where fixing it later makes sense, no issue at all
    where it would leave a locked document nobody can send."""

    permission_required = "billing.issue_invoice"
    template_name = "billing/invoice_issue.html"

    def get(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        if not invoice.is_draft:
            return redirect(invoice)
        concerns = issue_concerns(invoice)
        return self.render_to_response(
            self.get_context_data(
                invoice=invoice,
                concerns=concerns,
                blocked=any(c.final for c in concerns),
                next_number=selectors.next_document_number(company=invoice.company, kind=invoice.kind),
                destinations=issue_destinations(invoice),
            )
        )

    def post(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        if request.POST.get("confirmed") != "yes":
            return redirect("billing:invoice_issue", pk=invoice.pk)
        final = [concern.says for concern in issue_concerns(invoice) if concern.final]
        if final and invoice.is_draft:
            for says in final:
                messages.error(request, f"Not issued: {says}")
            return redirect("billing:invoice_issue", pk=invoice.pk)
        try:
            invoice = services.invoice_issue(invoice=invoice)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, f"{invoice} issued.")
        return redirect(invoice)


class InvoiceDeleteView(PermissionRequiredMixin, View):
    permission_required = "billing.delete_invoice"
    http_method_names = ["post"]

    def post(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        try:
            services.invoice_delete_draft(invoice=invoice)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(invoice)
        messages.success(request, "Draft deleted.")
        return redirect("billing:invoice_list")
