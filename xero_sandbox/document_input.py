"""Reads one `Invoices`/`CreditNotes` element of a request into a `books.DocumentInput`, checking it
as Xero does and collecting all of Xero's messages for it at once (Xero answers every problem of an
element together, not the first one only).

The element's `Type` says which side of the books it belongs to: a sales document (ACCREC,
ACCRECCREDIT) posts to a revenue account with a tax rate for revenue; a supplier's (ACCPAY,
ACCPAYCREDIT) with a tax rate that can apply to expenses, to any account but a system one. That is
lenient on purpose: Xero lets a bill post to expense, asset, liability and even revenue accounts, and
what the sandbox must catch is the sales side's rules, not a bookkeeper's choices."""

import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .books_totals import LINE_AMOUNT_TYPES, DocumentInput, LineInput, RuleBroken
from .models import Document, Organisation, TrackingCategory
from .xero_json import parse_xero_date

ARCHIVED_CONTACT = (
    "The contact with the specified contact details has been archived. "
    "The contact must be un-archived before creating new invoices or credit notes."
)

# --- A line's Tracking -----------------------------------------------------------------------------
# Xero's own words when a tracking category named in a request is not an active one, as it answers a
# contact's SalesTrackingCategories ("There is no ACTIVE tracking category with the name ''",
# calcinai/xero-php#386); the sandbox answers a line's unknown, archived or deleted category with them too.
NO_ACTIVE_CATEGORY = "There is no ACTIVE tracking category with the name '{name}'"
# Xero's wording for the rest was not found: these messages are the sandbox's own.
NO_ACTIVE_CATEGORY_ID = "There is no ACTIVE tracking category with the TrackingCategoryID '{id}'"
NO_OPTION = "A tracking option must be given for the tracking category '{category}'."
UNKNOWN_OPTION = "The tracking option '{option}' does not exist in the tracking category '{category}'."
ARCHIVED_OPTION = (
    "The tracking option '{option}' of the tracking category '{category}' has been archived. "
    "Each line item must use an active tracking option."
)
TOO_MANY_TRACKING = "A line item can have at most 2 tracking categories."  # the limit is Xero's
SAME_CATEGORY_TWICE = "The tracking category '{category}' can only be given once on a line item."
TRACKING_NOT_A_LIST = "Tracking must be a list of tracking categories and options."
TRACKING_KEYS = ("TrackingCategoryID", "Name", "TrackingOptionID", "Option")

# Xero refuses an invoice whose BrandingThemeID names no theme of the organisation (a deleted one:
# XeroAPI/xero-php-oauth2#267), but its wording was not found: this message is the sandbox's own.
UNKNOWN_BRANDING_THEME = "The BrandingThemeID '{id}' does not match a branding theme of this organisation."


RATE_PLACES = Decimal("0.000001")


def value(element: dict, name: str, default=None):
    """A field of a request element, by Xero's case-insensitive name."""
    if name in element:
        return element[name]
    wanted = name.lower()
    return next((v for k, v in element.items() if k.lower() == wanted), default)


def read_currency_rate(given, problems: list[str]) -> Decimal | None:
    """A document's or a payment's CurrencyRate, when one is sent; Xero keeps six decimal places. (Xero's
    wording for a rate of zero or less was not found: this message is the sandbox's own.)"""
    if given is None or given == "":
        return None
    try:
        rate = Decimal(str(given))
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate <= 0:
        problems.append(f"The CurrencyRate '{given}' must be a number greater than zero.")
        return None
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def as_uuid(text) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


class DocumentReader:
    """Reads the elements of one call to `/Invoices` or `/CreditNotes` — `types` is (sales, purchases):
    Document.INVOICE_TYPES or CREDIT_NOTE_TYPES — with the organisation's accounts, tax rates and
    contacts loaded once for the whole batch."""

    def __init__(self, organisation: Organisation, types: tuple[str, str], *, unitdp: int = 2):
        self.organisation, self.types = organisation, types
        self.type = types[0]  # the element's, once read
        self.unit_places = Decimal("0.0001") if unitdp == 4 else Decimal("0.01")
        self.accounts = {a.code.lower(): a for a in organisation.accounts.all()}
        self.tax_rates = {r.tax_type.upper(): r for r in organisation.tax_rates.all()}
        self.contacts = {c.contact_id: c for c in organisation.contacts.all()}
        categories = organisation.tracking_categories.exclude(status="DELETED").prefetch_related("options")
        self.tracking_categories = list(categories)
        self.branding_themes = {t.branding_theme_id: t for t in organisation.branding_themes.all()}
        self.kept_options: set[str] = set()  # the tracking options the document being updated already has
        self.problems: list[str] = []

    def read(self, element: dict, existing: Document | None = None) -> DocumentInput:
        """The element as a create (no `existing`) or an update; raises RuleBroken with every message.
        `fields["type"]` is the document's type (the existing one's for an update)."""
        self.problems = []
        self.kept_options = _tracking_options_of(existing) if existing is not None else set()
        self.type = self._read_type(element, existing)
        fields = {"type": self.type}
        if existing is None or value(element, "Contact") is not None:
            fields["contact"] = self._contact(value(element, "Contact"), existing)
        for name, reader in (
            ("number", self._number),
            ("date", self._date("Date")),
            ("due_date", self._date("DueDate")),
            ("reference", self._text("Reference")),
            ("currency_code", self._currency),
            ("currency_rate", self._currency_rate),
            ("line_amount_types", self._line_amount_types),
            ("status", self._status),
            ("branding_theme", self._branding_theme),
        ):
            result = reader(element)
            if result is not None:
                fields[name] = result
        items = value(element, "LineItems")
        lines = None if items is None else self._lines(items)
        if self.problems:
            raise RuleBroken(*dict.fromkeys(self.problems))  # one message per problem, as Xero lists them
        return DocumentInput(fields=fields, lines=lines)

    def _read_type(self, element: dict, existing: Document | None) -> str:
        given = str(value(element, "Type") or "").upper()
        if existing is not None and given and given != existing.type:
            self.problems.append(f"The Type of {existing.type} {existing} cannot be changed.")
        elif existing is None and given not in self.types:
            self.problems.append(f"Type must be {' or '.join(self.types)}.")
        return existing.type if existing is not None else (given if given in self.types else self.types[0])

    def _contact(self, contact, existing: Document | None):
        if not isinstance(contact, dict) or not (value(contact, "ContactID") or value(contact, "Name")):
            self.problems.append("A Contact must be specified for this type of transaction")
            return None
        found = self._find_contact(contact)
        if found is None:
            self.problems.append("The contact with the specified contact details could not be found.")
        elif found.status != "ACTIVE" and (existing is None or found.pk != existing.contact_id):
            # Archiving a contact stops new documents for it, not changes (a void) to its old ones.
            self.problems.append(ARCHIVED_CONTACT)
        return found

    def _find_contact(self, contact: dict):
        contact_id = value(contact, "ContactID")
        if contact_id:
            return self.contacts.get(as_uuid(contact_id))
        # By name: the active contact of that name (Xero would create a new contact; the sandbox does not).
        name = str(value(contact, "Name")).strip().lower()
        named = [c for c in self.contacts.values() if c.name.lower() == name]
        return next((c for c in named if c.status == "ACTIVE"), named[0] if named else None)

    def _number(self, element: dict) -> str | None:
        number = value(element, "CreditNoteNumber" if self.type in Document.CREDIT_NOTE_TYPES else "InvoiceNumber")
        number = str(number or "").strip()
        if len(number) > 255:
            self.problems.append("The document number must not be longer than 255 characters.")
        return number or None

    def _date(self, name: str):
        def read(element: dict):
            given = value(element, name)
            try:
                return parse_xero_date(given)
            except ValueError:
                self.problems.append(f"The {name} '{given}' is not a valid date.")
                return None

        return read

    def _text(self, name: str):
        def read(element: dict):
            given = value(element, name)
            return None if given is None else str(given)[:255]

        return read

    def _currency(self, element: dict) -> str | None:
        code = str(value(element, "CurrencyCode") or "").upper()
        if code and code not in self.organisation.enabled_currencies():
            self.problems.append(f"Organisation is not subscribed to currency {code}")
        return code or None

    def _currency_rate(self, element: dict) -> Decimal | None:
        return read_currency_rate(value(element, "CurrencyRate"), self.problems)

    def _line_amount_types(self, element: dict) -> str | None:
        given = value(element, "LineAmountTypes")
        if given is None:
            return None
        known = {t.lower(): t for t in LINE_AMOUNT_TYPES}
        if str(given).lower() not in known:
            self.problems.append("LineAmountTypes must be Exclusive, Inclusive or NoTax.")
            return None
        return known[str(given).lower()]

    def _status(self, element: dict) -> str | None:
        status = str(value(element, "Status") or "").upper()
        if status and status not in ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"):
            self.problems.append(f"'{status}' is not a valid status.")
            return None
        return status or None

    def _branding_theme(self, element: dict):
        """The theme named by BrandingThemeID, when one is sent (without one, a new document gets the
        organisation's default: `books.default_branding_theme`)."""
        given = value(element, "BrandingThemeID")
        if given is None or given == "":
            return None
        theme = self.branding_themes.get(as_uuid(given))
        if theme is None:
            self.problems.append(UNKNOWN_BRANDING_THEME.format(id=given))
        return theme

    # --- Lines -----------------------------------------------------------------------------------
    def _lines(self, items) -> list[LineInput]:
        if not isinstance(items, list):
            self.problems.append("LineItems must be a list.")
            return []
        return [self._line(item) for item in items if isinstance(item, dict)]

    def _line(self, item: dict) -> LineInput:
        quantity = self._decimal(item, "Quantity", Decimal("1"), Decimal("0.0001"))
        unit_amount = self._decimal(item, "UnitAmount", None, self.unit_places)
        if unit_amount is None:
            # A line given by its amount only: Xero derives the unit amount.
            line_amount = self._decimal(item, "LineAmount", Decimal("0"), Decimal("0.01"))
            unit_amount = line_amount / quantity if quantity else line_amount
            unit_amount = unit_amount.quantize(self.unit_places, ROUND_HALF_UP)
        account_code = str(value(item, "AccountCode") or "").strip()
        account = self._account(account_code) if account_code else None
        # No TaxType: the account's default one, as Xero fills it in.
        tax_type = str(value(item, "TaxType") or "").strip().upper()
        tax_type = tax_type or (account.tax_type if account else "") or "NONE"
        rate = self._tax_rate(tax_type)
        line_id = as_uuid(value(item, "LineItemID")) if value(item, "LineItemID") else None
        return LineInput(
            description=str(value(item, "Description") or ""),
            quantity=quantity,
            unit_amount=unit_amount,
            account_code=account_code,
            tax_type=tax_type,
            tax_rate=rate,
            line_item_id=line_id,
            tracking=self._tracking(item),
        )

    def _decimal(self, item: dict, name: str, default, places: Decimal):
        given = value(item, name)
        if given is None or given == "":
            return default
        try:
            return Decimal(str(given)).quantize(places, ROUND_HALF_UP)
        except InvalidOperation:
            self.problems.append(f"{name} '{given}' is not a number.")
            return default if default is not None else Decimal("0")

    def _tracking(self, item: dict) -> list[dict]:
        """The line's `Tracking`: at most two entries, each naming an active category (by
        TrackingCategoryID, else by Name) and one of its active options (by TrackingOptionID, else by
        Option), names matched case-insensitively. Stored and answered with the names as Xero spells them."""
        given = value(item, "Tracking")
        if given is None or given == "":
            return []
        if not isinstance(given, list):
            # Xero answers a single object instead of a list with a 500 (XeroAPI/xero-ruby#86).
            self.problems.append(TRACKING_NOT_A_LIST)
            return []
        entries = [e for e in given if isinstance(e, dict) and any(value(e, key) for key in TRACKING_KEYS)]
        if len(entries) > TrackingCategory.MAX_ACTIVE:
            self.problems.append(TOO_MANY_TRACKING)
            return []
        chosen: list[dict] = []
        for entry in entries:
            picked = self._tracking_entry(entry)
            if picked is None:
                continue
            if any(c["TrackingCategoryID"] == picked["TrackingCategoryID"] for c in chosen):
                # Refused rather than guessed at: which of the two Xero would keep is not known.
                self.problems.append(SAME_CATEGORY_TWICE.format(category=picked["Name"]))
                continue
            chosen.append(picked)
        return chosen

    def _tracking_entry(self, entry: dict) -> dict | None:
        category_id = value(entry, "TrackingCategoryID")
        name = str(value(entry, "Name") or "").strip()
        if category_id:
            wanted = as_uuid(category_id)
            category = next((c for c in self.tracking_categories if c.tracking_category_id == wanted), None)
        else:
            category = next((c for c in self.tracking_categories if c.name.casefold() == name.casefold()), None)
        if category is None or category.status != "ACTIVE":
            if category is not None or not category_id:
                self.problems.append(NO_ACTIVE_CATEGORY.format(name=category.name if category else name))
            else:
                self.problems.append(NO_ACTIVE_CATEGORY_ID.format(id=category_id))
            return None
        option = self._tracking_option(category, entry)
        if option is None:
            return None
        return {
            "TrackingCategoryID": str(category.tracking_category_id),
            "TrackingOptionID": str(option.tracking_option_id),
            "Name": category.name,
            "Option": option.name,
        }

    def _tracking_option(self, category, entry: dict):
        option_id = value(entry, "TrackingOptionID")
        option_name = str(value(entry, "Option") or "").strip()
        options = [o for o in category.options.all() if o.status != "DELETED"]
        if option_id:
            wanted = as_uuid(option_id)
            option = next((o for o in options if o.tracking_option_id == wanted), None)
        elif option_name:
            option = next((o for o in options if o.name.casefold() == option_name.casefold()), None)
        else:
            self.problems.append(NO_OPTION.format(category=category.name))
            return None
        if option is None:
            self.problems.append(UNKNOWN_OPTION.format(option=option_name or option_id, category=category.name))
            return None
        if option.status != "ACTIVE" and str(option.tracking_option_id) not in self.kept_options:
            # Archiving an option stops new lines taking it, not a change to a document that has it
            # (as with an archived contact): the sandbox's reading of Xero.
            self.problems.append(ARCHIVED_OPTION.format(option=option.name, category=category.name))
            return None
        return option

    @property
    def _sales(self) -> bool:
        return self.type in Document.SALES_TYPES

    def _account(self, code: str):
        account = self.accounts.get(code.lower())
        usable = _usable_on_sales if self._sales else _usable_on_purchases
        if account is None or not usable(account):
            self.problems.append(f"Account code '{code}' is not a valid code for this document.")
            return None
        if account.status != "ACTIVE":
            self.problems.append(
                f"Account code '{code}' has been archived, or has been deleted. "
                "Each line item must reference a valid account"
            )
            return None
        return account

    def _tax_rate(self, tax_type: str) -> Decimal:
        rate = self.tax_rates.get(tax_type)
        applies = rate is not None and (rate.can_apply_to_revenue if self._sales else rate.can_apply_to_expenses)
        if not applies or rate.status != "ACTIVE":
            self.problems.append(
                f"The TaxType code {tax_type} does not exist or cannot be used for this type of transaction."
            )
            return Decimal("0")
        return rate.effective_rate


def _tracking_options_of(document: Document) -> set[str]:
    return {entry["TrackingOptionID"] for line in document.lines.all() for entry in line.tracking}


def _usable_on_sales(account) -> bool:
    """A sales line posts to a revenue account, never to a system account (receivables, GST...)."""
    return account.account_class == "REVENUE" and not account.system_account


def _usable_on_purchases(account) -> bool:
    """A bill's line may post to any account but a system one (payables, GST...): lenient, as Xero is."""
    return not account.system_account
