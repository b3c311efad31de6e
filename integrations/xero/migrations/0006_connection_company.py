"""Each link belongs to a company: existing links book the first one (the only one until now)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def to_first_company(apps, schema_editor):
    Company, XeroConnection = apps.get_model("billing", "Company"), apps.get_model("xero", "XeroConnection")
    if not XeroConnection.objects.exists():
        return
    company = Company.objects.order_by("pk").first() or Company.objects.create(
        name=settings.BILLING_COMPANY_NAME,
        country=settings.BILLING_COMPANY_COUNTRY,
        base_currency=settings.BILLING_DEFAULT_CURRENCY,
    )
    XeroConnection.objects.update(company=company)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_companies_required"),
        ("xero", "0005_connection_currencies"),
    ]

    operations = [
        migrations.AddField(
            model_name="xeroconnection",
            name="company",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="xero_links", to="billing.company"
            ),
        ),
        migrations.RunPython(to_first_company, migrations.RunPython.noop),
    ]
