"""The forms of Decision 1454/QĐ-TLĐ as data: their cut-off, and the indicators their rows name."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import InvalidValue
from domain.forms import FORMS, cut_off
from domain.indicators import parse_indicator
from domain.labels import INDICATORS

TODAY = date(2026, 12, 4)


def test_the_cut_off_is_30_november_of_the_year_or_today_until_then():
    assert cut_off(2025, None, TODAY) == date(2025, 11, 30)
    assert cut_off(2026, None, date(2026, 7, 1)) == date(2026, 7, 1)
    assert cut_off(2025, date(2025, 5, 31), TODAY) == date(2025, 5, 31)


@pytest.mark.parametrize(
    ("year", "as_of", "field"), [(2027, None, "year"), (1900, None, "year"), (2025, date(2024, 11, 30), "as_of")]
)
def test_a_year_to_come_or_an_as_of_outside_the_year_is_refused(year, as_of, field):
    with pytest.raises(InvalidValue) as refused:
        cut_off(year, as_of, TODAY)
    assert refused.value.field == field


def test_every_row_names_an_indicator_the_register_counts_or_will():
    for form in FORMS.values():
        codes = [row.code for row in form.rows]
        assert len(codes) == len(set(codes)), form.code
        for row in form.rows:
            if row.indicator is None:
                continue
            base = row.indicator.partition("@")[0]
            assert base in INDICATORS, row.indicator
            if base != "members_female":  # counted once the breakdowns land
                parse_indicator(row.indicator)
