from decimal import Decimal

from django import forms
from django.template.defaultfilters import floatformat
from django.utils.html import format_html

from . import panels, selectors, services
from .currencies import currency_choices_for_entry
from .models import (
    FOUR_PLACES,
    BillingAccount,
    Branch,
    Company,
    Invoice,
    Rate,
    RateCompanyCode,
    TaxRate,
    accounting_part,
)
from .services import LineInput
from .validators import validate_account_code

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def drop_branch_field_if_none(form: forms.ModelForm, field: str = "branch") -> None:
    """Branches are optional: with none set up, no page asks for one."""
    if not Branch.objects.exists():
        del form.fields[field]


def drop_company_field_if_one(form: forms.ModelForm, field: str = "company") -> bool:
    """An installation with one company shows no company anywhere: the field goes, the default applies.
    Returns whether there are several."""
    several = selectors.several_companies()
    if not several:
        del form.fields[field]
    return several


class BillingAccountForm(forms.ModelForm):
    class Meta:
        model = BillingAccount
        fields = [
            "code",
            "name",
            "email",
            "currency",
            "payment_terms_days",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "default_company",
            "default_branch",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        drop_company_field_if_one(self, "default_company")
        drop_branch_field_if_none(self, "default_branch")
        base = Company.objects.default().base_currency
        self.fields["currency"].choices = currency_choices_for_entry(base)
        if not self.instance.pk:
            self.initial.setdefault("currency", base)


class CodeAdviceMixin:
    """Help from the accounting add-ons (billing/panels.py) on one code field: the codes they know are
    offered in a datalist, and what they would reject is kept in `code_warnings` for the page to show.
    A warning never stops the save: the code may be created in the accounting system later."""

    advised_field = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        advice = self.advice(self.initial)
        self.code_choices = list(dict.fromkeys(choice for one in advice for choice in one.choices))
        self.code_warnings = [one.warning for one in advice if one.warning]
        if self.code_choices:
            self.fields[self.advised_field].widget.attrs["list"] = self.datalist_id

    @property
    def datalist_id(self) -> str:
        return f"{self.advised_field}-choices"

    def clean(self):
        cleaned = super().clean()
        self.code_warnings = [one.warning for one in self.advice(cleaned) if one.warning]
        return cleaned

    def advice(self, values: dict) -> list[panels.CodeAdvice]:
        raise NotImplementedError


class RateForm(CodeAdviceMixin, forms.ModelForm):
    """A rate and, when there are several companies, each company's own revenue account code for it (a
    `company_code_<pk>` field, blank when the rate's own code applies there)."""

    advised_field = "revenue_account_code"

    class Meta:
        model = Rate
        fields = ["label", "category", "service", "cost_account_code", "revenue_account_code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.companies = list(Company.objects.all()) if selectors.several_companies() else []
        saved = {one.company_id: one.revenue_account_code for one in self._saved_company_codes()}
        for company in self.companies:
            self.fields[company_code_field_name(company)] = company_code_field(company, saved.get(company.pk, ""))

    def company_codes(self) -> dict[Company, str]:
        """Each company's code as entered, "" where the rate's own applies."""
        return {company: self.cleaned_data[company_code_field_name(company)] for company in self.companies}

    def save(self, commit=True):
        rate = super().save(commit=False)
        if commit:  # the rate and its companies' codes are written together, in one transaction
            services.rate_save(rate=rate, company_codes=self.company_codes())
        return rate

    def advice(self, values):
        return panels.revenue_account_advice(accounting_part(values.get("revenue_account_code") or ""))

    def _saved_company_codes(self) -> list[RateCompanyCode]:
        return list(self.instance.company_codes.all()) if self.companies and self.instance.pk else []


def company_code_field_name(company: Company) -> str:
    return f"company_code_{company.pk}"


def company_code_field(company: Company, initial: str) -> forms.CharField:
    # The rate's own revenue code's validator; no datalist: the add-ons' codes are the default company's chart's.
    return forms.CharField(
        label=f"Revenue account code for {company.name}",
        max_length=RateCompanyCode._meta.get_field("revenue_account_code").max_length,
        required=False,
        initial=initial,
        validators=[validate_account_code],
        # Escaped here: Django's form templates show help text as it is, HTML and all.
        help_text=format_html(
            "Leave blank to use the rate's own revenue account code. Otherwise it must match the Code of an "
            "active revenue account in {}'s Xero chart of accounts.",
            company.name,
        ),
    )


class TaxRateForm(CodeAdviceMixin, forms.ModelForm):
    advised_field = "accounting_code"

    class Meta:
        model = TaxRate
        fields = ["company", "name", "rate", "accounting_code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not selectors.several_companies():
            # Fixed and out of sight, yet still a field: a name is unique per company, and Django checks a
            # constraint only when each of its fields is on the form.
            company = self.fields["company"]
            company.disabled, company.widget = True, forms.HiddenInput()
            company.initial = self.instance.company_id if self.instance.pk else Company.objects.default().pk

    def advice(self, values):
        # Cleaned, the company is a Company; in the initial values, a pk: then the saved row's is the one.
        company = values.get("company")
        company = company if isinstance(company, Company) else self.instance.company
        return panels.tax_code_advice(values.get("accounting_code") or "", values.get("rate"), company=company)


class InvoiceForm(forms.ModelForm):
    """The header of a draft. The kind is fixed when the draft is created."""

    class Meta:
        model = Invoice
        fields = [
            "company",
            "billing_account",
            "branch",
            "currency",
            "exchange_rate",
            "reference",
            "issue_date",
            "due_date",
            "credited_invoice",
        ]
        widgets = {
            "issue_date": DATE_INPUT,
            "due_date": DATE_INPUT,
            "exchange_rate": forms.NumberInput(attrs={"step": "0.000001", "min": "0.000001"}),
        }
        help_texts = {
            "issue_date": "Leave empty to use the day it is issued.",
            "due_date": "Leave empty to use the billing account's payment terms.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        drop_branch_field_if_none(self)
        if "branch" in self.fields:
            self.fields["branch"].empty_label = "The billing account's branch"
        if drop_company_field_if_one(self):
            company = self.fields["company"]
            company.required, company.empty_label = False, "The billing account's company"
            if self.instance.is_credit_note:
                company.help_text = "A credit note naming an invoice is issued by that invoice's company."
        base = self.instance.company if self.instance.company_id else Company.objects.default()
        currency = self.fields["currency"]
        currency.required = False
        currency.choices = [("", "The billing account's currency"), *currency_choices_for_entry(base.base_currency)]
        if self.instance.is_credit_note:
            credited = self.fields["credited_invoice"]
            credited.queryset = selectors.invoices_open_to_credit(keep=self.instance.credited_invoice_id)
            credited.label_from_instance = credited_invoice_label
        else:
            del self.fields["credited_invoice"]

    def clean(self):
        cleaned = super().clean()
        account = cleaned.get("billing_account")
        if account and not cleaned.get("currency"):
            cleaned["currency"] = account.currency
            self.instance.currency = account.currency
        if "company" in self.fields and cleaned.get("credited_invoice"):
            cleaned["company"] = cleaned["credited_invoice"].company  # left empty, the services choose it
        return cleaned


def credited_invoice_label(invoice: Invoice) -> str:
    amount = f"{invoice.currency} {floatformat(invoice.total, '2g')}"
    return f"{invoice.number} · {invoice.billing_account.name} · {amount}, due {floatformat(invoice.due, '2g')}"


MAX_LINES = 200  # lines on one document: the form refuses more before building a single line form


class OptionDataSelect(forms.Select):
    """A drop-down whose options carry data attributes, for the page's script (static/js/invoice_lines.js)."""

    option_data: dict[str, dict[str, str]] = {}

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        option["attrs"].update(self.option_data.get(str(value), {}))
        return option


class ListedChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose rows its formset reads once (`use`): rendering and validating a line then
    costs no query, however many lines the document has. `option_data` gives each option's data attributes."""

    widget = OptionDataSelect

    def __init__(self, *args, option_data=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_data = option_data

    def use(self, rows: list) -> None:
        self._rows = {str(row.pk): row for row in rows}
        self.choices = [("", self.empty_label), *((row.pk, self.label_from_instance(row)) for row in rows)]
        if self.option_data:
            self.widget.option_data = {str(row.pk): self.option_data(row) for row in rows}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not hasattr(self, "_rows"):
            return super().to_python(value)
        row = self._rows.get(str(value))
        if row is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return row


class InvoiceLineForm(forms.Form):
    rate = ListedChoiceField(queryset=Rate.objects.all(), option_data=lambda rate: {"data-label": rate.label})
    description = forms.CharField(max_length=4000, required=False, help_text="Leave empty to use the rate's label.")
    quantity = forms.DecimalField(**FOUR_PLACES, min_value=Decimal("0.0001"))
    unit_price = forms.DecimalField(**FOUR_PLACES)
    tax_rate = ListedChoiceField(
        queryset=TaxRate.objects.all(), option_data=lambda tax: {"data-percent": f"{tax.rate.normalize():f}"}
    )

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
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rates, self._tax_rates = list(Rate.objects.all()), list(TaxRate.objects.all())

    def _construct_form(self, i, **kwargs):
        return self._with_choices(super()._construct_form(i, **kwargs))

    @property
    def empty_form(self):
        return self._with_choices(super().empty_form)

    def _with_choices(self, form: InvoiceLineForm) -> InvoiceLineForm:
        form.fields["rate"].use(self._rates)
        form.fields["tax_rate"].use(self._tax_rates)
        return form

    def kept_forms(self) -> list[InvoiceLineForm]:
        return [form for form in self.forms if form.has_changed() and not self._should_delete_form(form)]

    def clean(self):
        super().clean()
        if not any(self.errors) and not self.kept_forms():
            raise forms.ValidationError("Add at least one line.")


InvoiceLineFormSet = forms.formset_factory(
    InvoiceLineForm,
    formset=BaseLineFormSet,
    extra=1,  # the page's Add line button adds more without saving
    can_delete=True,
    max_num=MAX_LINES,
    absolute_max=MAX_LINES,
    validate_max=True,
)


def too_many_lines(data) -> str:
    """Why a posted line formset is refused before any line form is built ("" when it is not): Django
    would build up to `absolute_max` forms, each with its drop-downs, for a count the client chose."""
    try:
        asked = int(data.get("form-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        return "The line count posted is not a number."
    if asked < 0:
        return "The line count posted is negative."
    if asked > MAX_LINES:
        return f"A document has at most {MAX_LINES} lines; {asked} were posted."
    return ""


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
    company = forms.ModelChoiceField(required=False, queryset=Company.objects.all(), empty_label="Any company")

    def __init__(self, *args, several_companies: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not several_companies:
            del self.fields["company"]
