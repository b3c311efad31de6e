from decimal import Decimal

from django import forms
from django.conf import settings

from .models import FOUR_PLACES, BillingAccount, Invoice, Rate, TaxRate
from .services import LineInput

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class BillingAccountForm(forms.ModelForm):
    class Meta:
        model = BillingAccount
        fields = [
            "code", "name", "email", "currency", "payment_terms_days",
            "address_line1", "address_line2", "city", "region", "postal_code", "country",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("currency", settings.BILLING_DEFAULT_CURRENCY)


class RateForm(forms.ModelForm):
    class Meta:
        model = Rate
        fields = ["label", "category", "cost_account_code", "revenue_account_code"]


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["name", "rate", "accounting_code"]


class InvoiceForm(forms.ModelForm):
    """The header of a draft. The kind is fixed when the draft is created."""

    class Meta:
        model = Invoice
        fields = ["billing_account", "currency", "reference", "issue_date", "due_date", "credited_invoice"]
        widgets = {"issue_date": DATE_INPUT, "due_date": DATE_INPUT}
        help_texts = {
            "issue_date": "Leave empty to use the day it is issued.",
            "due_date": "Leave empty to use the billing account's payment terms.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].required = False
        self.fields["currency"].help_text = "Leave empty to use the billing account's currency."
        if self.instance.is_credit_note:
            self.fields["credited_invoice"].queryset = Invoice.objects.filter(
                kind=Invoice.Kind.INVOICE, status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID]
            ).select_related("billing_account")
        else:
            del self.fields["credited_invoice"]

    def clean(self):
        cleaned = super().clean()
        account = cleaned.get("billing_account")
        if account and not cleaned.get("currency"):
            cleaned["currency"] = account.currency
            self.instance.currency = account.currency
        return cleaned


class InvoiceLineForm(forms.Form):
    rate = forms.ModelChoiceField(queryset=Rate.objects.all())
    description = forms.CharField(
        max_length=4000, required=False, help_text="Leave empty to use the rate's label."
    )
    quantity = forms.DecimalField(**FOUR_PLACES, min_value=Decimal("0.0001"))
    unit_price = forms.DecimalField(**FOUR_PLACES)
    tax_rate = forms.ModelChoiceField(queryset=TaxRate.objects.all())

    def to_line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            rate=data["rate"],
            description=data["description"] or data["rate"].label,
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            tax_rate=data["tax_rate"],
        )


class BaseLineFormSet(forms.BaseFormSet):
    def kept_forms(self) -> list[InvoiceLineForm]:
        return [
            form for form in self.forms
            if form.has_changed() and not self._should_delete_form(form)
        ]

    def clean(self):
        super().clean()
        if not any(self.errors) and not self.kept_forms():
            raise forms.ValidationError("Add at least one line.")


InvoiceLineFormSet = forms.formset_factory(
    InvoiceLineForm, formset=BaseLineFormSet, extra=2, can_delete=True
)


def line_initial(invoice: Invoice) -> list[dict]:
    return [
        {
            "rate": line.rate_id,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "tax_rate": line.tax_rate_id,
        }
        for line in invoice.lines.all()
    ]


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", help_text="Number, reference or billing account")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Invoice.Status.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "Invoices and credit notes"), *Invoice.Kind.choices])
    billing_account = forms.ModelChoiceField(
        required=False, queryset=BillingAccount.objects.all(), empty_label="Any billing account"
    )
