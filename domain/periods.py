"""Reporting periods: a year, a half, a quarter, a month or a multi-year term."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from domain.errors import InvalidValue

_PATTERNS = [
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-H([12])$"), "half"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "month"),
    (re.compile(r"^(\d{4})-(\d{4})$"), "term"),
]


@dataclass(frozen=True)
class Period:
    code: str
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_period(code: str, field: str = "period") -> Period:
    """Parse ``2024``, ``2024-H1``, ``2024-Q3``, ``2024-05`` or ``2023-2028``."""
    for pattern, kind in _PATTERNS:
        m = pattern.match(code or "")
        if not m:
            continue
        year = int(m.group(1))
        if year < 1900:
            break
        if kind == "year":
            return Period(code, date(year, 1, 1), date(year, 12, 31))
        n = int(m.group(2))
        if kind == "half":
            first = 1 + 6 * (n - 1)
            return Period(code, date(year, first, 1), _month_end(year, first + 5))
        if kind == "quarter":
            first = 1 + 3 * (n - 1)
            return Period(code, date(year, first, 1), _month_end(year, first + 2))
        if kind == "month":
            return Period(code, date(year, n, 1), _month_end(year, n))
        if n <= year:
            raise InvalidValue("a term must end in a later year than it starts", field=field)
        return Period(code, date(year, 1, 1), date(n, 12, 31))
    raise InvalidValue(
        "must be a period: 2024, 2024-H1, 2024-Q3, 2024-05 or a term such as 2023-2028",
        field=field,
    )


def steps(period: Period, step: str) -> list[Period]:
    """The months, quarters or years (``step``) of a period, in order, each cut to the period's days."""
    months = {"month": 1, "quarter": 3, "year": 12}[step]
    out = []
    year, month = period.start.year, period.start.month
    month -= (month - 1) % months  # the step the period's first day falls in
    while date(year, month, 1) <= period.end:
        last_month = month + months - 1
        start, end = date(year, month, 1), _month_end(year, last_month)
        if step == "month":
            code = f"{year}-{month:02d}"
        elif step == "quarter":
            code = f"{year}-Q{(month - 1) // 3 + 1}"
        else:
            code = str(year)
        out.append(Period(code, max(start, period.start), min(end, period.end)))
        year, month = (year + 1, 1) if last_month == 12 else (year, last_month + 1)
    return out
