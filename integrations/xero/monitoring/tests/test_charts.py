"""The charts' geometry and markup: axes rounded to a readable top, bars to scale, every text escaped."""

import pytest

from integrations.xero.monitoring import charts
from integrations.xero.monitoring.charts import Series


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (0.3, 0.5), (7, 10), (10, 10), (11, 20), (57, 100), (4999, 5000), (5001, 10000)]
)
def test_an_axis_ends_at_one_two_or_five_times_a_power_of_ten(value, top):
    assert charts.nice_ceiling(value) == pytest.approx(top)


def test_bars_are_drawn_to_scale_from_the_axis():
    chart = charts.column_chart(
        "c", "Calls", categories=["a", "b"], series=[Series("Calls", [5, 10], "series-0")], summary="s"
    )
    short, tall = chart.bars
    assert tall.height == pytest.approx(2 * short.height)
    assert tall.y + tall.height == pytest.approx(short.y + short.height)  # both stand on the axis
    assert chart.rows == [["a", "5"], ["b", "10"]]


def test_every_text_in_the_svg_is_escaped():
    chart = charts.bar_chart("r", "Reasons", categories=['<script>alert("x")</script>'], values=[3], summary="s")
    assert "<script>" not in chart.shapes
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in chart.shapes


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "—"), (0.42, "0.4 s"), (12.4, "12 s"), (210, "3.5 min"), (7560, "2.1 h")]
)
def test_times_read_in_the_unit_a_person_uses(seconds, text):
    assert charts.duration_text(seconds) == text
