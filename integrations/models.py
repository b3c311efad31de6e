from django.conf import settings
from django.db import models


class AddOn(models.Model):
    """The vendor's switch for one add-on of the platform (turned on in the admin)."""

    class Key(models.TextChoices):
        XERO = "xero", "Xero"

    key = models.CharField(max_length=30, choices=Key.choices, unique=True)
    enabled = models.BooleanField(default=False)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "add-on"

    def __str__(self):
        return f"{self.get_key_display()} ({'enabled' if self.enabled else 'disabled'})"


def addon_enabled(key: str) -> bool:
    """On when switched on in the admin, or by its environment setting (XERO_ENABLED) at start."""
    if key == AddOn.Key.XERO and settings.XERO_ENABLED:
        return True
    return AddOn.objects.filter(key=key, enabled=True).exists()
