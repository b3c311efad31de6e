"""Charts drawn on the server as SVG (no script, no charting library to serve): each chart's shapes are worked
out and written here; the template (`xero/_chart.html`) frames them with the title, the text alternative (a
sentence for screen readers, also printed) and the numbers as a table under the chart.
"""

import math
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 960, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 30  # room for the axis labels
ROW_HEIGHT, LABEL_WIDTH = 26, 230  # horizontal bars


@dataclass
class Shape:
    x: float
    y: float
    width: float = 0
    height: float = 0
    css: str = ""
    text: str = ""  # a bar's tooltip, or a label's words

    def rect(self) -> str:
        tip = f"<title>{escape(self.text)}</title>" if self.text else ""
        return (
            f'<rect class="{self.css}" x="{self.x:.1f}" y="{self.y:.1f}" width="{self.width:.1f}" '
            f'height="{self.height:.1f}">{tip}</rect>'
        )

    def line(self) -> str:
        return (
            f'<line class="{self.css}" x1="{self.x:.1f}" y1="{self.y:.1f}" x2="{self.x + self.width:.1f}" '
            f'y2="{self.y + self.height:.1f}"/>'
        )

    def label(self) -> str:
        return f'<text class="{self.css}" x="{self.x:.1f}" y="{self.y:.1f}">{escape(self.text)}</text>'


@dataclass
class Chart:
    key: str
    title: str
    summary: str  # the text alternative
    head: list[str]  # the numbers, as a table
    rows: list[list[str]]
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Shape] = field(default_factory=list)
    labels: list[Shape] = field(default_factory=list)  # x: where the text is anchored; css says how
    rules: list[Shape] = field(default_factory=list)  # lines: from (x, y) to (x + width, y + height)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css, name)

    @property
    def shapes(self) -> str:
        """The SVG's shapes, written here rather than by the template: a page of 1,400 shapes placed by template
        loops and filters took a fifth of a second. Every text in them is escaped."""
        return mark_safe(  # noqa: S308 - numbers, class names of this module, and escaped text
            "".join(
                [rule.line() for rule in self.rules]
                + [bar.rect() for bar in self.bars]
                + [label.label() for label in self.labels]
            )
        )


@dataclass
class Series:
    name: str
    values: list[float | None]
    css: str


def column_chart(
    key: str,
    title: str,
    *,
    categories: list[str],
    series: list[Series],
    summary: str,
    overlaid: bool = False,
    limit: tuple[float, str] | None = None,
    label_every: int = 1,
    format_value=lambda value: f"{value:,.0f}",
) -> Chart:
    """Vertical bars, one group per category: side by side, or `overlaid` (each drawn over the one before,
    so the later series should be the smaller, a median over its p95). `limit` draws a dashed line."""
    chart = _chart(key, title, summary, categories, series, format_value)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for s in series for v in s.values if v is not None] + ([limit[0]] if limit else [])
    top = nice_ceiling(max(values, default=0))
    slot = plot_width / max(1, len(categories))
    lanes = 1 if overlaid else len(series)
    bar_width = max(1.0, slot * 0.8 / lanes)
    for lane, one in enumerate(series):
        for index, value in enumerate(one.values):
            height = (value or 0) / top * plot_height
            x = LEFT + index * slot + slot * 0.1 + (0 if overlaid else lane * bar_width)
            tip = f"{categories[index]}: {one.name} {format_value(value) if value is not None else 'none'}"
            chart.bars.append(Shape(x, TOP + plot_height - height, bar_width, height, one.css, tip))
    for index, name in enumerate(categories):
        if index % label_every == 0:
            chart.labels.append(Shape(LEFT + index * slot + slot / 2, HEIGHT - 10, css="axis x", text=name))
    for tick in (0, top / 2, top):
        y = TOP + plot_height - tick / top * plot_height
        chart.labels.append(Shape(LEFT - 6, y + 4, css="axis y", text=format_value(tick)))
        chart.rules.append(Shape(LEFT, y, plot_width, 0, css="grid"))
    if limit:
        y = TOP + plot_height - limit[0] / top * plot_height
        chart.rules.append(Shape(LEFT, y, plot_width, 0, css="limit"))
        chart.labels.append(Shape(LEFT + plot_width - 4, y - 4, css="limit-label", text=limit[1]))
    return chart


def bar_chart(
    key: str,
    title: str,
    *,
    categories: list[str],
    values: list[float],
    summary: str,
    css: str = "series-0",
    limit: float | None = None,
    format_value=lambda value: f"{value:,.0f}",
) -> Chart:
    """Horizontal bars, one a category, its name on the left and its value on the right; against `limit`
    (the bar's full length) when given."""
    chart = _chart(key, title, summary, categories, [Series(title, values, css)], format_value)
    chart.height = TOP + ROW_HEIGHT * max(1, len(categories)) + 6
    plot_width = WIDTH - LABEL_WIDTH - 80
    top = limit or nice_ceiling(max(values, default=0))
    for index, (name, value) in enumerate(zip(categories, values, strict=True)):
        y = TOP + index * ROW_HEIGHT
        width = min(value, top) / top * plot_width
        if limit:
            chart.bars.append(Shape(LABEL_WIDTH, y, plot_width, ROW_HEIGHT - 8, "track"))
        chart.bars.append(Shape(LABEL_WIDTH, y, width, ROW_HEIGHT - 8, css, f"{name}: {format_value(value)}"))
        chart.labels.append(Shape(LABEL_WIDTH - 8, y + 13, css="axis y", text=name))
        chart.labels.append(Shape(LABEL_WIDTH + plot_width + 8, y + 13, css="value", text=format_value(value)))
    return chart


def _chart(key, title, summary, categories, series, format_value) -> Chart:
    rows = [
        [name, *(format_value(s.values[index]) if s.values[index] is not None else "—" for s in series)]
        for index, name in enumerate(categories)
    ]
    legend = [(s.css, s.name) for s in series] if len(series) > 1 else []
    return Chart(key, title, summary, head=["", *(s.name for s in series)], rows=rows, legend=legend)


def nice_ceiling(value: float) -> float:
    """The axis' top: the value rounded up to 1, 2 or 5 times a power of ten (1 for nothing to show)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def duration_text(seconds: float | None) -> str:
    """A time in the unit a person reads it in: 0.4 s, 12 s, 3.5 min, 2.1 h."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
