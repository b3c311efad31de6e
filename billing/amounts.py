"""How the platform computes money, in one place.

Amounts are tax-exclusive, computed the way Xero computes a document with
`LineAmountTypes=Exclusive`, so that the platform's totals and Xero's agree to the cent:

* a line's net amount is quantity × unit price, rounded to 2 places, half away from zero;
* a line's tax is its net amount × the tax percentage / 100, rounded the same way, per line;
* the document's subtotal, tax and total are plain sums of the rounded line figures.

Quantities and unit prices keep up to 4 decimal places (freight is priced per kilo or cubic
metre); `ROUND_HALF_UP` in `decimal` rounds half away from zero, also for negative amounts.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def line_amounts(*, quantity: Decimal, unit_price: Decimal, tax_percent: Decimal) -> LineAmounts:
    net = round_money(quantity * unit_price)
    tax = round_money(net * tax_percent / 100)
    return LineAmounts(net=net, tax=tax)


def document_totals(lines: list[LineAmounts]) -> DocumentTotals:
    subtotal = sum((line.net for line in lines), Decimal("0.00"))
    tax = sum((line.tax for line in lines), Decimal("0.00"))
    return DocumentTotals(subtotal=subtotal, tax=tax, total=subtotal + tax)
