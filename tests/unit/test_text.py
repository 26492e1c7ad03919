"""The text the register accepts (domain/text.py), and an import row that breaks it."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from domain.errors import InvalidValue
from domain.imports import RowError, plan_import
from domain.text import check_text, text_fault

C0 = [chr(n) for n in range(0x00, 0x20)]
C1 = [chr(n) for n in range(0x7F, 0xA0)]
LINE_BREAKS = ["\t", "\n", "\r"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
NONCHARACTERS = ["\ufffe", "\uffff"]
HELD = [
    "Công đoàn cơ sở Công ty TNHH May Quảng Trị",
    "45/QĐ-LĐLĐ",
    "dn:001",
    "😀 (a pair in JSON: \\ud83d\\ude00)",
    "no-break\u00a0space",
    "replacement \ufffd",
    "line\u2028separator",
    "﻿bom inside",
]


def code(char: str) -> str:
    return f"U+{ord(char):04X}"


@pytest.mark.parametrize("char", [c for c in C0 + C1 if c not in LINE_BREAKS], ids=code)
def test_a_control_character_is_refused_in_any_text(char):
    for free in (False, True):
        assert text_fault(f"Công{char}ty", free=free) == f"must not contain control characters ({code(char)})"


@pytest.mark.parametrize("char", LINE_BREAKS, ids=code)
def test_tabs_and_line_breaks_are_refused_in_one_line_and_held_in_free_text(char):
    assert text_fault(f"Công{char}ty") == f"must be one line, without tabs or line breaks ({code(char)})"
    assert text_fault(f"Công{char}ty", free=True) is None


@pytest.mark.parametrize("char", SURROGATES, ids=code)
def test_a_lone_surrogate_is_refused_in_any_text(char):
    for free in (False, True):
        assert text_fault(f"a{char}b", free=free) == (
            f"must not contain lone surrogates ({code(char)}): text must be valid Unicode"
        )


@pytest.mark.parametrize("char", NONCHARACTERS, ids=code)
def test_the_noncharacters_fffe_and_ffff_are_refused_in_any_text(char):
    for free in (False, True):
        assert text_fault(f"a{char}b", free=free) == (
            f"must not contain the noncharacters U+FFFE and U+FFFF ({code(char)})"
        )


@pytest.mark.parametrize("text", HELD)
def test_text_in_any_script_with_its_spaces_and_symbols_is_held(text):
    assert text_fault(text) is None and text_fault(text, free=True) is None
    assert check_text(text, "name") == text


def test_every_code_point_is_refused_exactly_when_the_rule_names_it():
    """All 1,114,112 of them, alone and inside printable text, in one line and in free text."""
    refused = set(C0 + C1 + SURROGATES + NONCHARACTERS) | {chr(n) for n in range(0xD800, 0xE000)}
    for n in range(0x110000):
        char = chr(n)
        one_line, free = text_fault(char) is not None, text_fault(f"Công{char}ty", free=True) is not None
        assert (one_line, free) == (char in refused, char in refused and char not in LINE_BREAKS), code(char)


def test_the_first_character_that_breaks_the_rule_is_named():
    assert text_fault("a\x07b\x00c\ud800") == "must not contain control characters (U+0007)"
    assert text_fault("a\ud800b\x00") == "must not contain lone surrogates (U+D800): text must be valid Unicode"


def test_a_refusal_names_the_field_and_the_rule():
    with pytest.raises(InvalidValue) as refused:
        check_text("Công\x00ty", "name")
    assert (refused.value.field, refused.value.rule, refused.value.message) == (
        "name",
        "text",
        "must not contain control characters (U+0000)",
    )


class NoFacts:
    """A register that holds nothing yet."""

    def created(self, kind, ids):
        return {}

    def units(self, ids):
        return {
            unit_id: SimpleNamespace(unit_id=unit_id, established_on=date(2020, 1, 1), closed_on=None)
            for unit_id in ids
        }

    def workplaces(self, ids):
        return {}

    def unions(self, ids):
        return {}

    def unions_at_workplaces(self, ids):
        return {}

    def within(self, asked):
        return None  # no scope


def workplace(**cells) -> dict:
    return {
        "id": "dn:001",
        "name": "Công ty May",
        "sector": "fdi_enterprise",
        "unit_id": "hh",
        "workers": 120,
        "female_workers": 90,
        "as_of": "2021-01-01",
        **cells,
    }


@pytest.mark.parametrize(
    "column, cell, message",
    [
        ("name", "Công\x00ty", "must not contain control characters (U+0000)"),
        ("name", "Công\ud800ty", "must not contain lone surrogates (U+D800): text must be valid Unicode"),
        ("name", "Công ty\nMay", "must be one line, without tabs or line breaks (U+000A)"),
        ("id", "dn\x00:001", "must not contain control characters (U+0000)"),
        ("sector", "fdi\x85enterprise", "must not contain control characters (U+0085)"),
        ("workers", "12\x000", "must not contain control characters (U+0000)"),
    ],
)
def test_an_import_cell_the_register_cannot_hold_is_a_row_error_with_rule_text(column, cell, message):
    plan = plan_import(
        {"workplaces": [(2, workplace()), (3, workplace(**{"id": "dn:002", column: cell}))]},
        NoFacts(),
        date(2026, 1, 1),
    )
    assert plan.errors == [RowError("workplaces", 3, column, "text", message)]


def test_an_import_cell_with_spaces_around_it_is_held_as_its_text():
    """Blanks around a cell are dropped before the rule, as before any other rule."""
    plan = plan_import({"workplaces": [(2, workplace(name="\t Công ty May \r\n"))]}, NoFacts(), date(2026, 1, 1))
    assert plan.errors == [] and plan.creates["workplaces"][0]["name"] == "Công ty May"
