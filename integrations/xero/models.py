import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.models import Company
from integrations.xero.link import crypto


class ConnectionQuerySet(models.QuerySet):
    def live(self):
        """Links not disconnected: active, or waiting for a re-link."""
        return self.exclude(status=XeroConnection.Status.DISCONNECTED)

    def active(self):
        return self.filter(status=XeroConnection.Status.ACTIVE)

    def current(self, company: Company | None = None):
        """A company's link in use (the default company's when none is given): its live one, if any."""
        company_id = company.pk if company else Company.objects.default().pk
        return self.live().filter(company_id=company_id).order_by("-linked_at").first()

    def for_tenant(self, tenant_id):
        """The live link to this Xero organisation, if any (one organisation books one company)."""
        return self.live().filter(tenant_id=tenant_id).first()


class XeroConnection(models.Model):
    """The platform's link to one Xero organisation (a tenant), with its tokens encrypted."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Linked"
        NEEDS_RELINK = "needs_relink", "Needs re-link"
        DISCONNECTED = "disconnected", "Disconnected"

    # The company this organisation books: one organisation books one company, and a company has one live link.
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="xero_links")
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
    # While set and in the future, one worker is refreshing the tokens (see link/tokens.py).
    refresh_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    linked_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # The organisation's chart of accounts and tax rates as last read (used by the sync and set-up check).
    chart_of_accounts = models.JSONField(default=list, blank=True)
    tax_rates = models.JSONField(default=list, blank=True)
    currencies = models.JSONField(default=list, blank=True)  # codes enabled in the organisation
    # Its tracking categories with their options, archived ones included: [{name, status, options: [{name,
    # status}]}]. Which of them the platform's rate service lines and branches are tracked by: a category's
    # name, or "" for none (an administrator chooses, on the set-up check).
    tracking_categories = models.JSONField(default=list, blank=True)
    tracking_for_service = models.CharField(max_length=100, blank=True)
    tracking_for_branch = models.CharField(max_length=100, blank=True)
    branding_themes = models.JSONField(default=list, blank=True)  # [{id, name, sort_order}], the default first
    reference_data_loaded_at = models.DateTimeField(null=True, blank=True)
    # When the sync last sent a batch of this company's documents: organisations with work take turns.
    last_turn_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The consent whose tokens this link uses. Xero's tokens are the person's, for every organisation the
    # consent granted, and a refresh token is single-use: links granted together share one token set, and
    # a refresh through one of them stores the new pair on all (link/tokens.py).
    grant_id = models.UUIDField(default=uuid.uuid4, editable=False)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        permissions = [("manage_xero_addon", "Can manage the Xero add-on (link, re-link, disconnect)")]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id"], condition=~Q(status="disconnected"), name="xero_one_live_link_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["company"], condition=~Q(status="disconnected"), name="xero_one_live_link_per_company"
            ),
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


class SyncRecord(models.Model):
    """One issued document's journey to Xero (the outbox row, written in the issuing transaction)."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class StatusSource(models.TextChoices):
        WEBHOOK = "webhook", "Xero's webhook"
        RECONCILIATION = "reconciliation", "the reconciliation with Xero"

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.CASCADE, related_name="xero_sync")
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # Set when an attempt's outcome is unknown (timeout, 500, worker killed): Xero may hold the
    # document already, so the next attempt looks its number up before sending it again.
    outcome_unknown = models.BooleanField(default=False)
    tenant_id = models.UUIDField(null=True, blank=True)
    xero_id = models.UUIDField(null=True, blank=True)
    xero_number = models.CharField(max_length=255, blank=True)
    xero_status = models.CharField(max_length=20, blank=True)
    xero_total = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The sync exception, while the record is failed: since when, how recently, who has seen it.
    first_failed_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # A credit note naming the invoice it credits: the amount allocated against it in Xero.
    allocated_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    allocation_error = models.TextField(blank=True)
    allocation_note = models.TextField(blank=True)  # why less than the credit note's total was allocated
    # Since when the document has been failing for reasons that pass (timeouts, Xero's 5xx): after
    # XERO_STILL_FAILING_HOURS it is listed on Sync exceptions as "still failing — retrying".
    retrying_since = models.DateTimeField(null=True, blank=True)
    # A document Xero holds under this document's number that is not this document (an older sale):
    # kept so that a person who has looked can say "this is ours, link it".
    clash_xero_id = models.UUIDField(null=True, blank=True)
    # What Xero last said of the sent document (webhooks, reconciliation). Its UpdatedDateUTC is kept so
    # that an older read, arriving late, never moves the document back.
    xero_updated_at = models.DateTimeField(null=True, blank=True)
    amount_paid = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    amount_due = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # Where the document's current status came from, and when the platform learned it.
    status_source = models.CharField(max_length=15, choices=StatusSource.choices, blank=True)
    status_learned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the document was issued before the link and sent on request (an earlier documents' backfill).
    backfill = models.ForeignKey(
        "xero.Backfill", on_delete=models.SET_NULL, null=True, blank=True, related_name="records"
    )

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="waiting"), name="xero_sync_waiting_idx"),
            models.Index(fields=["xero_id"], name="xero_sync_xero_id_idx"),
            # Which organisations the reconciliation reads, and from when (its oldest open document).
            models.Index(fields=["tenant_id", "sent_at"], condition=Q(state="sent"), name="xero_sync_sent_idx"),
        ]

    def __str__(self):
        return f"{self.invoice} → Xero: {self.get_state_display()}"

    @property
    def total_differs(self) -> bool:
        return self.xero_total is not None and self.xero_total != self.invoice.total


class PdfAttachment(models.Model):
    """A sent document's PDF, attached to it in Xero and shown on Xero's online invoice. Never holds back the
    document: it is attached when there is nothing to send, paced, and retried until it gets across."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        ATTACHED = "attached", "Attached"
        REFUSED = "refused", "Refused by Xero"
        NOT_ALLOWED = "not_allowed", "Not allowed by the link"

    record = models.OneToOneField(SyncRecord, on_delete=models.CASCADE, related_name="pdf")
    state = models.CharField(max_length=12, choices=State.choices, default=State.WAITING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # An attempt whose answer never came: Xero may hold the file, so the next one looks before attaching again.
    outcome_unknown = models.BooleanField(default=False)
    file_name = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    attached_at = models.DateTimeField(null=True, blank=True)
    online_invoice_url = models.URLField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="waiting"), name="xero_pdf_waiting_idx"),
        ]

    def __str__(self):
        return f"PDF of {self.record.invoice} → Xero: {self.get_state_display()}"


class SyncAttempt(models.Model):
    """One try at sending a document to Xero: when, how long, how it ended, and what Xero said."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        FOUND = "found", "Found in Xero, sent by an earlier try"
        REFUSED = "refused", "Refused"
        CLASH = "clash", "Number taken in Xero"
        RETRYING = "retrying", "Failed; will be retried"
        DEFERRED = "deferred", "Put off (Xero's limits, or the link)"

    record = models.ForeignKey(SyncRecord, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)  # Xero's answer (0: no connection)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["record", "-started_at"], name="xero_attempt_record_idx")]

    def __str__(self):
        return f"{self.get_outcome_display()} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class ContactLink(models.Model):
    """A billing account's Xero contact in one organisation, remembered so a known account costs no lookup."""

    billing_account = models.ForeignKey("billing.BillingAccount", on_delete=models.CASCADE, related_name="+")
    tenant_id = models.UUIDField()
    contact_id = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["billing_account", "tenant_id"], name="xero_one_contact_per_account_and_org"
            )
        ]

    def __str__(self):
        return f"Xero contact {self.contact_id} in organisation {self.tenant_id}"


class Backfill(models.Model):
    """A request to send a company's documents issued before the link (from `issued_from` on), made on the
    Add Ons page; its documents are the sync records pointing at it."""

    company = models.ForeignKey("billing.Company", on_delete=models.CASCADE, related_name="+")
    tenant_id = models.UUIDField()
    issued_from = models.DateField()
    documents = models.PositiveIntegerField()  # how many it took on
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    requested_at = models.DateTimeField()

    def __str__(self):
        return f"Earlier documents of {self.company} from {self.issued_from}"


class BrandingChoice(models.Model):
    """The branding theme a billing account's documents carry in one organisation (chosen on the billing
    account's page); without one, Xero gives them the organisation's default."""

    billing_account = models.ForeignKey("billing.BillingAccount", on_delete=models.CASCADE, related_name="+")
    tenant_id = models.UUIDField()
    theme_id = models.UUIDField()
    theme_name = models.CharField(max_length=255)  # as Xero named it when chosen: shown should it go from Xero

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["billing_account", "tenant_id"], name="xero_one_theme_per_account_and_org")
        ]

    def __str__(self):
        return f"Branding theme {self.theme_name} in organisation {self.tenant_id}"


class CallPace(models.Model):
    """Shared by every worker: when the next call to one organisation may start, and how many are in
    flight, so that together they stay under Xero's per-organisation limits instead of meeting 429s.

    One more row, under the nil tenant id `APP_TENANT_ID` (no organisation has it), paces the whole app:
    every call to any organisation also takes its turn there (Xero's limit of calls a minute across all
    the organisations of one app), and its pause holds them all. It uses only the pace and the pause."""

    APP_TENANT_ID = uuid.UUID(int=0)

    tenant_id = models.UUIDField(unique=True)
    next_call_at = models.DateTimeField(null=True, blank=True)
    in_flight = models.PositiveSmallIntegerField(default=0)
    in_flight_since = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True)
    # While set and in the future, one worker is finding or creating contacts for this organisation;
    # the others wait for it rather than look up (and create) the same customers in parallel.
    contacts_lease_until = models.DateTimeField(null=True, blank=True)
    # What Xero last said is left of the organisation's day (X-DayLimit-Remaining), and when: noted only
    # when it nears the reserve kept for status reads (XERO_DAY_RESERVE; see pacing.py), not on every call.
    day_remaining = models.PositiveIntegerField(null=True, blank=True)
    day_remaining_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Pace of calls to organisation {self.tenant_id}"


class WebhookEvent(models.Model):
    """One event of a correctly signed Xero webhook, as received: the inbox that `inbound/inbox.py` works through.

    Xero gives an event no id, so its identity is what it says: this organisation's document (category
    and resource id) changed (event type) at this moment (eventDateUtc, to the millisecond). A retried or
    duplicated delivery repeats those exactly and is ignored by the unique constraint; two changes of one
    document have different moments. Two changes in the same millisecond would collapse into one row,
    which loses nothing: processing reads the document's current state from Xero, not the event's.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        PROCESSING = "processing", "Being applied"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"

    tenant_id = models.UUIDField()
    category = models.CharField(max_length=20)
    event_type = models.CharField(max_length=10)
    resource_id = models.UUIDField()
    event_date = models.DateTimeField()
    received_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "category", "resource_id", "event_type", "event_date"],
                name="xero_webhook_event_once",
            )
        ]
        indexes = [
            models.Index(fields=["received_at"], condition=Q(state="pending"), name="xero_webhook_pending_idx"),
            models.Index(fields=["state", "processed_at"], name="xero_webhook_state_idx"),
        ]

    def __str__(self):
        return f"{self.category} {self.event_type} {self.resource_id} ({self.get_state_display()})"


class WebhookRejection(models.Model):
    """A correctly signed payload, or one event of it, that could not be used (bad JSON, wrong shape).

    Xero still got its 200, so that it does not disable the subscription; this row lets support see why.
    """

    received_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=255)
    excerpt = models.TextField(blank=True)

    def __str__(self):
        return f"{self.received_at:%Y-%m-%d %H:%M}: {self.reason}"


class Reconciliation(models.Model):
    """The periodic read-back of documents Xero changed, per organisation: how far it has read (Xero's
    UpdatedDateUTC, separately for invoices and credit notes) and how its last run went."""

    tenant_id = models.UUIDField(unique=True)
    invoices_read_to = models.DateTimeField(null=True, blank=True)
    credit_notes_read_to = models.DateTimeField(null=True, blank=True)
    # While set and in the future, one run (the periodic task or the command) is reading; others skip.
    running_until = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_checked = models.PositiveIntegerField(default=0)
    last_changed = models.PositiveIntegerField(default=0)
    last_ignored = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"Reconciliation of {self.tenant_id}"


class CallMinute(models.Model):
    """The calls made to one organisation in one minute, and how many of them Xero refused with a 429: the
    sync page draws today's calls against the day limit and the last hour minute by minute from these.
    Kept XERO_CALL_MINUTES_KEPT_HOURS (monitoring/tallies.py)."""

    tenant_id = models.UUIDField()
    minute = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id", "minute"], name="xero_one_row_per_call_minute")]

    def __str__(self):
        return f"{self.calls} calls to organisation {self.tenant_id} at {self.minute:%Y-%m-%d %H:%M}"


class Tally(models.Model):
    """A running total that only grows, for the counters `/metrics` serves (monitoring/metrics.py): Xero calls
    by endpoint and status, documents sent and failed by kind, webhook events and rejections forgotten by
    the pruning. `labels` is the counter's labels as `key=value` pairs, sorted and comma-separated."""

    name = models.CharField(max_length=60)
    labels = models.CharField(max_length=200, blank=True)
    total = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="xero_one_tally_per_name_and_labels")]

    def __str__(self):
        return f"{self.name}{{{self.labels}}} = {self.total}"
