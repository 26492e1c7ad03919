"""Bulk import of workplaces, unions and members: validate a whole file, then plan its events.

Rows are checked with the same rules as the single commands (a cell's text by domain/text.py),
against the register as it stands and against the rows before them. A row whose id exists with
the same content is skipped (so a file can be imported again); with other content it is an error.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, Protocol

from domain.base import ID_PATTERN
from domain.errors import DomainError
from domain.members import GENDERS, ID_NUMBER, ID_NUMBER_RULE
from domain.text import RULE as TEXT_RULE
from domain.text import text_fault
from domain.unions import Union
from domain.units import Unit
from domain.workplaces import SECTORS, check_workforce

KINDS = ("workplaces", "unions", "members")
COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {  # column -> (type, required)
    "workplaces": {
        "id": ("id", True),
        "name": ("text", True),
        "sector": ("sector", True),
        "unit_id": ("id", True),
        "workers": ("count", True),
        "female_workers": ("count", True),
        "as_of": ("date", True),
    },
    "unions": {
        "id": ("id", True),
        "name": ("text", True),
        "workplace_id": ("id", True),
        "unit_id": ("id", True),
        "founded_on": ("date", True),
        "decision_no": ("text", False),
    },
    "members": {
        "id": ("id", True),
        "union_id": ("id", True),
        "admitted_on": ("date", True),
        "full_name": ("text", True),
        "gender": ("gender", True),
        "birth_date": ("date", False),
        "id_number": ("idno", False),
    },
}


@dataclass(frozen=True)
class RowError:
    sheet: str
    line: int
    column: str
    rule: str
    message: str


ERRORS_KEPT = 100  # bad rows a plan keeps unless told otherwise; every one is counted


_SHEET_ORDER = {k: n for n, k in enumerate(KINDS)}  # an unknown sheet (line 0) comes first


def _place(error: RowError) -> tuple[int, int, str]:
    return _SHEET_ORDER.get(error.sheet, -1), error.line, error.column


@dataclass
class ImportPlan:
    creates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in KINDS})
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    errors: list[RowError] = field(default_factory=list)  # the first errors_kept bad rows, in file order
    errors_total: int = 0  # every bad row, kept or not
    errors_kept: int = ERRORS_KEPT

    def refuse(self, error: RowError) -> None:
        """Count a bad row, and keep it only while it is among the first ``errors_kept``: a file of
        millions of bad rows costs no more memory than a file of a hundred."""
        self.errors_total += 1
        if len(self.errors) >= self.errors_kept and _place(error) >= _place(self.errors[-1]):
            return
        bisect.insort(self.errors, error, key=_place)  # after its equals: the order rows were checked in
        if len(self.errors) > self.errors_kept:
            self.errors.pop()


class ImportFacts(Protocol):
    """What the register already holds, read in bulk."""

    def created(self, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def units(self, ids: list[str]) -> dict[str, SimpleNamespace]: ...
    def workplaces(self, ids: list[str]) -> dict[str, date]: ...
    def unions(self, ids: list[str]) -> dict[str, SimpleNamespace]: ...
    def unions_at_workplaces(self, ids: list[str]) -> dict[str, list[SimpleNamespace]]: ...
    def within(self, asked: list[tuple[str, str, date]]) -> list[bool] | None:
        """Whether each (kind, id, day) lies within the importer's scope, read at once (None: no scope)."""
        ...


class _Bad(Exception):
    def __init__(self, column: str, rule: str, message: str):
        super().__init__(message)
        self.column, self.rule, self.message = column, rule, message


def _id(text: str, column: str, _today: date) -> str:
    if not ID_PATTERN.match(text):
        raise _Bad(column, "id_format", "must be 1-64 characters of letters, digits and ._:-")
    return text


def _text(text: str, column: str, _today: date) -> str:
    if len(text) > 300:
        raise _Bad(column, "length", "must be at most 300 characters")
    return text


def _one_of(allowed: tuple[str, ...]):
    def check(text: str, column: str, _today: date) -> str:
        if text not in allowed:
            raise _Bad(column, "one_of", f"must be one of: {', '.join(allowed)}")
        return text

    return check


def _id_number(text: str, column: str, _today: date) -> str:
    if not ID_NUMBER.match(text):
        raise _Bad(column, "id_number", ID_NUMBER_RULE)
    return text


def _count(raw: Any, column: str, _today: date) -> int:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise _Bad(column, "integer", "must be a whole number") from None
    if number != int(number) or number < 0:
        raise _Bad(column, "integer", "must be a whole number, 0 or more")
    return int(number)


def _date(raw: Any, column: str, today: date) -> date:
    if isinstance(raw, datetime):
        day = raw.date()
    elif isinstance(raw, date):
        day = raw
    else:
        try:
            day = date.fromisoformat(str(raw))
        except ValueError:
            raise _Bad(column, "date", "must be a date YYYY-MM-DD") from None
    if day > today:
        raise _Bad(column, "not_future", "may not lie in the future")
    return day


# Each column type's converter, and whether it takes the cell as text (else as it was read).
_CONVERT = {
    "id": (_id, True),
    "text": (_text, True),
    "sector": (_one_of(SECTORS), True),
    "gender": (_one_of(GENDERS), True),
    "idno": (_id_number, True),
    "count": (_count, False),
    "date": (_date, False),
}
_SHEET_COLUMNS = {
    sheet: [(column, *_CONVERT[kind], required) for column, (kind, required) in columns.items()]
    for sheet, columns in COLUMNS.items()
}


def _typed(sheet: str, row: dict[str, Any], today: date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, convert, as_text, required in _SHEET_COLUMNS[sheet]:
        raw = row.get(column)
        if isinstance(raw, str):
            raw = raw.strip()
            if not raw:
                raw = None
            elif (fault := text_fault(raw)) is not None:
                raise _Bad(column, TEXT_RULE, fault)
        if raw is None:
            if required:
                raise _Bad(column, "required", "is required")
            out[column] = None
            continue
        out[column] = convert(str(raw) if as_text and type(raw) is not str else raw, column, today)
    return out


def _same(sheet: str, row: dict[str, Any], existing: dict[str, Any]) -> bool:
    for column in COLUMNS[sheet]:
        if column == "id":
            continue
        mine, theirs = row.get(column), existing.get(column)
        if isinstance(mine, date):
            mine = mine.isoformat()
        if mine != theirs:
            return False
    return True


def plan_import(
    sheets: dict[str, list[tuple[int, dict[str, Any]]]], facts: ImportFacts, today: date, errors_kept: int = ERRORS_KEPT
) -> ImportPlan:
    """Check every row of every sheet (workplaces, then unions, then members) and plan what to
    create; the plan lists the first ``errors_kept`` bad rows (in file order) and counts them all."""
    if errors_kept < 1:
        raise ValueError("an import keeps at least one bad row")
    plan = ImportPlan(errors_kept=errors_kept)
    unknown = set(sheets) - set(KINDS)
    for sheet in sorted(unknown):
        plan.refuse(RowError(sheet, 0, "", "sheet", f"unknown sheet; expected one of {', '.join(KINDS)}"))
    typed: dict[str, list[tuple[int, dict]]] = {}
    for sheet in KINDS:
        typed[sheet] = []
        columns = COLUMNS[sheet].keys()
        for line, row in sheets.get(sheet, []):
            if not row.keys() <= columns:
                extra = sorted(set(row) - set(columns))[0]
                plan.refuse(RowError(sheet, line, extra, "unknown_column", "is not a column of this sheet"))
                continue
            try:
                typed[sheet].append((line, _typed(sheet, row, today)))
            except _Bad as bad:
                plan.refuse(RowError(sheet, line, bad.column, bad.rule, bad.message))
    _Checker(plan, typed, facts).run()
    return plan


class _Checker:
    """Applies the register's rules to typed rows, remembering what earlier rows create."""

    def __init__(self, plan: ImportPlan, typed: dict[str, list[tuple[int, dict]]], facts: ImportFacts):
        self.plan, self.typed, self.facts = plan, typed, facts
        ids = lambda sheet, col: list({r[col] for _, r in typed[sheet] if r.get(col)})  # noqa: E731
        self.existing = {sheet: facts.created(sheet, ids(sheet, "id")) for sheet in KINDS}
        self.units = facts.units(sorted(set(ids("workplaces", "unit_id")) | set(ids("unions", "unit_id"))))
        wp_ids = sorted(set(ids("unions", "workplace_id")))
        self.workplaces = facts.workplaces(wp_ids)
        self.unions_at = facts.unions_at_workplaces(wp_ids)
        self.unions = facts.unions(ids("members", "union_id"))

    def fail(self, sheet: str, line: int, column: str, rule: str, message: str) -> None:
        self.plan.refuse(RowError(sheet, line, column, rule, message))

    def rows(self, sheet: str) -> Iterable[tuple[int, dict]]:
        seen: set[str] = set()
        for line, row in self.typed[sheet]:
            if row["id"] in seen:
                self.fail(sheet, line, "id", "unique_id", f"id {row['id']} appears twice in this file")
                continue
            seen.add(row["id"])
            existing = self.existing[sheet].get(row["id"])
            if existing is not None:
                if _same(sheet, row, existing):
                    self.plan.skipped[sheet] += 1
                else:
                    self.fail(sheet, line, "id", "unique_id", f"id {row['id']} exists with other content")
                continue
            yield line, row

    def rule(self, sheet: str, line: int, column: str, check: Callable[..., object], *args: Any) -> bool:
        """Whether ``check(*args)`` passes; if not, the row fails with the rule the check names."""
        try:
            check(*args)
            return True
        except DomainError as error:
            self.fail(sheet, line, error.field or column, error.rule or "rule", error.message)
            return False

    def reach(
        self, sheet: str, asked: Callable[[dict], list[tuple[str, str, date, str]]]
    ) -> Callable[[dict], str | None]:
        """For a scoped importer: the column of a row's first reach outside the scope (None: all
        within), each sheet's reaches read at once. ``asked``: a row's (kind, id, day, column)."""
        rows = [row for _line, row in self.typed[sheet]]
        wanted = sorted({(k, i, d) for row in rows for k, i, d, _c in asked(row) if i is not None})
        held = self.facts.within(wanted)
        if held is None:
            return lambda row: None
        inside = dict(zip(wanted, held))
        return lambda row: next((c for k, i, d, c in asked(row) if i is not None and not inside[(k, i, d)]), None)

    def outside(self, sheet: str, line: int, column: str | None, row: dict) -> bool:
        if column is None:
            return False
        self.fail(sheet, line, column, "scope", f"{row[column]} lies outside your scope")
        return True

    def run(self) -> None:
        outside = self.reach("workplaces", lambda r: [("unit", r["unit_id"], r["as_of"], "unit_id")])
        for line, row in self.rows("workplaces"):
            unit = self.units.get(row["unit_id"])
            if unit is None:
                self.fail("workplaces", line, "unit_id", "exists", f"unit {row['unit_id']} does not exist")
            elif self.outside("workplaces", line, outside(row), row):
                continue
            elif self.rule(
                "workplaces", line, "female_workers", check_workforce, row["workers"], row["female_workers"]
            ) and self.rule("workplaces", line, "unit_id", Unit.require_can_hold, unit, row["as_of"], "workplace"):
                self.workplaces[row["id"]] = row["as_of"]
                self.plan.creates["workplaces"].append(row)
        new_workplaces = {r["id"]: r["unit_id"] for r in self.plan.creates["workplaces"]}
        outside = self.reach(
            "unions",
            lambda r: [
                ("unit", r["unit_id"], r["founded_on"], "unit_id"),
                ("unit", new_workplaces[r["workplace_id"]], r["founded_on"], "workplace_id")
                if r["workplace_id"] in new_workplaces
                else ("workplace", r["workplace_id"], r["founded_on"], "workplace_id"),
            ],
        )
        for line, row in self.rows("unions"):
            unit, registered = self.units.get(row["unit_id"]), self.workplaces.get(row["workplace_id"])
            if unit is None:
                self.fail("unions", line, "unit_id", "exists", f"unit {row['unit_id']} does not exist")
            elif registered is None:
                self.fail("unions", line, "workplace_id", "exists", f"workplace {row['workplace_id']} does not exist")
            elif self.outside("unions", line, outside(row), row):
                continue
            elif row["founded_on"] < registered:
                self.fail("unions", line, "founded_on", "date_order", "predates the workplace's registration")
            elif self.rule("unions", line, "unit_id", Unit.require_can_hold, unit, row["founded_on"], "union"):
                others = [
                    u
                    for u in self.unions_at.get(row["workplace_id"], [])
                    if u.dissolved_on is None or u.dissolved_on > row["founded_on"]
                ]
                if others:
                    self.fail(
                        "unions",
                        line,
                        "workplace_id",
                        "one_union_per_workplace",
                        f"workplace {row['workplace_id']} already has an active union ({others[0].union_id})",
                    )
                    continue
                founded = SimpleNamespace(union_id=row["id"], founded_on=row["founded_on"], dissolved_on=None)
                self.unions[row["id"]] = founded
                self.unions_at.setdefault(row["workplace_id"], []).append(founded)
                self.plan.creates["unions"].append(row)
        new_unions = {r["id"]: r["unit_id"] for r in self.plan.creates["unions"]}
        outside = self.reach(
            "members",
            lambda r: [
                ("unit", new_unions[r["union_id"]], r["admitted_on"], "union_id")
                if r["union_id"] in new_unions
                else ("union", r["union_id"], r["admitted_on"], "union_id")
            ],
        )
        for line, row in self.rows("members"):
            union = self.unions.get(row["union_id"])
            if union is None:
                self.fail("members", line, "union_id", "exists", f"union {row['union_id']} does not exist")
            elif self.outside("members", line, outside(row), row):
                continue
            elif row["birth_date"] and row["birth_date"] > row["admitted_on"]:
                self.fail("members", line, "birth_date", "date_order", "must be before the admission date")
            elif self.rule("members", line, "union_id", Union.require_open_to_members, union, row["admitted_on"]):
                self.plan.creates["members"].append(row)
