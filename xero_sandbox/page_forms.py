"""Forms of the sandbox's staff pages."""

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator

from .models import App, Fault, Organisation

DOCUMENT_STATUSES = ["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]
HTTP_METHODS = ["GET", "PUT", "POST", "DELETE"]


class DocumentFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status")] + [(status, status.title()) for status in DOCUMENT_STATUSES], required=False
    )


class PartPaymentForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=16, decimal_places=2)


class FaultForm(forms.ModelForm):
    method = forms.ChoiceField(choices=[("", "Any method")] + [(m, m) for m in HTTP_METHODS], required=False)
    probability = forms.FloatField(min_value=0.0, max_value=1.0, initial=1.0)
    delay_seconds = forms.FloatField(min_value=0.0, max_value=120.0, initial=0.0, required=False)

    class Meta:
        model = Fault
        fields = ["kind", "method", "path_contains", "remaining", "probability", "delay_seconds"]

    def clean_delay_seconds(self):
        return self.cleaned_data["delay_seconds"] or 0.0


class RequestLogFilterForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.all(), required=False, empty_label="Any organisation"
    )
    status = forms.CharField(
        required=False,
        max_length=3,
        validators=[RegexValidator(r"^[1-5](\d\d|xx)$", "A status code (429) or a class (4xx).")],
        widget=forms.TextInput(attrs={"placeholder": "Status: 429 or 4xx", "size": 14}),
    )


class IntentToReceiveForm(forms.Form):
    app = forms.ModelChoiceField(queryset=App.objects.exclude(webhook_url=""), empty_label=None)
