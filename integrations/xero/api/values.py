"""The plain values the `api` package hands back and takes: nothing above it sees an SDK model or a JSON
answer of Xero's."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

MODIFIED_PAGE_SIZE = 100  # Xero's page of invoices or credit notes changed since a moment


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime.datetime
    scopes: str
    auth_event_id: str


@dataclass(frozen=True)
class Tenant:
    connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str


@dataclass(frozen=True)
class Organisation:
    name: str
    country_code: str
    base_currency: str


@dataclass(frozen=True)
class ReportedLimits:
    """What an answer of Xero's says is left of the organisation's limits, and of the app's minute across
    all organisations (None: it did not say)."""

    minute_remaining: int | None
    day_remaining: int | None
    app_minute_remaining: int | None = None

    @classmethod
    def from_headers(cls, headers) -> "ReportedLimits":
        headers = headers or {}
        return cls(
            minute_remaining=int_or_none(headers.get("X-MinLimit-Remaining")),
            day_remaining=int_or_none(headers.get("X-DayLimit-Remaining")),
            app_minute_remaining=int_or_none(headers.get("X-AppMinLimit-Remaining")),
        )


@dataclass(frozen=True)
class XeroContact:
    contact_id: str
    name: str
    account_number: str
    status: str


@dataclass(frozen=True)
class LineOut:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str
    tracking: tuple[tuple[str, str], ...] = ()  # (tracking category, option) pairs


@dataclass(frozen=True)
class DocumentOut:
    """An invoice (ACCREC) or credit note (ACCRECCREDIT) as it is sent."""

    credit_note: bool
    number: str
    contact_id: str
    reference: str
    currency: str
    date: datetime.date
    due_date: datetime.date | None
    lines: tuple[LineOut, ...]
    # Units of `currency` to one of the organisation's base currency; None: Xero's daily rate for the date.
    currency_rate: Decimal | None = None
    branding_theme_id: str = ""  # "": the organisation's default theme


@dataclass(frozen=True)
class DocumentIn:
    """Xero's answer for one document: created (with its id) or refused (with Xero's messages)."""

    number: str
    xero_id: str = ""
    status: str = ""
    total: Decimal | None = None
    messages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.xero_id) and not self.messages


@dataclass(frozen=True)
class DocumentFound:
    """A document Xero holds under a number the platform asked about: a sales document, or a supplier's
    (ACCPAY, ACCPAYCREDIT), whose numbers suppliers type in and may equal the platform's."""

    xero_id: str
    type: str
    number: str
    status: str
    contact_id: str
    contact_name: str
    total: Decimal | None
    date: datetime.date | None


@dataclass(frozen=True)
class Found:
    """What a look-up split over several requests found, and the conditions Xero could not read (each
    alone, with Xero's message): one odd code never fails the others."""

    items: list
    refused: dict[str, str]


@dataclass(frozen=True)
class CreditPosition:
    """What is left to allocate between a credit note and an invoice, read from Xero at one moment:
    the invoice's amount due, the credit note's remaining credit, and what this credit note has
    already been allocated to this invoice."""

    amount_due: Decimal
    remaining_credit: Decimal
    applied_from_credit_note: Decimal


@dataclass(frozen=True)
class DocumentState:
    """What Xero says of one invoice or credit note now: its status, what is paid and due, and when it changed."""

    xero_id: str
    status: str
    amount_paid: Decimal | None
    amount_due: Decimal | None
    updated_at: datetime.datetime | None
    type: str = ""


def int_or_none(text: str | None) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
