"""What Xero last reported of an organisation's day, for the reserve kept for status reads (pacing.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("xero", "0009_app_pace")]

    operations = [
        migrations.AddField(
            model_name="callpace",
            name="day_remaining",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="callpace",
            name="day_remaining_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
