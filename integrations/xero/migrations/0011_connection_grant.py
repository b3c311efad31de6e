"""Each existing link has its own consent's tokens: a grant of its own."""

import uuid

from django.db import migrations, models


def one_grant_each(apps, schema_editor):
    XeroConnection = apps.get_model("xero", "XeroConnection")
    for connection in XeroConnection.objects.only("pk"):
        XeroConnection.objects.filter(pk=connection.pk).update(grant_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("xero", "0010_day_reserve")]

    operations = [
        migrations.AddField(
            model_name="xeroconnection",
            name="grant_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.RunPython(one_grant_each, migrations.RunPython.noop),
    ]
