from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django_countries.fields import CountryField

from .currencies import CURRENCY_CHOICES
from .validators import (
    code_skeleton,
    no_surrounding_spaces,
    normalized_code,
    validate_account_code,
    validate_code_characters,
)

MONEY = {"max_digits": 14, "decimal_places": 2, "default": Decimal("0.00")}
# Freight is priced per kilo or cubic metre: quantities and unit prices keep 4 decimal places.
# 15 digits in all, because SQLite (the embedded mode) keeps only 15 significant digits of a
# decimal: a longer figure would come back rounded, or not at all.
FOUR_PLACES = {"max_digits": 15, "decimal_places": 4}


def accounting_part(code: str) -> str:
    """The part of a `PREFIX|CODE` code that accounting knows; a code without a pipe is whole."""
    return code.rpartition("|")[2]


class CodeField(models.CharField):
    """Text another system must match exactly: kept NFKC-normalised (a fullwidth ＵＮＩ１ is UNI1), and
    refused, naming the character, when it holds an invisible, control or quote character."""

    default_validators = [no_surrounding_spaces, validate_code_characters]

    def to_python(self, value):
        value = super().to_python(value)
        return normalized_code(value) if isinstance(value, str) else value


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class CompanyQuerySet(models.QuerySet):
    def default(self) -> "Company":
        """The company documents are issued by unless another is chosen: the first one, made from the
        settings when there is none yet (a new installation; the migration makes it for existing data)."""
        company = self.order_by("pk").first()
        if company is None:
            company, _ = self.get_or_create(
                name=settings.BILLING_COMPANY_NAME,
                defaults={
                    "country": settings.BILLING_COMPANY_COUNTRY,
                    "base_currency": settings.BILLING_DEFAULT_CURRENCY,
                },
            )
        return company


def default_company_id() -> int:
    return Company.objects.default().pk


class Company(models.Model):
    """A company that issues documents, each booked in its own accounting organisation. An installation
    with one company shows no company anywhere."""

    name = models.CharField(max_length=255, unique=True)
    country = CountryField(help_text="Where it is registered for tax: its tax rates are that country's.")
    base_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    tax_registration = models.CharField(
        "tax registration number", max_length=50, blank=True, help_text="Its GST, ABN or VAT number."
    )
    address_line1 = models.CharField("address", max_length=255, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=255, blank=True)
    city = models.CharField(max_length=255, blank=True)
    region = models.CharField(max_length=255, blank=True)
    postal_code = models.CharField(max_length=50, blank=True)
    # Numbers need only be unique in the company's own organisation; distinct prefixes keep them apart for people too.
    invoice_prefix = CodeField(max_length=10, unique=True, default="INV")
    credit_note_prefix = CodeField(max_length=10, unique=True, default="CN")

    objects = CompanyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(invoice_prefix=F("credit_note_prefix")),
                name="company_prefixes_differ",
                violation_error_message="Invoices and credit notes need different number prefixes.",
            ),
        ]

    def __str__(self):
        return self.name

    def prefix(self, kind: str) -> str:
        return self.credit_note_prefix if kind == DocumentKind.CREDIT_NOTE else self.invoice_prefix


class Branch(models.Model):
    """A branch or depot the business runs from: a document says which one earned it (accounting systems can
    report by it, e.g. as a Xero tracking category)."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "branches"

    def __str__(self):
        return self.name


class BillingAccount(models.Model):
    """A customer organisation in the address book, as it is billed."""

    code = CodeField(
        "billing account code",
        max_length=50,
        unique=True,
        help_text="Must equal the Account Number of the customer in your accounting system, exactly.",
    )
    name = models.CharField(max_length=255)
    email = models.EmailField("billing e-mail", blank=True)
    address_line1 = models.CharField("address", max_length=255, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=255, blank=True)
    city = models.CharField(max_length=255, blank=True)
    region = models.CharField(max_length=255, blank=True)
    postal_code = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=50, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    default_company = models.ForeignKey(
        Company,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The company that bills this customer unless a draft says otherwise.",
    )
    default_branch = models.ForeignKey(
        Branch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The branch or depot this customer's documents come from unless a draft says otherwise.",
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        "payment terms (days)",
        default=30,
        validators=[MaxValueValidator(365)],
        help_text="Days after the issue date that an invoice falls due.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(code=""),
                name="billing_account_code_not_blank",
                violation_error_message="Enter a billing account code.",
            ),
            models.CheckConstraint(
                condition=Q(payment_terms_days__lte=365), name="billing_account_terms_at_most_a_year"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def get_absolute_url(self):
        return reverse("billing:account_edit", args=[self.pk])

    def clean(self):
        # Xero matches Account Numbers without regard to case, and a person cannot tell look-alikes apart:
        # a code that differs from another only so is the same customer entered twice, or a trap.
        twin = self.look_alike()
        if twin is not None:
            raise ValidationError(
                {
                    "code": f"{self.code} looks like the billing account code {twin.code} of {twin.name}: they "
                    "differ only in case, spaces or look-alike letters, which Xero and people do not tell apart. "
                    "Use that billing account, or a clearly different code."
                }
            )

    def look_alike(self) -> "BillingAccount | None":
        skeleton = code_skeleton(self.code or "")
        others = BillingAccount.objects.exclude(pk=self.pk).exclude(code=self.code).only("code", "name")
        return next((other for other in others.iterator() if code_skeleton(other.code) == skeleton), None)


class Rate(models.Model):
    """A charge code used on invoice lines, with the accounts its costs and revenue post to."""

    class Category(models.TextChoices):
        FREIGHT = "freight", "Freight"
        INSURANCE = "insurance", "Insurance"
        CUSTOMS = "customs", "Customs Duty/VAT"
        DEMURRAGE = "demurrage", "Demurrage/Detention"
        OTHER = "other", "Other"

    label = models.CharField(max_length=100)
    cost_account_code = models.CharField(max_length=50, blank=True, validators=[validate_account_code])
    revenue_account_code = models.CharField(
        max_length=50,
        blank=True,
        validators=[validate_account_code],
        help_text="The Code of an active revenue account in your chart of accounts. "
        "A prefix such as SEA|200 keeps codes unique here; only 200 is sent.",
    )
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.FREIGHT)
    service = models.CharField(
        max_length=50,
        blank=True,
        help_text="The service line it belongs to, e.g. Sea, Air, Road or Warehousing: what accounting systems can "
        "report it by (a Xero tracking category's option).",
    )

    class Meta:
        ordering = ["label"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(cost_account_code="") | ~Q(revenue_account_code=""),
                name="rate_has_a_code",
                violation_error_message="Enter a cost account code, a revenue account code, or both.",
            ),
            models.CheckConstraint(
                condition=Q(cost_account_code="") | ~Q(cost_account_code=F("revenue_account_code")),
                name="rate_codes_differ",
                violation_error_message="The cost and revenue account codes must differ.",
            ),
            models.UniqueConstraint(
                fields=["cost_account_code"],
                condition=~Q(cost_account_code=""),
                name="rate_cost_code_unique",
                violation_error_message="Another rate already uses this cost account code.",
            ),
            models.UniqueConstraint(
                fields=["revenue_account_code"],
                condition=~Q(revenue_account_code=""),
                name="rate_revenue_code_unique",
                violation_error_message="Another rate already uses this revenue account code.",
            ),
        ]

    def __str__(self):
        return self.label

    def clean(self):
        # Identical codes are the `rate_codes_differ` constraint's to report; this catches two
        # different codes that post to the same account once their prefixes are dropped.
        cost, revenue = self.cost_accounting_code, self.revenue_accounting_code
        if cost and revenue and cost == revenue and self.cost_account_code != self.revenue_account_code:
            raise ValidationError(f"The cost and revenue account codes both post to account {cost}: they must differ.")

    @property
    def revenue_accounting_code(self) -> str:
        return accounting_part(self.revenue_account_code)

    def revenue_accounting_code_for(self, company_id: int) -> str:
        """The revenue account this rate posts to in one company's chart: the company's own code for it, or
        the rate's. Reads `company_codes` (prefetch it for many rates)."""
        override = next((one for one in self.company_codes.all() if one.company_id == company_id), None)
        return accounting_part(override.revenue_account_code if override else self.revenue_account_code)

    @property
    def cost_accounting_code(self) -> str:
        return accounting_part(self.cost_account_code)


class RateCompanyCode(models.Model):
    """A company whose chart of accounts books a rate's revenue elsewhere than the rate's own code says."""

    rate = models.ForeignKey(Rate, on_delete=models.CASCADE, related_name="company_codes")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="rate_codes")
    revenue_account_code = models.CharField(
        max_length=50,
        validators=[validate_account_code],
        help_text="The Code of an active revenue account in this company's chart of accounts.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rate", "company"],
                name="rate_company_code_once",
                violation_error_message="This company already has its own revenue account code for this rate.",
            ),
            models.CheckConstraint(condition=~Q(revenue_account_code=""), name="rate_company_code_not_blank"),
        ]

    def __str__(self):
        return f"{self.rate} at {self.company}: {self.revenue_account_code}"


class TaxRate(models.Model):
    """A tax rate (Settings > Tax) of one company's country, and the accounting system's code for it."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="tax_rates", default=default_company_id)
    name = models.CharField(max_length=100)
    rate = models.DecimalField(
        "rate (%)",
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    accounting_code = models.CharField(
        max_length=50,
        validators=[no_surrounding_spaces],
        help_text="The accounting system's code for this tax rate (in Xero, the TaxType, e.g. OUTPUT2).",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"],
                name="tax_rate_name_unique_per_company",
                violation_error_message="The company already has a tax rate of this name.",
            ),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100), name="tax_rate_is_a_percentage"),
            models.CheckConstraint(condition=~Q(accounting_code=""), name="tax_rate_accounting_code_not_blank"),
        ]

    def __str__(self):
        return f"{self.name} ({self.rate.normalize():f}%)"


def document_number(prefix: str, counter: int) -> str:
    return f"{prefix}-{counter:06d}"


class DocumentSequence(models.Model):
    """The last number a company gave each kind of document; its row is locked while a number is taken."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sequences", default=default_company_id)
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "kind"], name="document_sequence_per_company")]

    def __str__(self):
        return f"{self.company.prefix(self.kind)} (last {self.last_number})"


class Invoice(models.Model):
    """An invoice or a credit note. Edited as a draft; locked once issued."""

    Kind = DocumentKind

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        VOIDED = "voided", "Voided"
        DELETED = "deleted", "Deleted"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INVOICE)
    # Set by the billing services (the billing account's default company, or the first one). No default here:
    # a callable default would cost a query for every Invoice() the code builds.
    company = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        related_name="invoices",
        help_text="The company that issues it, in its own accounting organisation.",
    )
    # NULL, not "", on purpose: drafts have no number yet, and the unique constraint on it must allow many of
    # them (NULLs are distinct from one another; empty strings would collide).
    number = models.CharField(max_length=30, null=True, blank=True, editable=False)  # noqa: DJ001
    billing_account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="invoices")
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        help_text="The branch or depot it comes from (default: the billing account's).",
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    # Left empty, the accounting system converts at its own daily rate; never 1 by default, which would book a
    # foreign amount as if it were in the base currency.
    exchange_rate = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text="Only for a document in another currency than the company's own: units of that currency to one "
        "of the company's base currency (e.g. 0.5895 USD to 1 NZD). Leave empty to use the accounting system's "
        "rate for the day.",
    )
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    reference = models.CharField(
        max_length=255, blank=True, help_text="The consignment reference, or the customer's PO number."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        limit_choices_to={"kind": DocumentKind.INVOICE},
        help_text="For a credit note: the invoice it credits, if any.",
    )
    subtotal = models.DecimalField(editable=False, **MONEY)
    tax_total = models.DecimalField(editable=False, **MONEY)
    total = models.DecimalField(editable=False, **MONEY)
    # As the accounting system reports it: paid on an invoice; used (allocated or refunded) of a credit note.
    amount_paid = models.DecimalField(editable=False, **MONEY)
    issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("issue_invoice", "Can issue invoices and credit notes")]
        indexes = [
            models.Index(fields=["status", "kind"]),
            # What a company issued when (per day, over a span of days).
            models.Index(fields=["company", "issued_at"], name="invoice_company_issued_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "number"], name="invoice_number_unique_per_company"),
            models.CheckConstraint(
                condition=Q(status="draft", number__isnull=True) | (~Q(status="draft") & Q(number__isnull=False)),
                name="invoice_numbered_once_issued",
            ),
            models.CheckConstraint(
                condition=Q(credited_invoice__isnull=True) | Q(kind=DocumentKind.CREDIT_NOTE),
                name="invoice_only_credit_notes_credit",
                violation_error_message="Only a credit note can name an invoice it credits.",
            ),
            models.CheckConstraint(
                condition=Q(due_date__isnull=True) | Q(issue_date__isnull=True) | Q(due_date__gte=F("issue_date")),
                name="invoice_due_on_or_after_issue",
                violation_error_message="The due date cannot be before the issue date.",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(issue_date__isnull=False, due_date__isnull=False),
                name="invoice_dated_once_issued",
            ),
            # A credit note's total is stored positive too (see `signed_total`).
            models.CheckConstraint(
                condition=Q(status="draft") | Q(total__gte=0), name="invoice_issued_total_not_negative"
            ),
        ]

    def __str__(self):
        return self.number or f"Draft {self.get_kind_display().lower()} #{self.pk}"

    def get_absolute_url(self):
        return reverse("billing:invoice_detail", args=[self.pk])

    def clean(self):
        errors = {}
        if credited_problems := self._credited_invoice_problems():
            errors["credited_invoice"] = credited_problems
        if self.exchange_rate is not None and self.company_id and self.currency == self.company.base_currency:
            errors["exchange_rate"] = (
                f"{self.currency} is {self.company}'s base currency: a document in it takes no exchange rate."
            )
        if errors:
            raise ValidationError(errors)

    def _credited_invoice_problems(self) -> list[str]:
        credited = self._credited_invoice_or_none()
        if credited is None:
            return []
        problems = []
        if self.billing_account_id and credited.billing_account_id != self.billing_account_id:
            problems.append(f"{credited} was raised to another billing account: credit one of this account's invoices.")
        if self.currency and credited.currency != self.currency:
            problems.append(
                f"{credited} is in {credited.currency}: its credit note must be in {credited.currency} too."
            )
        if self.company_id and credited.company_id != self.company_id:
            problems.append(f"{credited} was issued by {credited.company}: its credit note must be too.")
        return problems

    def _credited_invoice_or_none(self):
        try:
            return self.credited_invoice
        except Invoice.DoesNotExist:  # reported by the field's own validation
            return None

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def signed_total(self) -> Decimal:
        """The total as lists show it: a credit note's is negative."""
        return -self.total if self.is_credit_note else self.total

    @cached_property
    def issued_credit_notes(self) -> list["Invoice"]:
        """The credit notes issued against this invoice (drafts, voided and deleted ones left out)."""
        if self.is_credit_note or not self.pk:
            return []
        return list(self.credit_notes.filter(status__in=[self.Status.ISSUED, self.Status.PAID]).order_by("number"))

    @property
    def credited_total(self) -> Decimal:
        return sum((note.total for note in self.issued_credit_notes), Decimal("0.00"))

    @property
    def owes_nothing(self) -> bool:
        """A draft, voided or deleted document: nothing is due on it."""
        return self.status in (self.Status.DRAFT, self.Status.VOIDED, self.Status.DELETED)

    @property
    def amount_due(self) -> Decimal:
        """What is left to pay (of a credit note: left to use) after payments and, on an invoice, the credit
        notes issued against it. Never below zero: credit beyond the total stays on the credit note."""
        if self.owes_nothing or self.status == self.Status.PAID:
            return Decimal("0.00")
        credited = Decimal("0.00") if self.is_credit_note else self.credited_total
        return max(self.total - credited - self.amount_paid, Decimal("0.00"))


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    rate = models.ForeignKey(Rate, on_delete=models.PROTECT, related_name="invoice_lines")
    description = models.CharField(max_length=4000)
    quantity = models.DecimalField(**FOUR_PLACES)
    unit_price = models.DecimalField(**FOUR_PLACES)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, related_name="invoice_lines")
    # Computed by the billing services (see billing/amounts.py), frozen once the document is issued.
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, editable=False, default=0)
    net_amount = models.DecimalField(editable=False, **MONEY)
    tax_amount = models.DecimalField(editable=False, **MONEY)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"),
            models.CheckConstraint(condition=~Q(description=""), name="invoice_line_has_a_description"),
        ]

    def __str__(self):
        return f"{self.description} × {self.quantity.normalize():f}"
