from django.conf import settings
from django.db import models
from django.db.models import Q

from . import crypto


class ConnectionQuerySet(models.QuerySet):
    def current(self):
        """The link in use: the most recent one that has not been disconnected."""
        return self.exclude(status=XeroConnection.Status.DISCONNECTED).order_by("-linked_at").first()


class XeroConnection(models.Model):
    """The platform's link to one Xero organisation (a tenant), with its tokens encrypted."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Linked"
        NEEDS_RELINK = "needs_relink", "Needs re-link"
        DISCONNECTED = "disconnected", "Disconnected"

    tenant_id = models.UUIDField()
    connection_id = models.UUIDField(help_text="Xero's id of this app's access to the organisation.")
    tenant_name = models.CharField(max_length=255)
    country_code = models.CharField(max_length=2, blank=True)
    base_currency = models.CharField(max_length=3, blank=True)
    scopes = models.TextField(blank=True)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.ACTIVE)
    # Encrypted with XERO_TOKEN_KEYS (see crypto.py); read and written through the properties below.
    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # While set and in the future, one worker is refreshing the tokens (see tokens.py).
    refresh_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    linked_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # The organisation's chart of accounts and tax rates as last read (used by the sync and set-up check).
    chart_of_accounts = models.JSONField(default=list, blank=True)
    tax_rates = models.JSONField(default=list, blank=True)
    reference_data_loaded_at = models.DateTimeField(null=True, blank=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        permissions = [("manage_xero_addon", "Can manage the Xero add-on (link, re-link, disconnect)")]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id"], condition=~Q(status="disconnected"), name="xero_one_live_link_per_tenant"
            )
        ]

    def __str__(self):
        return f"{self.tenant_name} ({self.get_status_display()})"

    def __repr__(self):  # never the tokens
        return f"<XeroConnection {self.pk} {self.tenant_name!r} {self.status}>"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value)
