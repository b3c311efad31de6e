"""One linked organisation's Xero, as plain values: `XeroApi(connection)` holds the tenant, and every
request it makes waits for the organisation's slot (`pacing.py`) and then takes a token fresh at that
moment (refreshed under the connection's lease, `link/tokens.py`). No caller passes tokens around or can
forget a slot. The requests themselves are `accounting.py`'s.

Each method names its calls' purpose (`pacing.Purpose`, with `_paced_for`): sending, reading documents'
states back, or background reads. The pace lets sending go first within the minute, and keeps the end of
the organisation's day for status reads.
"""

import datetime
import functools
from contextlib import contextmanager, nullcontext
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from integrations.xero.api import accounting, oauth, pacing
from integrations.xero.api.errors import XeroError
from integrations.xero.api.pacing import Purpose
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
from integrations.xero.link.tokens import access_token_for
from integrations.xero.models import XeroConnection


def xero_api_for(connection: XeroConnection) -> "XeroApi":
    """The Xero of a linked organisation: an instance of the class XERO_API names (`XeroApi`)."""
    return import_string(settings.XERO_API)(connection)


def _paced_for(purpose: Purpose):
    """The method's calls take their slots as calls of this purpose."""

    def decorate(method):
        @functools.wraps(method)
        def paced(self, *args, **kwargs):
            outer, self._purpose = self._purpose, purpose
            try:
                return method(self, *args, **kwargs)
            finally:
                self._purpose = outer

        return paced

    return decorate


SEND, STATUS, BACKGROUND = Purpose.SEND, Purpose.STATUS, Purpose.BACKGROUND


class XeroApi:
    def __init__(self, connection: XeroConnection):
        self.connection = connection
        self.tenant_id = str(connection.tenant_id)
        self._answered = None  # whether Xero answered this instance's last call (None: no call yet)
        self._purpose = SEND  # of the calls being made (each method sets it, `_paced_for`)
        self._session = accounting.Session(self.tenant_id, lambda: access_token_for(connection), self._slot)

    @classmethod
    def for_consent(cls, *, tenant_id: str, access_token: str) -> "XeroApi":
        """An organisation a consent just granted, before it is a connection: linking reads it with the
        consent's fresh token, in the person's request, so not behind the sync's pace (a 429 or a pause of
        the sync's would hold the page)."""
        api = cls(XeroConnection(tenant_id=tenant_id))
        api._session = accounting.Session(tenant_id, lambda: access_token, lambda: nullcontext(Unpaced()))
        return api

    # --- the organisation and its reference data ---------------------------------------------------
    @_paced_for(BACKGROUND)
    def read_organisation(self) -> Organisation:
        return accounting.read_organisation(self._session)

    @_paced_for(BACKGROUND)
    def read_accounts(self) -> list[dict]:
        return accounting.read_accounts(self._session)

    @_paced_for(BACKGROUND)
    def read_tax_rates(self) -> list[dict]:
        return accounting.read_tax_rates(self._session)

    @_paced_for(BACKGROUND)
    def read_currencies(self) -> list[str]:
        return accounting.read_currencies(self._session)

    @_paced_for(BACKGROUND)
    def read_tracking_categories(self) -> list[dict]:
        return accounting.read_tracking_categories(self._session)

    @_paced_for(BACKGROUND)
    def read_branding_themes(self) -> list[dict]:
        return accounting.read_branding_themes(self._session)

    # --- contacts ----------------------------------------------------------------------------------
    @_paced_for(SEND)
    def find_contacts(self, account_numbers: list[str]) -> Found:
        return accounting.find_contacts(self._session, account_numbers=account_numbers)

    @_paced_for(BACKGROUND)
    def find_contacts_like(self, *, account_numbers: list[str], names: list[str], spaced_numbers: bool) -> Found:
        return accounting.find_contacts_like(
            self._session, account_numbers=account_numbers, names=names, spaced_numbers=spaced_numbers
        )

    @_paced_for(SEND)
    def create_contacts(self, contacts: list[dict]) -> list[tuple[XeroContact | None, tuple[str, ...]]]:
        return accounting.create_contacts(self._session, contacts=contacts)

    # --- invoices and credit notes -----------------------------------------------------------------
    @_paced_for(SEND)
    def create_documents(self, documents: list[DocumentOut]) -> list[DocumentIn]:
        return accounting.create_documents(self._session, documents=documents)

    @_paced_for(SEND)
    def find_documents(self, numbers: list[str], *, credit_notes: bool) -> Found:
        return accounting.find_documents(self._session, numbers=numbers, credit_notes=credit_notes)

    @_paced_for(BACKGROUND)
    def find_sales_numbers_from(self, prefix: str, *, credit_notes: bool) -> list[DocumentFound]:
        return accounting.find_sales_numbers_from(self._session, prefix=prefix, credit_notes=credit_notes)

    # --- PDFs on documents: after sending and statuses back, at the background's place in the pace ---------
    @_paced_for(BACKGROUND)
    def attach_pdf(self, *, document_id: str, credit_note: bool, file_name: str, content: bytes) -> None:
        accounting.attach_file(
            self._session,
            document_id=document_id,
            credit_note=credit_note,
            file_name=file_name,
            content=content,
            include_online=True,
        )

    @_paced_for(BACKGROUND)
    def attachment_names(self, *, document_id: str, credit_note: bool) -> list[str]:
        return accounting.attachment_names(self._session, document_id=document_id, credit_note=credit_note)

    @_paced_for(BACKGROUND)
    def online_invoice_url(self, *, invoice_id: str) -> str:
        return accounting.online_invoice_url(self._session, invoice_id=invoice_id)

    @_paced_for(SEND)
    def credit_position(self, *, invoice_id: str, credit_note_id: str) -> CreditPosition:
        return accounting.credit_position(self._session, invoice_id=invoice_id, credit_note_id=credit_note_id)

    @_paced_for(SEND)
    def allocate_credit_note(
        self, *, credit_note_id: str, invoice_id: str, amount: Decimal, date: datetime.date
    ) -> None:
        accounting.allocate_credit_note(
            self._session, credit_note_id=credit_note_id, invoice_id=invoice_id, amount=amount, date=date
        )

    # --- states back -------------------------------------------------------------------------------
    @_paced_for(STATUS)
    def read_states(self, category: str, ids: list[str]) -> list[DocumentState]:
        """What Xero says now of these documents of one category (INVOICE or CREDITNOTE)."""
        if category == "CREDITNOTE":
            return accounting.read_credit_note_states(self._session, credit_note_ids=ids)
        return accounting.read_invoice_states(self._session, invoice_ids=ids)

    @_paced_for(BACKGROUND)
    def read_modified_states(
        self, *, credit_notes: bool, modified_after: datetime.datetime, page: int
    ) -> list[DocumentState]:
        return accounting.read_modified_states(
            self._session, credit_notes=credit_notes, modified_after=modified_after, page=page
        )

    # --- the link ----------------------------------------------------------------------------------
    def delete_connection(self) -> None:
        oauth.delete_connection(access_token=self._session.token(), connection_id=str(self.connection.connection_id))

    @contextmanager
    def _slot(self):
        """The organisation's slot for one call (its token fetched in it). Whether Xero answered is kept on
        the connection, so the Add Ons page can say the configured Xero is not answering without calling it."""
        try:
            with pacing.call(self.tenant_id, purpose=self._purpose) as slot:
                yield slot
        except XeroError as error:
            if error.status == 0:
                self._note_answered(False, error=error.message)
            raise
        else:
            self._note_answered(True)

    def _note_answered(self, answered: bool, *, error: str = "") -> None:
        if answered and self._answered:
            return  # one write per run of answered calls, not one per call
        self._answered = answered
        now, same_link = timezone.now(), XeroConnection.objects.filter(pk=self.connection.pk)
        if answered:
            same_link.update(last_success_at=now)
        else:
            same_link.update(last_error=error, last_error_at=now)


class Unpaced:
    """A consent's read has no slot: what Xero reports of the limits is left to the sync's next call."""

    def heard(self, headers) -> None:
        pass
