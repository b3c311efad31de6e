"""What people do in Xero meanwhile: pay, part-pay and void a share of the documents the platform
sent, and delete payments (a paid invoice owes again); and, from before the link, supplier bills and
credit notes numbered as the platform's documents will be, which they pay during the run. Done through
the sandbox's own services (xero_sandbox/books.py, as its staff pages do), so each change is announced
by webhook as Xero does.

Xero deletes only drafts and submitted documents; the platform sends them approved (AUTHORISED), so an
approved document is voided, never deleted, and what a person deletes in Xero is a payment.
Invoices that a credit note will name are left alone (billing credits only issued or paid invoices).
"""

import math
import random
import time
from collections import Counter
from decimal import Decimal

from django.db import connections

from xero_sandbox import books
from xero_sandbox.models import Document, Payment

from .stream import CREDITED_PREFIX

ACTIONS = (("pay", 0.35), ("part-pay", 0.25), ("void", 0.2), ("pay, then delete the payment", 0.2))
UNDO_AFTER_SECONDS = 5.0


def outside_documents_create(org, *, documents: int, share: float, rng: random.Random) -> int:
    """Supplier bills (ACCPAY) and credit notes (ACCPAYCREDIT) whose numbers the platform's invoices and
    credit notes will have (INV-000123, CN-000012): number searches return them too, so a sync that took
    one for its own would mark its document sent, or paid, wrongly. Returns how many."""
    count = round(documents * share)
    invoices = rng.sample(range(1, documents + 1), count)
    notes = rng.sample(range(1, max(2, documents // 10)), max(1, count // 5))
    for type, prefix, numbers in ((Document.BILL, "INV", invoices), (Document.SUPPLIER_CREDIT_NOTE, "CN", notes)):
        for n in numbers:
            books.outside_document_create(
                org,
                type=type,
                number=f"{prefix}-{n:06d}",
                contact_name=f"Supplier {n % 17} Ltd",
                total=Decimal(rng.randint(1000, 90000)) / 100,
            )
    return len(invoices) + len(notes)


class XeroSide:
    def __init__(self, org, *, target: int, seconds: float, rng: random.Random):
        self.org, self.rng = org, rng
        self.per_second = max(1, math.ceil(target / max(1.0, seconds)))
        self.done: Counter = Counter()
        self.touched: set[int] = set()
        self.to_undo: list[tuple[float, int]] = []  # (when, payment pk)

    def run(self, stop) -> None:
        try:
            while not stop.wait(1.0):
                self.tick()
        finally:
            connections.close_all()

    def tick(self) -> None:
        for document in self._untouched(self.per_second):
            self.touched.add(document.pk)
            self._act(document, self._pick())
        bill = (
            Document.objects.filter(organisation=self.org, type=Document.BILL, status="AUTHORISED")
            .order_by("?")
            .first()
        )
        if bill is not None:  # its webhook names a document whose number the platform also uses
            self._try("supplier bill paid", books.document_pay, document=bill, amount=bill.amount_due)
        now = time.monotonic()
        due = [pk for when, pk in self.to_undo if when <= now]
        self.to_undo = [(when, pk) for when, pk in self.to_undo if when > now]
        for payment in Payment.objects.filter(pk__in=due):
            self._try("payment deleted", books.payment_delete, payment=payment)

    def _untouched(self, count: int) -> list[Document]:
        candidates = (
            Document.objects.filter(organisation=self.org, type=Document.INVOICE, status="AUTHORISED")
            .exclude(reference__startswith=CREDITED_PREFIX)
            .exclude(pk__in=self.touched)
        )
        return list(candidates.order_by("?")[:count])

    def _pick(self) -> str:
        return self.rng.choices([name for name, _ in ACTIONS], weights=[weight for _, weight in ACTIONS])[0]

    def _act(self, document: Document, action: str) -> None:
        if action == "void":
            self._try("voided", books.document_void, document=document)
        elif action == "part-pay":
            share = Decimal(self.rng.randint(20, 70)) / 100
            self._try(
                "part-paid",
                books.document_pay,
                document=document,
                amount=(document.amount_due * share).quantize(Decimal("0.01")),
            )
        else:
            payment = self._try("paid", books.document_pay, document=document, amount=document.amount_due)
            if payment is not None and action.endswith("delete the payment"):
                self.to_undo.append((time.monotonic() + UNDO_AFTER_SECONDS, payment.pk))

    def _try(self, what: str, service, **kwargs):
        try:
            result = service(**kwargs)
        except books.RuleBroken:  # e.g. a credit note was allocated meanwhile: Xero refuses, as it would
            self.done[f"{what}: refused by Xero's rules"] += 1
            return None
        self.done[what] += 1
        return result
