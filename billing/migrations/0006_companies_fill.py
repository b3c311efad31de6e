"""Today's data into one company: made from the settings, numbering with the prefixes in use."""

from django.conf import settings
from django.db import migrations


def fill(apps, schema_editor):
    Company, DocumentSequence = apps.get_model("billing", "Company"), apps.get_model("billing", "DocumentSequence")
    prefixes = dict(DocumentSequence.objects.values_list("kind", "prefix"))
    company = Company.objects.order_by("pk").first() or Company.objects.create(
        name=settings.BILLING_COMPANY_NAME,
        country=settings.BILLING_COMPANY_COUNTRY,
        base_currency=settings.BILLING_DEFAULT_CURRENCY,
        invoice_prefix=prefixes.get("invoice", "INV"),
        credit_note_prefix=prefixes.get("credit_note", "CN"),
    )
    for model in ("DocumentSequence", "Invoice", "TaxRate"):
        apps.get_model("billing", model).objects.filter(company__isnull=True).update(company=company)


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_companies")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
