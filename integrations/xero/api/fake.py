"""An in-memory Xero for the fast tests of the rules above the `api` package: `XERO_API` names it instead
of `XeroApi`, as Django's tests name the locmem mail backend.

It keeps what the rules depend on — contacts, invoices and credit notes with their numbers, status,
amounts and allocations — answers as Xero does where the rules branch on it (numbers unique among
sales documents, Account Numbers unique, where-comparisons that ignore case, at most what is left
allocated), and notes each call so a test can say what was asked of Xero. It is no contract: the
tests over HTTP against the sandbox (marked `contract`) are.
"""

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from integrations.xero.api import values
from integrations.xero.api.errors import XeroError, XeroRejected
from integrations.xero.api.values import (
    CreditPosition,
    DocumentFound,
    DocumentIn,
    DocumentOut,
    DocumentState,
    Found,
    Organisation,
    XeroContact,
)

SALES = {False: "ACCREC", True: "ACCRECCREDIT"}
PURCHASES = {False: "ACCPAY", True: "ACCPAYCREDIT"}
CENT = Decimal("0.01")


@dataclass
class FakeDocument:
    xero_id: str
    type: str
    number: str
    contact: XeroContact
    total: Decimal
    date: datetime.date
    status: str = "AUTHORISED"
    paid: Decimal = Decimal("0.00")  # paid, or for a credit note, used
    allocated: dict[str, Decimal] = field(default_factory=dict)  # credit note: invoice id -> amount
    updated_at: datetime.datetime = field(default_factory=timezone.now)
    attachments: list[str] = field(default_factory=list)  # file names, a name twice when put twice (as Xero)
    tracking: list[tuple[tuple[str, str], ...]] = field(default_factory=list)  # each line's, as sent

    @property
    def credit_note(self) -> bool:
        return self.type in ("ACCRECCREDIT", "ACCPAYCREDIT")

    @property
    def left(self) -> Decimal:
        """An invoice's amount due, a credit note's remaining credit."""
        return Decimal("0.00") if self.status in ("VOIDED", "DELETED") else self.total - self.paid

    def state(self) -> DocumentState:
        return DocumentState(self.xero_id, self.status, self.paid, self.left, self.updated_at, self.type)

    def found(self) -> DocumentFound:
        return DocumentFound(
            self.xero_id,
            self.type,
            self.number,
            self.status,
            self.contact.contact_id,
            self.contact.name,
            self.total,
            self.date,
        )


@dataclass
class FakeOrganisation:
    name: str = "Fake Freight NZ Ltd"
    account_codes: set[str] = field(default_factory=lambda: {"200"})  # active revenue accounts
    currencies: list[str] = field(default_factory=lambda: ["NZD"])  # enabled; the base currency first
    tracking: list[dict] = field(default_factory=list)  # as read_tracking_categories answers
    branding_themes: list[dict] = field(default_factory=list)  # as read_branding_themes answers
    tax_percent: dict[str, Decimal] = field(default_factory=lambda: {"OUTPUT2": Decimal("15"), "NONE": Decimal("0")})
    contacts: dict[str, XeroContact] = field(default_factory=dict)
    documents: dict[str, FakeDocument] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    failures: list[tuple[str, XeroError, bool]] = field(default_factory=list)
    connected: bool = True

    def fail(self, call: str, error: XeroError, *, after_doing_it: bool = False) -> None:
        """The next `call` fails with `error`: before Xero did anything, or after (an unknown outcome)."""
        self.failures.append((call, error, after_doing_it))

    def add_contact(self, *, name: str, account_number: str = "", status: str = "ACTIVE") -> XeroContact:
        contact = XeroContact(str(uuid.uuid4()), name, account_number, status)
        self.contacts[contact.contact_id] = contact
        return contact

    def add_document(self, *, type: str, number: str, contact: XeroContact, total: Decimal, date) -> FakeDocument:
        """A document the platform did not send (entered by hand, or a supplier's bill)."""
        document = FakeDocument(str(uuid.uuid4()), type, number, contact, Decimal(total), date)
        self.documents[document.xero_id] = document
        return document

    def pay(self, xero_id: str, amount: Decimal | None = None) -> None:
        document = self.documents[xero_id]
        document.paid += document.left if amount is None else amount
        document.status = "PAID" if document.left == 0 else document.status
        document.updated_at = timezone.now()

    def sales(self, number: str) -> list[FakeDocument]:
        return [d for d in self.documents.values() if d.number == number and d.type in SALES.values()]


class FakeXeroApi:
    organisations: dict[str, FakeOrganisation] = {}  # by tenant id; emptied by `reset` before each test

    def __init__(self, connection):
        self.connection = connection
        self.tenant_id = str(connection.tenant_id)
        self.org = self.organisations.setdefault(self.tenant_id, FakeOrganisation())

    @classmethod
    def reset(cls) -> None:
        cls.organisations.clear()

    # --- the organisation and its reference data ---------------------------------------------------
    def read_organisation(self) -> Organisation:
        self._call("read_organisation")
        return Organisation(self.org.name, "NZ", "NZD")

    def read_accounts(self) -> list[dict]:
        self._call("read_accounts")
        return [
            {
                "code": code,
                "name": f"Sales {code}",
                "type": "REVENUE",
                "class": "REVENUE",
                "status": "ACTIVE",
                "system_account": "",
                "tax_type": "OUTPUT2",
            }  # fmt: skip
            for code in sorted(self.org.account_codes)
        ]

    def read_tax_rates(self) -> list[dict]:
        self._call("read_tax_rates")
        return [
            {
                "name": tax_type,
                "tax_type": tax_type,
                "status": "ACTIVE",
                "can_apply_to_revenue": True,
                "effective_rate": str(percent),
            }  # fmt: skip
            for tax_type, percent in self.org.tax_percent.items()
        ]

    def read_currencies(self) -> list[str]:
        self._call("read_currencies")
        return list(self.org.currencies)

    def read_tracking_categories(self) -> list[dict]:
        self._call("read_tracking_categories")
        return list(self.org.tracking)

    def read_branding_themes(self) -> list[dict]:
        self._call("read_branding_themes")
        return list(self.org.branding_themes)

    # --- contacts ----------------------------------------------------------------------------------
    def find_contacts(self, account_numbers: list[str]) -> Found:
        self._call("find_contacts")
        wanted = {number.casefold() for number in account_numbers}  # Xero's `where` ignores case
        return Found([c for c in self.org.contacts.values() if c.account_number.casefold() in wanted], {})

    def find_contacts_like(self, *, account_numbers: list[str], names: list[str], spaced_numbers: bool) -> Found:
        self._call("find_contacts_like")
        numbers, named = {n.casefold() for n in account_numbers}, {n.casefold() for n in names}
        return Found(
            [
                c
                for c in self.org.contacts.values()
                if c.account_number.casefold() in numbers
                or c.name.casefold() in named
                or (spaced_numbers and " " in c.account_number)
            ],
            {},
        )

    def create_contacts(self, contacts: list[dict]) -> list[tuple[XeroContact | None, tuple[str, ...]]]:
        return self._call("create_contacts", lambda: [self._create_contact(c) for c in contacts])

    def _create_contact(self, wanted: dict) -> tuple[XeroContact | None, tuple[str, ...]]:
        taken = {c.account_number.casefold() for c in self.org.contacts.values() if c.account_number}
        if wanted["account_number"].casefold() in taken:
            return None, ("The Account Number already exists, please enter a different Account Number.",)
        return self.org.add_contact(name=wanted["name"], account_number=wanted["account_number"]), ()

    # --- invoices and credit notes -----------------------------------------------------------------
    def create_documents(self, documents: list[DocumentOut]) -> list[DocumentIn]:
        return self._call("create_documents", lambda: [self._create_document(d) for d in documents])

    def _create_document(self, sent: DocumentOut) -> DocumentIn:
        noun = "Credit Note" if sent.credit_note else "Invoice"
        if any(d.type == SALES[sent.credit_note] for d in self.org.sales(sent.number)):
            return DocumentIn(sent.number, messages=(f"{noun} # must be unique.",))
        if sent.currency not in self.org.currencies:
            return DocumentIn(sent.number, messages=(f"Organisation is not subscribed to currency {sent.currency}",))
        contact = self.org.contacts.get(sent.contact_id)
        if contact is None:
            return DocumentIn(sent.number, messages=("The contact could not be found.",))
        unknown = [line.account_code for line in sent.lines if line.account_code not in self.org.account_codes]
        if unknown:
            return DocumentIn(
                sent.number, messages=(f"Account code '{unknown[0]}' is not a valid code for this document.",)
            )
        total = sum((self._line_total(line) for line in sent.lines), Decimal("0.00"))
        document = self.org.add_document(
            type=SALES[sent.credit_note], number=sent.number, contact=contact, total=total, date=sent.date
        )
        document.tracking = [line.tracking for line in sent.lines]
        return DocumentIn(sent.number, document.xero_id, document.status, document.total)

    def _line_total(self, line) -> Decimal:
        net = (line.quantity * line.unit_amount).quantize(CENT)
        return net + (net * self.org.tax_percent.get(line.tax_type, Decimal("0")) / 100).quantize(CENT)

    def find_documents(self, numbers: list[str], *, credit_notes: bool) -> Found:
        self._call("find_documents")
        wanted, types = {n.casefold() for n in numbers}, {SALES[credit_notes], PURCHASES[credit_notes]}
        return Found(
            [d.found() for d in self.org.documents.values() if d.type in types and d.number.casefold() in wanted],
            {},
        )

    def find_sales_numbers_from(self, prefix: str, *, credit_notes: bool) -> list[DocumentFound]:
        self._call("find_sales_numbers_from")
        return [
            d.found()
            for d in self.org.documents.values()
            if d.type == SALES[credit_notes] and d.number.startswith(prefix)
        ]

    def credit_position(self, *, invoice_id: str, credit_note_id: str) -> CreditPosition:
        self._call("credit_position")
        invoice, note = self.org.documents[invoice_id], self.org.documents[credit_note_id]
        return CreditPosition(invoice.left, note.left, note.allocated.get(invoice_id, Decimal("0.00")))

    def allocate_credit_note(self, *, credit_note_id: str, invoice_id: str, amount: Decimal, date) -> None:
        self._call("allocate_credit_note", lambda: self._allocate(credit_note_id, invoice_id, amount))

    def _allocate(self, credit_note_id: str, invoice_id: str, amount: Decimal) -> None:
        invoice, note = self.org.documents[invoice_id], self.org.documents[credit_note_id]
        if amount > min(invoice.left, note.left):
            raise XeroRejected("Xero refused the request.", details={"Message": "The amount exceeds what is left."})
        note.allocated[invoice_id] = note.allocated.get(invoice_id, Decimal("0.00")) + amount
        self.org.pay(credit_note_id, amount)
        self.org.pay(invoice_id, amount)

    # --- PDFs on documents ------------------------------------------------------------------------
    def attach_pdf(self, *, document_id: str, credit_note: bool, file_name: str, content: bytes) -> None:
        self._call("attach_pdf", lambda: self.org.documents[document_id].attachments.append(file_name))

    def attachment_names(self, *, document_id: str, credit_note: bool) -> list[str]:
        self._call("attachment_names")
        return list(self.org.documents[document_id].attachments)

    def online_invoice_url(self, *, invoice_id: str) -> str:
        self._call("online_invoice_url")
        return f"https://in.xero.example/{invoice_id}"

    # --- states back -------------------------------------------------------------------------------
    def read_states(self, category: str, ids: list[str]) -> list[DocumentState]:
        self._call("read_states")
        wanted = {str(uuid.UUID(i)) for i in ids}
        return [d.state() for d in self.org.documents.values() if d.xero_id in wanted]

    def read_modified_states(self, *, credit_notes: bool, modified_after, page: int) -> list[DocumentState]:
        self._call("read_modified_states")
        changed = sorted(
            (d for d in self.org.documents.values() if d.credit_note == credit_notes and d.updated_at > modified_after),
            key=lambda d: d.updated_at,
        )
        size = values.MODIFIED_PAGE_SIZE
        return [d.state() for d in changed[(page - 1) * size : page * size]]

    # --- the link ----------------------------------------------------------------------------------
    def delete_connection(self) -> None:
        self._call("delete_connection")
        self.org.connected = False

    def _call(self, name: str, do=lambda: None):
        self.org.calls.append(name)
        failure = next((f for f in self.org.failures if f[0] == name), None)
        if failure is None:
            return do()
        self.org.failures.remove(failure)
        if failure[2]:
            do()  # Xero did it; the answer is lost
        raise failure[1]
