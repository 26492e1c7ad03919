"""The statistical forms of Decision 1454/QĐ-TLĐ filled from the ledger: each row the register
keeps is its indicator for the year up to the cut-off (stocks at it, flows over the year's days up
to it), through the same questions /indicators answers; the other rows are present and empty."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from domain.errors import InvalidValue, NotFound
from domain.forms import DENOMINATOR, FORMS, NOT_KEPT, NUMERATOR, RATING, RATING_WORDS, UNION_FORM, Form, cut_off
from domain.indicators import Indicator, parse_indicator


def _indicator(code: str | None) -> Indicator | None:
    """The indicator filling a row; None for a row the register does not keep, or one whose
    indicator this register does not count yet (it fills itself once it does)."""
    if code is None:
        return None
    try:
        return parse_indicator(code)
    except InvalidValue:
        return None


def fill(
    reads: Any, code: str, year: int, as_of: date | None = None, union_id: str | None = None, unit_id: str | None = None
) -> dict[str, Any]:
    """Form ``code`` for a union (1-hdcd: ``union_id``) or a unit (2-hdcd: ``unit_id``, None for the
    whole tenant), for ``year`` as it stood at ``as_of`` (default 30 November of the year)."""
    form: Form = FORMS[code]
    on = cut_off(year, as_of, reads.today())
    if form is UNION_FORM:
        union = reads.union(union_id) if union_id else None
        if union is None:
            raise NotFound(f"union {union_id!r} does not exist", field="union_id")
        question = dataclasses.replace(reads.question(str(year), None, on), union_id=union_id)
        about: dict[str, Any] = {"union_id": union_id, "unit_id": None, "name": union["name"]}
    else:
        question = reads.question(str(year), unit_id, on)
        unit = reads.unit(unit_id) if unit_id else None
        about = {"union_id": None, "unit_id": unit_id, "name": unit["name"] if unit else None}
    filled = {row.code: _indicator(row.indicator) for row in form.rows}
    wanted = list({i.code: i for i in filled.values() if i is not None}.values())
    figures, parts = reads.figures_and_parts(question, wanted)
    rows = []
    for row in form.rows:
        indicator = filled[row.code]
        value: Any = figures[indicator.code] if indicator is not None else None
        if indicator is not None and row.part in (NUMERATOR, DENOMINATOR):
            value = parts[indicator.code][0 if row.part == NUMERATOR else 1]
        elif row.part == RATING:
            rating = reads.union_rating(union_id, on)
            value = RATING_WORDS[rating] if rating else None
        rows.append(
            {
                "code": row.code,
                "label": row.label,
                "unit": row.unit,
                "value": value,
                "note": None if indicator else NOT_KEPT,
            }
        )
    return {
        "form": form.code,
        "number": form.number,
        "title": form.title,
        "year": year,
        "as_of": on,
        **about,
        "rows": rows,
    }
