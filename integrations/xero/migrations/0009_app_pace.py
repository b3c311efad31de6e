"""The app-wide pace: one CallPace row under the nil tenant id, shared by the calls to every organisation
(pacing.py creates it too, should it be missing)."""

import uuid

from django.db import migrations

APP_TENANT_ID = uuid.UUID(int=0)  # CallPace.APP_TENANT_ID


def create_app_row(apps, schema_editor):
    apps.get_model("xero", "CallPace").objects.get_or_create(tenant_id=APP_TENANT_ID)


def delete_app_row(apps, schema_editor):
    apps.get_model("xero", "CallPace").objects.filter(tenant_id=APP_TENANT_ID).delete()


class Migration(migrations.Migration):
    dependencies = [("xero", "0008_connection_last_turn")]

    operations = [migrations.RunPython(create_app_row, delete_app_row)]
