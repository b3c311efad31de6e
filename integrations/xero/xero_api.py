"""One linked organisation's Xero, as plain values: `XeroApi(connection)` holds the tenant, gets a fresh
token for each call (refreshed under the connection's lease, `tokens.py`) and paces every request it
makes (`pacing.py`), so no caller passes tokens around or can forget a slot. The calls themselves are
`client.py`'s, the only module that speaks HTTP to Xero.
"""

import datetime
from decimal import Decimal

from . import client, pacing
from .models import XeroConnection
from .tokens import access_token_for


class XeroApi:
    def __init__(self, connection: XeroConnection):
        self.connection = connection
        self.tenant_id = str(connection.tenant_id)

    # --- reference data --------------------------------------------------------------------------
    def read_accounts(self) -> list[dict]:
        with self._slot():
            return client.read_accounts(access_token=self._token(), tenant_id=self.tenant_id)

    def read_tax_rates(self) -> list[dict]:
        with self._slot():
            return client.read_tax_rates(access_token=self._token(), tenant_id=self.tenant_id)

    # --- contacts ----------------------------------------------------------------------------------
    def find_contacts(self, account_numbers: list[str]) -> client.Found:
        return client.find_contacts(access_token=self._token(), tenant_id=self.tenant_id,
                                    account_numbers=account_numbers, paced=self._slots())

    def find_contacts_like(self, *, account_numbers: list[str], names: list[str], spaced_numbers: bool) -> client.Found:
        return client.find_contacts_like(access_token=self._token(), tenant_id=self.tenant_id, account_numbers=account_numbers,
                                         names=names, spaced_numbers=spaced_numbers, paced=self._slots())

    def create_contacts(self, contacts: list[dict]) -> list[tuple[client.XeroContact | None, tuple[str, ...]]]:
        with self._slot():
            return client.create_contacts(access_token=self._token(), tenant_id=self.tenant_id, contacts=contacts)

    # --- invoices and credit notes -----------------------------------------------------------------
    def create_documents(self, documents: list[client.DocumentOut]) -> list[client.DocumentIn]:
        with self._slot():
            return client.create_documents(access_token=self._token(), tenant_id=self.tenant_id, documents=documents)

    def find_documents(self, numbers: list[str], *, credit_notes: bool) -> client.Found:
        return client.find_documents(access_token=self._token(), tenant_id=self.tenant_id, numbers=numbers,
                                     credit_notes=credit_notes, paced=self._slots())

    def find_sales_numbers_from(self, prefix: str, *, credit_notes: bool) -> list[client.DocumentFound]:
        return client.find_sales_numbers_from(access_token=self._token(), tenant_id=self.tenant_id, prefix=prefix,
                                              credit_notes=credit_notes, paced=self._slots())

    def credit_position(self, *, invoice_id: str, credit_note_id: str) -> client.CreditPosition:
        return client.credit_position(access_token=self._token(), tenant_id=self.tenant_id, invoice_id=invoice_id,
                                      credit_note_id=credit_note_id, paced=self._slots())

    def allocate_credit_note(self, *, credit_note_id: str, invoice_id: str, amount: Decimal, date: datetime.date) -> None:
        with self._slot():
            client.allocate_credit_note(access_token=self._token(), tenant_id=self.tenant_id, credit_note_id=credit_note_id,
                                        invoice_id=invoice_id, amount=amount, date=date)

    # --- states back -------------------------------------------------------------------------------
    def read_states(self, category: str, ids: list[str]) -> list[client.DocumentState]:
        """What Xero says now of these documents of one category (INVOICE or CREDITNOTE)."""
        if category == "CREDITNOTE":
            return client.read_credit_note_states(access_token=self._token(), tenant_id=self.tenant_id,
                                                  credit_note_ids=ids, paced=self._slots())
        return client.read_invoice_states(access_token=self._token(), tenant_id=self.tenant_id, invoice_ids=ids,
                                          paced=self._slots())

    def read_modified_states(self, *, credit_notes: bool, modified_after: datetime.datetime,
                             page: int) -> list[client.DocumentState]:
        with self._slot():
            return client.read_modified_states(access_token=self._token(), tenant_id=self.tenant_id,
                                               credit_notes=credit_notes, modified_after=modified_after, page=page)

    # --- the link ----------------------------------------------------------------------------------
    def delete_connection(self) -> None:
        client.delete_connection(access_token=self._token(), connection_id=str(self.connection.connection_id))

    def _token(self) -> str:
        return access_token_for(self.connection)

    def _slot(self):
        return pacing.call(self.tenant_id)

    def _slots(self):
        return pacing.slots(self.tenant_id)
