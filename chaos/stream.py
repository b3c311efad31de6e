"""The documents a run issues: invoices over many billing accounts (most new to Xero), and credit
notes of invoices issued a wave before, issued in waves across the storm through billing's own service.

Accounts, drafts and issuing are bench's (bench/workload.py); what is added here is the credit notes and
the waves. The invoices a credit note will name are marked (reference CREDITED-...) so that the
Xero side of the run leaves them alone: a voided invoice cannot be credited, by billing's rules.
"""

import random
import time
from decimal import Decimal

from bench import workload
from billing.models import Invoice, InvoiceLine

CREDITED_PREFIX = "CREDITED-"


class Stream:
    def __init__(self, config, org, catalogue, rng: random.Random):
        self.config, self.catalogue, self.rng = config, catalogue, rng
        accounts = workload.new_accounts(
            label="X",
            count=config.accounts,
            known_share=config.known_share,
            org=org,
            rng=rng,
            code_length=config.code_length,
        )
        credit_notes = round(config.documents * config.credit_note_share)
        self.invoice_pks = workload.drafts(
            label="X",
            accounts=accounts,
            count=config.documents - credit_notes,
            order="random",
            lines=2,
            catalogue=catalogue,
            rng=rng,
        )
        waves = 10 if config.quick else 25
        size = -(-len(self.invoice_pks) // waves)
        self.waves = [self.invoice_pks[i : i + size] for i in range(0, len(self.invoice_pks), size)]
        # Credited invoices come from every wave but the last, so that each credit note follows its invoice.
        candidates = [pk for wave in self.waves[:-1] for pk in wave]
        self.credited = set(rng.sample(candidates, min(credit_notes, len(candidates))))
        marked = list(Invoice.objects.filter(pk__in=self.credited))
        for invoice in marked:
            invoice.reference = CREDITED_PREFIX + invoice.reference
        Invoice.objects.bulk_update(marked, ["reference"])
        self.issued = 0

    def issue(self, *, seconds: float, stop) -> None:
        """Issue every wave, spread over `seconds`; after each wave, the credit notes of the one before."""
        pause = seconds / len(self.waves)
        for index, wave in enumerate(self.waves):
            started = time.monotonic()
            workload.issue_all(wave, threads=2)
            self.issued += len(wave)
            if index:
                notes = self._credit_note_drafts([pk for pk in self.waves[index - 1] if pk in self.credited])
                workload.issue_all(notes, threads=2)
                self.issued += len(notes)
            if stop.wait(max(0.0, pause - (time.monotonic() - started))):
                return

    def _credit_note_drafts(self, invoice_pks: list[int]) -> list[int]:
        """One draft credit note per invoice, for a part of its first line."""
        invoices = list(Invoice.objects.filter(pk__in=invoice_pks).prefetch_related("lines"))
        notes = Invoice.objects.bulk_create(
            Invoice(
                kind=Invoice.Kind.CREDIT_NOTE,
                billing_account_id=invoice.billing_account_id,
                company_id=invoice.company_id,  # a credit note is issued by its invoice's company
                currency=invoice.currency,
                reference=f"Credit for {invoice.number}",
                credited_invoice=invoice,
            )
            for invoice in invoices
        )
        InvoiceLine.objects.bulk_create(
            self._credit_line(note, invoice.lines.all()[0]) for note, invoice in zip(notes, invoices, strict=True)
        )
        return [note.pk for note in notes]

    def _credit_line(self, note: Invoice, line: InvoiceLine) -> InvoiceLine:
        share = Decimal(self.rng.choice([1, 2, 5])) / 10
        return InvoiceLine(
            invoice=note,
            position=1,
            rate=line.rate,
            tax_rate=line.tax_rate,
            quantity=line.quantity,
            description=f"Refund: {line.description}",
            unit_price=(line.unit_price * share).quantize(Decimal("0.01")),
        )
