from decimal import Decimal

import factory

from billing import services
from billing.models import BillingAccount, Company, Invoice, Rate, TaxRate


class CompanyFactory(factory.django.DjangoModelFactory):
    """A second (third…) issuing company: an Australian one unless told otherwise."""

    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Cocoon Freight AU {n} Pty Ltd")
    country = "AU"
    base_currency = "AUD"
    invoice_prefix = factory.Sequence(lambda n: f"AU{n}INV")
    credit_note_prefix = factory.Sequence(lambda n: f"AU{n}CN")


class BillingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccount

    code = factory.Sequence(lambda n: f"CUST{n:04d}")
    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    email = factory.LazyAttribute(lambda account: f"accounts@{account.code.lower()}.example")
    currency = "NZD"
    payment_terms_days = 30


class RateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rate

    label = factory.Sequence(lambda n: f"Charge {n}")
    cost_account_code = factory.Sequence(lambda n: f"C{n}")
    revenue_account_code = factory.Sequence(lambda n: f"R{n}")
    category = Rate.Category.FREIGHT


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    name = factory.Sequence(lambda n: f"GST {n}")
    rate = Decimal("15")
    accounting_code = "OUTPUT2"


class InvoiceFactory(factory.django.DjangoModelFactory):
    """A draft with no lines; use `draft_with_lines` for one that can be issued."""

    class Meta:
        model = Invoice

    kind = Invoice.Kind.INVOICE
    billing_account = factory.SubFactory(BillingAccountFactory)
    company = factory.LazyFunction(Company.objects.default)
    currency = factory.LazyAttribute(lambda invoice: invoice.billing_account.currency)
    reference = factory.Sequence(lambda n: f"CONS-{n:05d}")


def line(*, quantity="1", unit_price="100.00", rate=None, tax_rate=None, description="Sea freight"):
    return services.LineInput(
        rate=rate or RateFactory(),
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        tax_rate=tax_rate or TaxRateFactory(),
    )


def draft_with_lines(*lines, **invoice_fields) -> Invoice:
    invoice_fields.setdefault("billing_account", BillingAccountFactory())
    invoice = InvoiceFactory.build(**invoice_fields)
    return services.invoice_save_draft(invoice=invoice, lines=lines or [line()])
