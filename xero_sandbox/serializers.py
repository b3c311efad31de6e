"""Sandbox rows as the Accounting API's JSON elements."""

from .models import Account, BrandingTheme, Organisation, TaxRate, TrackingCategory, TrackingOption

CURRENCY_NAMES = {
    "AUD": "Australian Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound",
    "NZD": "New Zealand Dollar",
    "SGD": "Singapore Dollar",
    "USD": "United States Dollar",
}


def currency_element(code: str) -> dict:
    return {"Code": code, "Description": CURRENCY_NAMES.get(code, code)}


def organisation_element(org: Organisation) -> dict:
    return {
        "OrganisationID": org.tenant_id,
        "Name": org.name,
        "LegalName": org.name,
        "PaysTax": True,
        "Version": {"AU": "AU", "NZ": "NZ", "GB": "UK", "US": "US"}.get(org.country_code, "GLOBAL"),
        "OrganisationType": "COMPANY",
        "BaseCurrency": org.base_currency,
        "CountryCode": org.country_code,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "ShortCode": org.short_code,
        "CreatedDateUTC": org.created_at,
        "Timezone": "NEWZEALANDSTANDARDTIME" if org.country_code == "NZ" else "GMTSTANDARDTIME",
        "OrganisationEntityType": "COMPANY",
        "Edition": "BUSINESS",
        "Class": "STANDARD",
    }


def account_element(account: Account) -> dict:
    element = {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Type": account.type,
        "Status": account.status,
        "TaxType": account.tax_type,
        "Class": account.account_class,
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "ReportingCode": "",
        "HasAttachments": False,
        "UpdatedDateUTC": account.updated_at,
        "AddToWatchlist": False,
    }
    if account.system_account:
        element["SystemAccount"] = account.system_account
    return element


def tax_rate_element(rate: TaxRate) -> dict:
    return {
        "Name": rate.name,
        "TaxType": rate.tax_type,
        "Status": rate.status,
        "ReportTaxType": "OUTPUT" if rate.can_apply_to_revenue else "INPUT",
        "CanApplyToAssets": rate.can_apply_to_expenses,
        "CanApplyToEquity": rate.can_apply_to_expenses,
        "CanApplyToExpenses": rate.can_apply_to_expenses,
        "CanApplyToLiabilities": rate.can_apply_to_expenses,
        "CanApplyToRevenue": rate.can_apply_to_revenue,
        "DisplayTaxRate": rate.display_tax_rate,
        "EffectiveRate": rate.effective_rate,
        "TaxComponents": [
            {"Name": rate.name, "Rate": rate.display_tax_rate, "IsCompound": False, "IsNonRecoverable": False}
        ],
    }


def tracking_category_element(category: TrackingCategory, options) -> dict:
    """A tracking category with the `options` to show (which of them depends on the call)."""
    return {
        "Name": category.name,
        "Status": category.status,
        "TrackingCategoryID": category.tracking_category_id,
        "Options": [tracking_option_element(option) for option in options],
    }


def tracking_option_element(option: TrackingOption) -> dict:
    return {"TrackingOptionID": option.tracking_option_id, "Name": option.name, "Status": option.status}


def branding_theme_element(theme: BrandingTheme) -> dict:
    return {
        "BrandingThemeID": theme.branding_theme_id,
        "Name": theme.name,
        "Type": theme.type,
        "SortOrder": theme.sort_order,
        "CreatedDateUTC": theme.created_at,
    }


# --- contacts ----------------------------------------------------------------------------------
from .models import Contact  # noqa: E402  (kept with the section it serves)


def contact_element(contact: Contact) -> dict:
    """A contact as `GET /Contacts` shows it. Xero always lists both address kinds and the four
    phone kinds, empty when unset, and leaves AccountNumber, TaxNumber and TaxNumberType out when
    there are none."""
    element = {"ContactID": contact.contact_id}
    if contact.account_number:
        element["AccountNumber"] = contact.account_number
    if contact.tax_number:
        element["TaxNumber"] = contact.tax_number
    if contact.tax_number_type:
        # Any text, as stored: Xero answers values the SDK's enumeration lacks ("TAXNUMBERTYPE/EIN").
        element["TaxNumberType"] = contact.tax_number_type
    return element | {
        "ContactStatus": contact.status,
        "Name": contact.name,
        "EmailAddress": contact.email,
        "BankAccountDetails": "",
        "Addresses": [
            {"AddressType": kind, "City": "", "Region": "", "PostalCode": "", "Country": ""}
            for kind in ("STREET", "POBOX")
        ],
        "Phones": [
            {"PhoneType": kind, "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
            for kind in ("DEFAULT", "DDI", "FAX", "MOBILE")
        ],
        "UpdatedDateUTC": contact.updated_at,
        "ContactGroups": [],
        "IsSupplier": contact.is_supplier,
        "IsCustomer": contact.is_customer,
        "ContactPersons": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
    }


# --- invoices, credit notes, payments, allocations ---------------------------------------------
from decimal import ROUND_HALF_UP, Decimal  # noqa: E402  (kept with the section it serves)

from .models import Allocation, Attachment, Document, DocumentLine, Payment  # noqa: E402


def document_element(document: Document, *, unitdp: int = 2, with_lines: bool = True) -> dict:
    """An invoice or a credit note, of either side (its `Type` says which), as Xero shows it. For a list,
    select contact and branding_theme, prefetch lines, payments and allocations (`allocations_made__invoice`,
    `allocations_received__credit_note`). Xero leaves the lines out (an empty list) when it lists
    documents without the `page` parameter."""
    credit_note = document.is_credit_note
    lines = document.lines.all() if with_lines else []
    element = {
        "Type": document.type,
        "CreditNoteID" if credit_note else "InvoiceID": document.document_id,
        "CreditNoteNumber" if credit_note else "InvoiceNumber": document.number,
        "Reference": document.reference,
        "Contact": contact_element(document.contact),
        "Date": document.date,
        "DueDate": document.due_date,
        # Xero answers the theme every document has (the organisation's default when none was sent).
        "BrandingThemeID": document.branding_theme.branding_theme_id if document.branding_theme else None,
        "Status": document.status,
        "LineAmountTypes": document.line_amount_types,
        "LineItems": [line_item_element(line, unitdp=unitdp) for line in lines],
        "SubTotal": document.sub_total,
        "TotalTax": document.total_tax,
        "Total": document.total,
        "UpdatedDateUTC": document.updated_at,
        "CurrencyCode": document.currency_code,
        "CurrencyRate": document.currency_rate,
        "FullyPaidOnDate": document.fully_paid_on,
        "Payments": [_payment_summary(p) for p in document.payments.all() if p.status == "AUTHORISED"],
        "HasAttachments": _has_attachments(document),
        "HasErrors": False,
    }
    if credit_note:
        element["RemainingCredit"] = document.amount_due
        element["Allocations"] = [_allocation_summary(a) for a in document.allocations_made.all()]
    else:
        element |= {
            "AmountDue": document.amount_due,
            "AmountPaid": document.amount_paid,
            "AmountCredited": document.amount_credited,
            "IsDiscounted": False,
            "CreditNotes": [_credit_summary(a) for a in document.allocations_received.all()],
            "Prepayments": [],
            "Overpayments": [],
        }
    return _without_none(element)


def _has_attachments(document: Document) -> bool:
    """From the `has_attachments` annotation of a list (`api_support.documents_of`), else asked."""
    known = getattr(document, "has_attachments", None)
    return document.attachments.exists() if known is None else known


def attachment_element(attachment: Attachment, *, url: str) -> dict:
    """An attachment as `/…/Attachments` lists it (without the file); `url` is where the file is read."""
    return {
        "AttachmentID": attachment.attachment_id,
        "FileName": attachment.file_name,
        "Url": url,
        "MimeType": attachment.mime_type,
        "ContentLength": attachment.content_length,
        "IncludeOnline": attachment.include_online,
    }


def line_item_element(line: DocumentLine, *, unitdp: int = 2) -> dict:
    places = Decimal("0.0001") if unitdp == 4 else Decimal("0.01")
    return {
        "LineItemID": line.line_item_id,
        "Description": line.description,
        "Quantity": line.quantity,
        "UnitAmount": line.unit_amount.quantize(places, rounding=ROUND_HALF_UP),
        "AccountCode": line.account_code,
        "TaxType": line.tax_type,
        "TaxAmount": line.tax_amount,
        "LineAmount": line.line_amount,
        "Tracking": [dict(entry) for entry in line.tracking],
    }


# Xero's PaymentType by the type of document paid (or refunded).
PAYMENT_TYPES = {
    Document.INVOICE: "ACCRECPAYMENT",
    Document.CREDIT_NOTE: "ARCREDITPAYMENT",
    Document.BILL: "ACCPAYPAYMENT",
    Document.SUPPLIER_CREDIT_NOTE: "APCREDITPAYMENT",
}


def payment_element(payment: Payment, *, account: dict | None = None) -> dict:
    """A payment as `/Payments` shows it. The sandbox does not keep the bank account a payment went
    to, so `Account` appears only in the answer to the call that named it."""
    document = payment.document
    element = {
        "PaymentID": payment.payment_id,
        "Date": payment.date,
        "Amount": payment.amount,
        "Reference": payment.reference,
        "CurrencyRate": payment.currency_rate,
        "PaymentType": PAYMENT_TYPES[document.type],
        "Status": payment.status,
        "UpdatedDateUTC": payment.created_at,
        "IsReconciled": False,
        "HasAccount": account is not None,
        "HasValidationErrors": False,
        "Account": account,
        "CreditNote" if document.is_credit_note else "Invoice": _document_reference(document),
    }
    return _without_none(element)


def allocation_element(allocation: Allocation, *, deleted: bool = False) -> dict:
    return {
        "AllocationID": allocation.allocation_id,
        "Amount": allocation.amount,
        "Date": allocation.date,
        "Invoice": _document_reference(allocation.invoice),
        "CreditNote": _document_reference(allocation.credit_note),
        "IsDeleted": deleted,
    }


def _document_reference(document: Document) -> dict:
    if document.is_credit_note:
        return {"CreditNoteID": document.document_id, "CreditNoteNumber": document.number, "Type": document.type}
    return {"InvoiceID": document.document_id, "InvoiceNumber": document.number, "Type": document.type}


def _payment_summary(payment: Payment) -> dict:
    return {
        "PaymentID": payment.payment_id,
        "Date": payment.date,
        "Amount": payment.amount,
        "Reference": payment.reference,
        "CurrencyRate": payment.currency_rate,
        "HasAccount": False,
        "HasValidationErrors": False,
    }


def _allocation_summary(allocation: Allocation) -> dict:
    """An allocation as its credit note lists it."""
    return {
        "AllocationID": allocation.allocation_id,
        "Amount": allocation.amount,
        "Date": allocation.date,
        "Invoice": {"InvoiceID": allocation.invoice.document_id, "InvoiceNumber": allocation.invoice.number},
    }


def _credit_summary(allocation: Allocation) -> dict:
    """A credit note as the invoice it was allocated to lists it."""
    credit_note = allocation.credit_note
    return {
        "CreditNoteID": credit_note.document_id,
        "CreditNoteNumber": credit_note.number,
        "AppliedAmount": allocation.amount,
        "Date": allocation.date,
        "Total": credit_note.total,
    }


def _without_none(element: dict) -> dict:
    # The SDK cannot read a null date, and Xero leaves unset fields out rather than sending null.
    return {key: value for key, value in element.items() if value is not None}
