from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.amounts import document_totals, line_amounts

D = Decimal


def test_line_net_is_rounded_half_away_from_zero_to_cents():
    assert line_amounts(quantity=D("1"), unit_price=D("10.005"), tax_percent=D("0")).net == D("10.01")
    assert line_amounts(quantity=D("1"), unit_price=D("-10.005"), tax_percent=D("0")).net == D("-10.01")


def test_four_decimal_quantities_and_prices_are_multiplied_before_rounding():
    # 12.3456 kg at 1.2345 a kg = 15.24064... → 15.24
    amounts = line_amounts(quantity=D("12.3456"), unit_price=D("1.2345"), tax_percent=D("15"))
    assert amounts.net == D("15.24")
    assert amounts.tax == D("2.29")  # 15.24 × 15% = 2.286 → 2.29


def test_tax_is_computed_on_the_rounded_net_amount_of_each_line():
    # Net 4.445 → 4.45; tax at 50% on 4.45 is 2.225 → 2.23 (on the unrounded 4.445 it would be 2.22).
    amounts = line_amounts(quantity=D("1"), unit_price=D("4.445"), tax_percent=D("50"))
    assert (amounts.net, amounts.tax) == (D("4.45"), D("2.23"))


def test_document_tax_is_the_sum_of_per_line_rounded_tax_not_tax_on_the_sum():
    # Three lines of 0.10 at 15%: each 0.015 → 0.02, so 0.06 — tax on the 0.30 sum would be 0.05.
    lines = [line_amounts(quantity=D("1"), unit_price=D("0.10"), tax_percent=D("15"))] * 3
    totals = document_totals(lines)
    assert (totals.subtotal, totals.tax, totals.total) == (D("0.30"), D("0.06"), D("0.36"))


def test_an_empty_document_totals_zero():
    totals = document_totals([])
    assert totals.total == D("0.00")


money4 = st.decimals(min_value=D("-100000"), max_value=D("100000"), places=4)
quantities = st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4)
percents = st.decimals(min_value=D("0"), max_value=D("100"), places=4)


@given(st.lists(st.tuples(quantities, money4, percents), max_size=20))
def test_totals_always_add_up_to_the_cent(raw_lines):
    lines = [line_amounts(quantity=q, unit_price=p, tax_percent=t) for q, p, t in raw_lines]
    totals = document_totals(lines)
    assert totals.total == totals.subtotal + totals.tax
    assert totals.subtotal == sum((amounts.net for amounts in lines), D("0"))
    for amounts in lines:
        assert amounts.net == amounts.net.quantize(D("0.01"))
        assert amounts.tax == amounts.tax.quantize(D("0.01"))


@given(quantities, money4, percents)
def test_a_line_is_never_more_than_half_a_cent_from_the_exact_amount(quantity, unit_price, percent):
    amounts = line_amounts(quantity=quantity, unit_price=unit_price, tax_percent=percent)
    assert abs(amounts.net - quantity * unit_price) <= D("0.005")
    assert abs(amounts.tax - amounts.net * percent / 100) <= D("0.005")
