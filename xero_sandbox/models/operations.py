"""What the sandbox adds to Xero for tests and benchmarks: faults, request log, idempotency, webhooks."""

from django.db import models

from .identity import App, Organisation


class Fault(models.Model):
    """A fault to inject into an organisation's Accounting API calls, set by tests and benchmarks."""

    class Kind(models.TextChoices):
        ERROR_BEFORE_COMMIT = "500_before", "500 before the write commits"
        ERROR_AFTER_COMMIT = "500_after", "500 after the write commits"
        SLOW = "slow", "Answer slowly"
        DROP = "drop", "Drop the connection"
        RATE_LIMIT = "429", "Answer 429"
        HTML_400 = "html_400", "Answer 400 with an HTML page (Xero's edge)"
        AUTH_401 = "auth_401", "Answer 401 AuthorizationUnsuccessful"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="faults")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    method = models.CharField(max_length=10, blank=True, help_text="Only this HTTP method; empty = any.")
    path_contains = models.CharField(max_length=100, blank=True, help_text="e.g. /Invoices; empty = any.")
    remaining = models.PositiveIntegerField(null=True, blank=True, help_text="Calls left to affect; empty = all.")
    probability = models.FloatField(default=1.0)
    delay_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        calls = " ".join(part for part in (self.method, self.path_contains) if part) or "any call"
        return f"{self.get_kind_display()}: {calls}"


class RequestLog(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.SET_NULL, null=True, related_name="requests")
    app = models.ForeignKey(App, on_delete=models.SET_NULL, null=True, related_name="requests")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)  # cut at 500 characters; target_length is the whole length
    # The URL-encoded length of path, "?" and query as the client sent them (see edge.target_length):
    # what Xero's edge measures against EDGE_MAX_REQUEST_CHARS.
    target_length = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField()
    elements = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    rate_limit_problem = models.CharField(max_length=20, blank=True)
    fault = models.CharField(max_length=12, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organisation", "at"])]

    def __str__(self):
        return f"{self.method} {self.path} → {self.status_code}"


class IdempotencyRecord(models.Model):
    """The first answer to an `Idempotency-Key`, replayed for the same key and body in the window."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    key = models.CharField(max_length=128)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "key"], name="sandbox_idempotency_key_unique")]

    def __str__(self):
        return f"Idempotency-Key {self.key} → {self.status_code}"


class WebhookEvent(models.Model):
    """A change an app subscribed to, waiting for (or carried by) a delivery."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_events")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="webhook_events")
    category = models.CharField(max_length=20)  # INVOICE, CREDITNOTE, CONTACT
    event_type = models.CharField(max_length=10)  # CREATE, UPDATE
    resource_id = models.UUIDField()
    resource_url = models.URLField(max_length=500)
    event_date = models.DateTimeField()
    delivery = models.ForeignKey(
        "WebhookDelivery", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.category} {self.event_type} {self.resource_id}"


class WebhookDelivery(models.Model):
    """One signed POST of a batch of events to an app's webhook URL, retried while it fails."""

    class Kind(models.TextChoices):
        EVENTS = "events", "Events"
        INTENT_TO_RECEIVE = "intent", "Intent to receive"  # a check POST, never retried

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_deliveries")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EVENTS)
    body = models.BinaryField()
    signature = models.CharField(max_length=100)
    first_sequence = models.PositiveIntegerField(default=0)
    last_sequence = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)  # the retries ran out: given up
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} delivery #{self.pk} to {self.app} ({self.state})"

    @property
    def state(self) -> str:
        if self.delivered_at:
            return "delivered"
        return "failed" if self.failed_at else "pending"
