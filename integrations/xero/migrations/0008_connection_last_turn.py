from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("xero", "0007_connection_company_required")]

    operations = [
        migrations.AddField(
            model_name="xeroconnection",
            name="last_turn_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
