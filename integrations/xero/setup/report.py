"""The set-up check's report: lines (one per billing account, currency, rate or tax rate) with what was
found and what to do, grouped in sections, and their summary."""

import datetime
from dataclasses import dataclass, field

OK, BLOCKING, WARNING, NOTE = "ok", "blocking", "warning", "note"
SYMBOLS = {OK: "✓", BLOCKING: "✗", WARNING: "⚠", NOTE: "•"}
LABELS = {BLOCKING: "to fix before syncing", WARNING: "warnings", NOTE: "to note", OK: "fine"}
SEVERITY = {BLOCKING: 0, WARNING: 1, NOTE: 2, OK: 3}


@dataclass(frozen=True)
class Line:
    status: str
    subject: str  # the row, as the platform names it
    code: str  # its code (billing account code, revenue account code, accounting code)
    says: str  # what was found
    todo: str = ""  # what to do about it
    fix_url: str = ""  # the platform screen where it is fixed
    xero_url: str = ""  # the Xero screen, when the fix may be made there
    used: int = 0  # draft and issued documents that use it

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.status]


@dataclass
class Section:
    key: str
    title: str
    lines: list[Line] = field(default_factory=list)
    error: str = ""  # Xero could not be read for this section

    @property
    def summary(self) -> list[tuple[str, str, int]]:
        return summarised(self.lines)


@dataclass
class Report:
    organisation: str
    reference_data_loaded_at: datetime.datetime | None
    sections: list[Section]

    @property
    def lines(self) -> list[Line]:
        return [line for section in self.sections for line in section.lines]

    @property
    def summary(self) -> list[tuple[str, str, int]]:
        """(symbol, label, count) for each status, the blocking first."""
        return summarised(self.lines)

    @property
    def blocking(self) -> int:
        return sum(line.status == BLOCKING for line in self.lines)

    @property
    def errors(self) -> list[str]:
        return [section.error for section in self.sections if section.error]


def summarised(lines: list[Line]) -> list[tuple[str, str, int]]:
    return [(SYMBOLS[status], LABELS[status], sum(line.status == status for line in lines)) for status in SEVERITY]


def sorted_lines(lines: list[Line]) -> list[Line]:
    """What draft and issued documents use first, then the worst first."""
    return sorted(lines, key=lambda line: (line.used == 0, SEVERITY[line.status], line.subject.casefold()))
