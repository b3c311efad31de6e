"""An organisation's books as the Accounting API shows them."""

import uuid
from decimal import Decimal

from django.db import models

from .identity import Organisation

MONEY = {"max_digits": 16, "decimal_places": 2, "default": Decimal("0.00")}


class Account(models.Model):
    """A line of the chart of accounts (`GET /Accounts`)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="accounts")
    account_id = models.UUIDField(default=uuid.uuid4, unique=True)
    code = models.CharField(max_length=10, blank=True)
    name = models.CharField(max_length=150)
    type = models.CharField(max_length=30)  # REVENUE, SALES, OTHERINCOME, EXPENSE, CURRENT, BANK, ...
    account_class = models.CharField(max_length=20)  # ASSET, EQUITY, EXPENSE, LIABILITY, REVENUE
    status = models.CharField(max_length=10, default="ACTIVE")  # ACTIVE, ARCHIVED
    system_account = models.CharField(max_length=40, blank=True)  # e.g. DEBTORS, GST
    tax_type = models.CharField(max_length=50, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "name"]

    def __str__(self):
        return f"{self.code} {self.name}"


class TaxRate(models.Model):
    """A tax rate of the organisation (`GET /TaxRates`)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=100)
    tax_type = models.CharField(max_length=50)
    status = models.CharField(max_length=10, default="ACTIVE")  # ACTIVE, DELETED, ARCHIVED
    can_apply_to_revenue = models.BooleanField(default=True)
    can_apply_to_expenses = models.BooleanField(default=False)
    effective_rate = models.DecimalField(max_digits=8, decimal_places=4)
    display_tax_rate = models.DecimalField(max_digits=8, decimal_places=4)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "tax_type"], name="sandbox_tax_type_unique")]

    def __str__(self):
        return f"{self.name} ({self.tax_type})"


class TrackingCategory(models.Model):
    """A tracking category (`GET /TrackingCategories`): what a line can be reported by, e.g. "Region".
    Xero allows an organisation at most 2 ACTIVE ones (`MAX_ACTIVE`) and 100 options in each; a category
    that transactions use is archived rather than deleted, and a DELETED one is gone from the API."""

    MAX_ACTIVE = 2  # Xero's limit of active tracking categories per organisation
    MAX_OPTIONS = 100  # Xero's limit of options per tracking category

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tracking_categories")
    tracking_category_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, default="ACTIVE")  # ACTIVE, ARCHIVED, DELETED

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "tracking categories"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="sandbox_tracking_category_name_unique")
        ]

    def __str__(self):
        return self.name


class TrackingOption(models.Model):
    """One of a tracking category's options, e.g. "North". An archived option stays on the lines that
    already carry it, but a new or changed line cannot take it."""

    category = models.ForeignKey(TrackingCategory, on_delete=models.CASCADE, related_name="options")
    tracking_option_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, default="ACTIVE")  # ACTIVE, ARCHIVED, DELETED

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="sandbox_tracking_option_name_unique")]

    def __str__(self):
        return f"{self.category.name}: {self.name}"


class BrandingTheme(models.Model):
    """A branding theme (`GET /BrandingThemes`): how an invoice or credit note is laid out. The one with
    the lowest SortOrder (0, "Standard" in a new organisation) is the organisation's default."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="branding_themes")
    branding_theme_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=255)
    sort_order = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=10, default="INVOICE")  # always INVOICE
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.name


class Contact(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="contacts")
    contact_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=255)
    account_number = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=15, default="ACTIVE")  # ACTIVE, ARCHIVED, GDPRREQUEST
    email = models.CharField(max_length=255, blank=True)
    # Xero's TaxNumber (ABN, GST or VAT number, US Tax ID) and, in US organisations, its TaxNumberType —
    # kept as any text: real answers carry values the SDK's enumeration does not know ("TAXNUMBERTYPE/EIN").
    tax_number = models.CharField(max_length=50, blank=True)
    tax_number_type = models.CharField(max_length=50, blank=True)
    is_customer = models.BooleanField(default=False)
    is_supplier = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Document(models.Model):
    """A sales invoice (ACCREC) or credit note (ACCRECCREDIT), or a supplier's bill (ACCPAY) or credit
    note (ACCPAYCREDIT). Xero keeps both sides in one list: `/Invoices` answers bills too."""

    INVOICE, CREDIT_NOTE = "ACCREC", "ACCRECCREDIT"
    BILL, SUPPLIER_CREDIT_NOTE = "ACCPAY", "ACCPAYCREDIT"
    INVOICE_TYPES = (INVOICE, BILL)  # what /Invoices holds, sales first
    CREDIT_NOTE_TYPES = (CREDIT_NOTE, SUPPLIER_CREDIT_NOTE)  # what /CreditNotes holds
    SALES_TYPES = (INVOICE, CREDIT_NOTE)

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="documents")
    document_id = models.UUIDField(default=uuid.uuid4, unique=True)
    type = models.CharField(max_length=15)
    number = models.CharField(max_length=255, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="documents")
    date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    currency_code = models.CharField(max_length=3)
    # Units of the currency to one of the base currency: the one sent, else Xero's daily rate for the date.
    currency_rate = models.DecimalField(max_digits=18, decimal_places=6, default=1)
    line_amount_types = models.CharField(max_length=10, default="Exclusive")
    status = models.CharField(max_length=10)  # DRAFT, SUBMITTED, AUTHORISED, PAID, VOIDED, DELETED
    sub_total = models.DecimalField(**MONEY)
    total_tax = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    amount_paid = models.DecimalField(**MONEY)
    amount_credited = models.DecimalField(**MONEY)
    fully_paid_on = models.DateField(null=True, blank=True)
    # The theme it was given, else the organisation's default when it was created (as Xero fills it in).
    branding_theme = models.ForeignKey(
        BrandingTheme, on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    # The unguessable part of the online invoice's public URL (Xero's in.xero.com/<token>): given when an
    # app first asks for it (GET /Invoices/{id}/OnlineInvoice); a sales invoice's only.
    online_invoice_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "type", "number"])]

    def __str__(self):
        return self.number or str(self.document_id)

    @property
    def is_credit_note(self) -> bool:
        return self.type in self.CREDIT_NOTE_TYPES

    @property
    def is_purchase(self) -> bool:
        """A supplier's document: its number was typed in by hand and need not be unique."""
        return self.type not in self.SALES_TYPES

    @property
    def amount_due(self) -> Decimal:
        """An invoice's amount due, or a credit note's remaining credit."""
        return self.total - self.amount_paid - self.amount_credited


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    line_item_id = models.UUIDField(default=uuid.uuid4)
    description = models.TextField(blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    unit_amount = models.DecimalField(max_digits=18, decimal_places=4)
    account_code = models.CharField(max_length=10, blank=True)
    tax_type = models.CharField(max_length=50, blank=True)
    line_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    # Xero's `Tracking` of the line as it was chosen: up to two
    # {"TrackingCategoryID", "TrackingOptionID", "Name", "Option"}, one a category.
    tracking = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.description or f"Line {self.line_item_id}"


class Payment(models.Model):
    payment_id = models.UUIDField(default=uuid.uuid4, unique=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(**MONEY)  # in the document's currency
    date = models.DateField()
    # The payment date's rate (a later rate than the document's makes a currency gain or loss in Xero).
    currency_rate = models.DecimalField(max_digits=18, decimal_places=6, default=1)
    reference = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, default="AUTHORISED")  # AUTHORISED, DELETED
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Payment of {self.amount} against {self.document}"


class Allocation(models.Model):
    """Part of a credit note applied to an invoice."""

    allocation_id = models.UUIDField(default=uuid.uuid4, unique=True)
    credit_note = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="allocations_made")
    invoice = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="allocations_received")
    amount = models.DecimalField(**MONEY)
    date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.amount} of {self.credit_note} allocated to {self.invoice}"


class Attachment(models.Model):
    """A file attached to an invoice, bill or credit note (`PUT /Invoices/{id}/Attachments/{FileName}`).
    File names need not be unique: putting the same name again adds another file, as Xero does. Read
    lists with `.defer("content")`: the bytes are only for a download."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="attachments")
    attachment_id = models.UUIDField(default=uuid.uuid4, unique=True)
    file_name = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255)
    content = models.BinaryField()
    content_length = models.PositiveIntegerField()
    include_online = models.BooleanField(default=False)  # shown to the customer with the online invoice
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.file_name} on {self.document}"
