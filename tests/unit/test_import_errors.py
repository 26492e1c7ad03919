"""An import's refusal keeps its first bad rows, in file order, and counts all of them."""

from __future__ import annotations

from datetime import date

import pytest

from domain.imports import ERRORS_KEPT, ImportPlan, RowError, plan_import

TODAY = date(2025, 6, 30)


class NothingYet:
    """An empty register: no unit, workplace or union exists."""

    def created(self, kind, ids):
        return {}

    def units(self, ids):
        return {}

    def workplaces(self, ids):
        return {}

    def unions(self, ids):
        return {}

    def unions_at_workplaces(self, ids):
        return {}

    def within(self, asked):
        return None  # no scope


def members(n: int) -> dict:
    """Rows 2..n+1: even lines have an unknown gender (caught as the row is read), odd lines a
    union that does not exist (caught by the register's rules, after every row has been read)."""
    rows = []
    for line in range(2, n + 2):
        rows.append(
            (
                line,
                {
                    "id": f"dv-{line}",
                    "union_id": "nowhere",
                    "admitted_on": "2024-01-01",
                    "full_name": "Lê Thị Hoa",
                    "gender": "other" if line % 2 == 0 else "female",
                },
            )
        )
    return {"members": rows}


def test_a_plan_keeps_the_first_bad_rows_in_file_order_and_counts_them_all():
    plan = plan_import(members(10_000), NothingYet(), TODAY, errors_kept=25)
    assert plan.errors_total == 10_000
    assert [(e.line, e.rule) for e in plan.errors] == [
        (line, "one_of" if line % 2 == 0 else "exists") for line in range(2, 27)
    ]


def test_an_unknown_sheet_is_the_first_bad_row_even_when_it_is_found_last():
    sheets = {**members(40), "staff": [(2, {"id": "x"})]}
    plan = plan_import(sheets, NothingYet(), TODAY, errors_kept=3)
    assert [(e.sheet, e.line) for e in plan.errors] == [("staff", 0), ("members", 2), ("members", 3)]
    assert plan.errors_total == 41


def test_a_plan_keeps_a_hundred_unless_told():
    assert plan_import(members(10), NothingYet(), TODAY, errors_kept=5).errors_kept == 5
    plan = plan_import(members(300), NothingYet(), TODAY)
    assert (ERRORS_KEPT, len(plan.errors), plan.errors_total) == (100, 100, 300)


def test_fewer_bad_rows_than_kept_are_all_kept():
    plan = plan_import(members(7), NothingYet(), TODAY)
    assert (len(plan.errors), plan.errors_total) == (7, 7)
    assert [e.line for e in plan.errors] == list(range(2, 9))


def test_rows_refused_in_any_order_are_kept_as_the_file_orders_them():
    plan = ImportPlan(errors_kept=3)
    for line in (9, 4, 7, 2, 8, 3):
        plan.refuse(RowError("members", line, "id", "rule", "wrong"))
    assert ([e.line for e in plan.errors], plan.errors_total) == ([2, 3, 4], 6)


def test_an_import_keeps_at_least_one_bad_row():
    with pytest.raises(ValueError):
        plan_import(members(3), NothingYet(), TODAY, errors_kept=0)
