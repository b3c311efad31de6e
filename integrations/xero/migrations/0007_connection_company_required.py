import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("xero", "0006_connection_company")]

    operations = [
        migrations.AlterField(
            model_name="xeroconnection",
            name="company",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="xero_links", to="billing.company"
            ),
        ),
        migrations.AddConstraint(
            model_name="xeroconnection",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "disconnected"), _negated=True),
                fields=("company",),
                name="xero_one_live_link_per_company",
            ),
        ),
    ]
