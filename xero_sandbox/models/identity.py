"""Xero's identity side: registered apps, organisations (tenants), consents, tokens, connections."""

import datetime
import uuid
from decimal import Decimal

from django.db import models


def _minute(moment) -> str:
    """A moment to the minute, for a model's __str__ ("—" while unset, as on an unsaved one)."""
    return moment.strftime("%Y-%m-%d %H:%M %Z").rstrip() if moment else "—"


class App(models.Model):
    """An app registered with the sandbox, as in Xero's developer portal."""

    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=128)
    redirect_uris = models.TextField(help_text="One redirect URI a line; the callback must match one exactly.")
    webhook_url = models.URLField(blank=True)
    webhook_key = models.CharField(max_length=128, blank=True)

    def __str__(self):
        return self.name

    @property
    def redirect_uri_list(self) -> list[str]:
        return [uri.strip() for uri in self.redirect_uris.splitlines() if uri.strip()]


class Organisation(models.Model):
    """A Xero organisation: a tenant of type ORGANISATION."""

    tenant_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=255)
    country_code = models.CharField(max_length=2)
    base_currency = models.CharField(max_length=3)
    # The currencies enabled in the organisation (Settings › Currencies), the base currency among them:
    # Xero refuses a document in any other with "Organisation is not subscribed to currency XXX".
    currencies = models.JSONField(default=list, blank=True)
    short_code = models.CharField(max_length=20, blank=True)
    # Requests in flight now, for the 5-concurrent-calls limit (updated with F() expressions).
    in_flight = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def enabled_currencies(self) -> list[str]:
        return list(dict.fromkeys([self.base_currency, *self.currencies]))

    def rate_on(self, currency_code: str, date: datetime.date) -> Decimal | None:
        """Xero's daily rate for the currency on that date (units of it to one of the base currency), or on the
        closest date it has one: the latest before, else the first after. 1 for the base currency."""
        if currency_code == self.base_currency:
            return Decimal("1")
        rates = self.exchange_rates.filter(currency_code=currency_code)
        closest = rates.filter(date__lte=date).order_by("-date").first() or rates.order_by("date").first()
        return closest.rate if closest else None


class ExchangeRate(models.Model):
    """Xero's rate (from XE.com) for one currency on one day, in units of the currency per one of the
    organisation's base currency: a document sent without a CurrencyRate is converted at its date's rate."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="exchange_rates")
    currency_code = models.CharField(max_length=3)
    date = models.DateField()
    rate = models.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        ordering = ["currency_code", "-date"]
        constraints = [models.UniqueConstraint(fields=["organisation", "currency_code", "date"], name="one_rate_a_day")]

    def __str__(self):
        return f"1 {self.organisation.base_currency} = {self.rate} {self.currency_code} on {self.date}"


class Grant(models.Model):
    """One consent: a user approved an app for some organisations (Xero's auth event)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="grants")
    auth_event_id = models.UUIDField(default=uuid.uuid4, unique=True)
    scopes = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        revoked = f", revoked {_minute(self.revoked_at)}" if self.revoked_at else ""
        return f"Consent to {self.app} at {_minute(self.created_at)}{revoked}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class Connection(models.Model):
    """An app's access to one organisation, created by a consent (`GET /connections`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="connections")
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="connections")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="connections")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.app} → {self.organisation}"


class AuthorizationCode(models.Model):
    code = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="codes")
    redirect_uri = models.URLField(max_length=500)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):  # never the code itself: it is a credential
        return f"Authorization code of grant #{self.grant_id}, expires {_minute(self.expires_at)}"


class AccessToken(models.Model):
    token = models.CharField(max_length=2000, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="access_tokens")
    expires_at = models.DateTimeField()

    def __str__(self):  # never the token itself: it is a credential
        return f"Access token of grant #{self.grant_id}, expires {_minute(self.expires_at)}"


class RefreshToken(models.Model):
    """Single use: a refresh rotates it; the old one is honoured for a grace period after use."""

    token = models.CharField(max_length=128, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="refresh_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self):  # never the token itself: it is a credential
        used = f", used {_minute(self.used_at)}" if self.used_at else ""
        return f"Refresh token of grant #{self.grant_id}, expires {_minute(self.expires_at)}{used}"
