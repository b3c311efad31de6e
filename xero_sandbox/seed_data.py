"""Xero's default chart of accounts and tax rates for a new NZ and a new UK organisation (the
parts a sales ledger touches), plus deliberate traps for the set-up check."""

from decimal import Decimal

# (code, name, type, class, system account, tax type)
COMMON_ACCOUNTS = [
    ("200", "Sales", "REVENUE", "REVENUE", "", "OUTPUT2"),
    ("260", "Other Revenue", "REVENUE", "REVENUE", "", "OUTPUT2"),
    ("270", "Interest Income", "REVENUE", "REVENUE", "", "NONE"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", "", "INPUT2"),
    ("320", "Direct Wages", "DIRECTCOSTS", "EXPENSE", "", "NONE"),
    ("325", "Direct Expenses", "DIRECTCOSTS", "EXPENSE", "", "INPUT2"),
    ("400", "Advertising", "EXPENSE", "EXPENSE", "", "INPUT2"),
    ("404", "Bank Fees", "EXPENSE", "EXPENSE", "", "NONE"),
    ("425", "Freight & Courier", "EXPENSE", "EXPENSE", "", "INPUT2"),
    ("429", "General Expenses", "EXPENSE", "EXPENSE", "", "INPUT2"),
    ("433", "Insurance", "EXPENSE", "EXPENSE", "", "INPUT2"),
    ("469", "Rent", "EXPENSE", "EXPENSE", "", "INPUT2"),
    ("610", "Accounts Receivable", "CURRENT", "ASSET", "DEBTORS", "NONE"),
    ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "CREDITORS", "NONE"),
    ("860", "Rounding", "CURRLIAB", "LIABILITY", "ROUNDING", "NONE"),
    ("877", "Tracking Transfers", "CURRLIAB", "LIABILITY", "TRACKINGTRANSFERS", "NONE"),
    ("960", "Retained Earnings", "EQUITY", "EQUITY", "RETAINEDEARNINGS", "NONE"),
    ("970", "Owner A Funds Introduced", "EQUITY", "EQUITY", "", "NONE"),
]
# An archived revenue account: codes pointing at it are rejected.
ARCHIVED_ACCOUNTS = [("250", "Old Sales (archived)", "REVENUE", "REVENUE", "", "OUTPUT2")]
NZ_ACCOUNTS = COMMON_ACCOUNTS + [("820", "GST", "CURRLIAB", "LIABILITY", "GST", "NONE")]
UK_ACCOUNTS = COMMON_ACCOUNTS + [("820", "VAT", "CURRLIAB", "LIABILITY", "GST", "NONE")]

# (name, tax type, percent, can apply to revenue, can apply to expenses)
NZ_TAX_RATES = [
    ("15% GST on Income", "OUTPUT2", Decimal("15"), True, False),
    ("15% GST on Expenses", "INPUT2", Decimal("15"), False, True),
    ("Zero Rated", "ZERORATED", Decimal("0"), True, True),
    ("No GST", "NONE", Decimal("0"), True, True),
    ("GST on Imports", "GSTONIMPORTS", Decimal("0"), False, True),
]
# A tax rate no longer in use (NZ's GST was 12.5% until 2010): a tax rate whose accounting code is its
# TaxType is rejected.
NZ_ARCHIVED_TAX_RATES = [("12.5% GST on Income (before 2010)", "TAX001", Decimal("12.5"), True, False)]
UK_TAX_RATES = [
    ("20% (VAT on Income)", "OUTPUT2", Decimal("20"), True, False),
    ("20% (VAT on Expenses)", "INPUT2", Decimal("20"), False, True),
    ("5% (VAT on Income)", "RROUTPUT", Decimal("5"), True, False),
    ("Zero Rated Income", "ZERORATEDOUTPUT", Decimal("0"), True, False),
    ("Exempt Income", "EXEMPTOUTPUT", Decimal("0"), True, False),
    ("No VAT", "NONE", Decimal("0"), True, True),
]

# (name, account number, status, is customer)
NZ_CONTACTS = [
    ("Acme Imports Ltd", "ACME01", "ACTIVE", True),  # matches the demo billing account ACME01
    ("Bluefin Seafoods Ltd", "BLUEFIN", "ARCHIVED", True),  # matches, but archived
    ("Kiwi Traders", "", "ACTIVE", True),  # same name as a demo billing account, no account number
    ("Harbour Logistics", "HARB-7", "ACTIVE", True),
    ("Office Supplies Co", "", "ACTIVE", False),
]
UK_CONTACTS = [
    ("Thames Wholesale plc", "THAMES01", "ACTIVE", True),
    ("Old Customer Ltd", "OLD01", "ARCHIVED", True),
]
# A customer with a US tax number, answered as real Xero answers a US organisation's contact:
# `"TaxNumberType": "TAXNUMBERTYPE/EIN"`, a value xero-python's enumeration lacks, so the SDK's
# get_contacts raises ValueError on any answer holding it (xero-api.md §10). The sandbox has no US
# organisation, so the UK one carries it. (name, account number, tax number, tax number type)
UK_TAXED_CONTACTS = [("Hudson River Imports Inc", "HUDSON01", "12-3456789", "TAXNUMBERTYPE/EIN")]

# Customers typed into the NZ books by hand, made by the seed command only (the tests' books keep the
# contacts above): an Account Number that differs from a demo billing account code only by a space.
NZ_DEMO_CONTACTS = [("Pacific Shipping Co", "PAC 02", "ACTIVE", True)]

# (category, status, [(option, status)]): Xero allows at most 2 ACTIVE categories an organisation. The
# archived option and category are traps for the set-up check (a line may not take them).
NZ_TRACKING_CATEGORIES = [
    (
        "Service",
        "ACTIVE",
        [
            ("Sea", "ACTIVE"),
            ("Air", "ACTIVE"),
            ("Road", "ACTIVE"),
            ("Warehousing", "ACTIVE"),
            ("Rail", "ARCHIVED"),
        ],
    ),
    ("Branch", "ACTIVE", [("Auckland", "ACTIVE"), ("Wellington", "ACTIVE"), ("Christchurch", "ACTIVE")]),
    ("Old Region", "ARCHIVED", [("North Island", "ACTIVE")]),
]
UK_TRACKING_CATEGORIES = [("Branch", "ACTIVE", [("London", "ACTIVE"), ("Manchester", "ACTIVE")])]

# (name, sort order): the lowest is the default, which Xero gives a document sent without a BrandingThemeID.
NZ_BRANDING_THEMES = [("Standard", 0), ("Freight Premium", 1)]
UK_BRANDING_THEMES = [("Standard", 0)]

ORGANISATIONS = [
    {
        "name": "Demo Freight NZ Ltd",
        "country_code": "NZ",
        "base_currency": "NZD",
        "currencies": ["AUD", "USD"],  # enabled besides NZD; GBP is not
        # XE.com's rates, units to one NZD, dated the day the sandbox is seeded (a document on another day takes
        # the closest day's, as Xero does when it has none for the day).
        "exchange_rates": {"AUD": "0.912300", "USD": "0.589500"},
        "short_code": "!nz001",
        "accounts": NZ_ACCOUNTS,
        "tax_rates": NZ_TAX_RATES,
        "archived_tax_rates": NZ_ARCHIVED_TAX_RATES,
        "contacts": NZ_CONTACTS,
        "tracking_categories": NZ_TRACKING_CATEGORIES,
        "branding_themes": NZ_BRANDING_THEMES,
    },
    {
        "name": "Demo Freight UK Ltd",
        "country_code": "GB",
        "base_currency": "GBP",
        "short_code": "!uk001",
        "accounts": UK_ACCOUNTS,
        "tax_rates": UK_TAX_RATES,
        "contacts": UK_CONTACTS,
        "taxed_contacts": UK_TAXED_CONTACTS,
        "tracking_categories": UK_TRACKING_CATEGORIES,
        "branding_themes": UK_BRANDING_THEMES,
    },
]

# Invoices already in the NZ books (entered in Xero by hand), so the pages have something to pay or void:
# (contact's account number, number, status, [(description, quantity, unit amount, account, tax type)])
NZ_DOCUMENTS = [
    ("HARB-7", "INV-0001", "AUTHORISED", [("Customs clearance", "1", "250.00", "200", "OUTPUT2")]),
    ("HARB-7", "INV-0002", "AUTHORISED", [("Warehousing, 12 pallet-weeks", "12", "18.50", "260", "OUTPUT2")]),
]
