"""Bulk import of workplaces, unions and members, and of the plans' other records (ratings,
women's committees, dues, training, agreements, conferences, cards): validate a whole file, then
plan its events.

Rows are checked with the same rules as the single commands (a cell's text by domain/text.py),
against the register as it stands and against the rows before them. A row whose id exists with
the same content is skipped (so a file can be imported again); with other content it is an error.
A record (which has no id of its own) is skipped where its entity holds a record with the same
values already; else it is a new record, as the single command makes it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, Protocol

from domain.base import ID_PATTERN, RegisterAggregate
from domain.cards import Card
from domain.errors import DomainError, InvalidValue
from domain.members import CARD_NO, CARD_NO_RULE, GENDERS, ID_NUMBER, ID_NUMBER_RULE, Member
from domain.periods import parse_period
from domain.text import RULE as TEXT_RULE
from domain.text import text_fault
from domain.unions import RATINGS, Union
from domain.units import Unit
from domain.workplaces import SECTORS, Workplace, check_workforce

ENTITY_KINDS = ("workplaces", "unions", "members")
RECORD_KINDS = ("ratings", "womens_committees", "dues", "training", "agreements", "conferences", "cards")
KINDS = ENTITY_KINDS + RECORD_KINDS
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
    "ratings": {
        "union_id": ("id", True),
        "year": ("year", True),
        "rating": ("rating", True),
        "decided_on": ("date", True),
    },
    "womens_committees": {"union_id": ("id", True), "founded_on": ("date", True)},
    "dues": {
        "union_id": ("id", True),
        "period": ("period", True),
        "due": ("amount", True),
        "collected": ("amount", True),
    },
    "training": {
        "union_id": ("id", True),
        "year": ("year", True),
        "officials": ("count", True),
        "trained": ("count", True),
    },
    "agreements": {"workplace_id": ("id", True), "signed_on": ("date", True), "expires_on": ("day", True)},
    "conferences": {"workplace_id": ("id", True), "held_on": ("date", True)},
    "cards": {"member_id": ("id", True), "card_no": ("card_no", True), "issued_on": ("date", True)},
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
    # The aggregates the record rows change, each holding its new events (those of an entity the
    # file creates, but its creation, which the entity's own row records), in the order first changed.
    records: list[RegisterAggregate] = field(default_factory=list)
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

    def aggregates(self, cls: type[RegisterAggregate], ids: list[str]) -> dict[str, RegisterAggregate]:
        """The stored aggregates of ``cls`` with these client ids (those that exist), read at once."""
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


def _amount(raw: Any, column: str, _today: date) -> int:
    """Whole VND: an integer cell, or its digits (a float would round a large amount)."""
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, float) and raw.is_integer() and raw >= 0:
        return int(raw)
    raise _Bad(column, "integer", "must be a whole number of VND, 0 or more")


def _year(raw: Any, column: str, today: date) -> int:
    year = _count(raw, column, today)
    if not 1900 <= year <= 9999:
        raise _Bad(column, "year", "must be a year such as 2025")
    if year > today.year:
        raise _Bad(column, "not_future", "may not lie in the future")
    return year


def _period(text: str, column: str, today: date) -> str:
    try:
        span = parse_period(text, column)
    except InvalidValue as bad:
        raise _Bad(column, "period", bad.message) from None
    if span.start > today:
        raise _Bad(column, "not_future", "may not lie in the future")
    return text


def _card_no(text: str, column: str, _today: date) -> str:
    if not CARD_NO.match(text):
        raise _Bad(column, "card_no", CARD_NO_RULE)
    return text


def _day(raw: Any, column: str, _today: date) -> date:
    """A date that may lie ahead (an agreement's expiry)."""
    return _date(raw, column, date.max)


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
    "day": (_day, False),
    "year": (_year, False),
    "amount": (_amount, False),
    "rating": (_one_of(RATINGS), True),
    "period": (_period, True),
    "card_no": (_card_no, True),
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
    sheets: dict[str, list[tuple[int, dict[str, Any]]]],
    facts: ImportFacts,
    today: date,
    errors_kept: int = ERRORS_KEPT,
    actor: str = "",
) -> ImportPlan:
    """Check every row of every sheet (workplaces, then unions, then members, then the records)
    and plan what to create; the plan lists the first ``errors_kept`` bad rows (in file order) and
    counts them all. ``actor``: who the record rows' events name (they are made here)."""
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
    checker = _Checker(plan, typed, facts)
    checker.run()
    checker.records(today, actor)
    return plan


class _Checker:
    """Applies the register's rules to typed rows, remembering what earlier rows create."""

    def __init__(self, plan: ImportPlan, typed: dict[str, list[tuple[int, dict]]], facts: ImportFacts):
        self.plan, self.typed, self.facts = plan, typed, facts
        ids = lambda sheet, col: list({r[col] for _, r in typed[sheet] if r.get(col)})  # noqa: E731
        self.existing = {sheet: facts.created(sheet, ids(sheet, "id")) for sheet in ENTITY_KINDS}
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

    # ---- the plans' other records ----------------------------------------------------------------------
    def records(self, today: date, actor: str) -> None:
        """Each record row applied by the domain's own command to its entity (as stored, or as this
        file creates it); one refused names the rule the command would answer with."""
        made: dict[tuple[type, str], Any] = {}
        touched: dict[int, RegisterAggregate] = {}
        new_rows = {kind: {r["id"]: r for r in self.plan.creates[kind]} for kind in ENTITY_KINDS}
        wanted: dict[type[RegisterAggregate], set[str]] = {Union: set(), Workplace: set(), Member: set(), Card: set()}
        for sheet in RECORD_KINDS:
            cls, column = _RECORD_OF[sheet]
            wanted[cls] |= {row[column] for _line, row in self.typed[sheet]}
        wanted[Card] = {row["card_no"] for _line, row in self.typed["cards"]}
        stored = {cls: self.facts.aggregates(cls, sorted(ids)) if ids else {} for cls, ids in wanted.items()}

        def entity(cls: type, entity_id: str) -> Any:
            key = (cls, entity_id)
            if key not in made:
                made[key] = stored[cls].get(entity_id) or _created(cls, new_rows, entity_id)
            return made[key]

        def unit_of(kind: str, entity_id: str, day: date, column: str) -> tuple[str, str, date, str]:
            """Where a row reaches, for the scope: an entity this file creates, by its unit (or union)."""
            if kind == "union" and entity_id in new_rows["unions"]:
                return "unit", new_rows["unions"][entity_id]["unit_id"], day, column
            if kind == "workplace" and entity_id in new_rows["workplaces"]:
                return "unit", new_rows["workplaces"][entity_id]["unit_id"], day, column
            if kind == "member" and entity_id in new_rows["members"]:
                return unit_of("union", new_rows["members"][entity_id]["union_id"], day, column)
            return kind, entity_id, day, column

        for sheet in RECORD_KINDS:
            cls, column = _RECORD_OF[sheet]
            outside = self.reach(sheet, _reaching(unit_of, cls.KIND, sheet, column, today))
            seen: set[tuple] = set()
            for line, row in self.typed[sheet]:
                values = tuple(row.values())
                if values in seen:
                    self.fail(sheet, line, column, "duplicate_row", "the same record appears twice in this file")
                    continue
                seen.add(values)
                target = entity(cls, row[column])
                if target is None:
                    self.fail(sheet, line, column, "exists", f"{cls.KIND} {row[column]} does not exist")
                    continue
                if self.outside(sheet, line, outside(row), row):
                    continue
                if _recorded(sheet, target, row):
                    self.plan.skipped[sheet] += 1
                    continue
                card = entity(Card, row["card_no"]) if sheet == "cards" else None
                if card is not None and card.member_id != row["member_id"]:
                    self.fail(
                        sheet,
                        line,
                        "card_no",
                        "card_no_taken",
                        f"card number {row['card_no']} is held by another member",
                    )
                    continue
                if not self.rule(sheet, line, column, _APPLY[sheet], target, row, today, actor):
                    continue
                touched.setdefault(id(target), target)
                if sheet == "cards" and card is None:
                    card = Card(
                        card_id=row["card_no"], member_id=row["member_id"], assigned_on=row["issued_on"], actor=actor
                    )
                    made[(Card, row["card_no"])] = card
                    touched.setdefault(id(card), card)
                self.plan.creates[sheet].append(row)
        self.plan.records = list(touched.values())


_RECORD_OF: dict[str, tuple[type[RegisterAggregate], str]] = {
    "ratings": (Union, "union_id"),
    "womens_committees": (Union, "union_id"),
    "dues": (Union, "union_id"),
    "training": (Union, "union_id"),
    "agreements": (Workplace, "workplace_id"),
    "conferences": (Workplace, "workplace_id"),
    "cards": (Member, "member_id"),
}
_APPLY: dict[str, Callable[[Any, dict, date, str], None]] = {  # (entity, row, today, actor)
    "ratings": lambda u, r, today, actor: u.rate(r["year"], r["rating"], r["decided_on"], actor),
    "womens_committees": lambda u, r, today, actor: u.found_womens_committee(r["founded_on"], actor),
    "dues": lambda u, r, today, actor: u.record_dues(r["period"], r["due"], r["collected"], today, actor),
    "training": lambda u, r, today, actor: u.record_training(r["year"], r["officials"], r["trained"], today, actor),
    "agreements": lambda w, r, today, actor: w.sign_agreement(r["signed_on"], r["expires_on"], actor),
    "conferences": lambda w, r, today, actor: w.hold_conference(r["held_on"], actor),
    "cards": lambda m, r, today, actor: m.issue_card(r["card_no"], r["issued_on"], actor),
}


def _recorded(sheet: str, target: Any, r: dict) -> bool:
    """Whether the entity already holds this very record (an import sent again): a row that names
    an earlier value of a year or period, already replaced, is not recorded again over the newer."""
    if sheet == "ratings":
        return (r["year"], r["rating"], r["decided_on"]) in target.ratings
    if sheet == "womens_committees":
        return target.womens_committee_on == r["founded_on"]
    if sheet == "dues":
        return (r["period"], r["due"], r["collected"]) in target.dues
    if sheet == "training":
        return (r["year"], r["officials"], r["trained"]) in target.training
    if sheet == "agreements":
        return (r["signed_on"], r["expires_on"]) in target.agreements
    if sheet == "conferences":
        return r["held_on"] in target.conferences
    return (r["card_no"], r["issued_on"]) in target.cards


def _reaching(
    unit_of: Callable[[str, str, date, str], tuple[str, str, date, str]],
    kind: str,
    sheet: str,
    column: str,
    today: date,
) -> Callable[[dict], list[tuple[str, str, date, str]]]:
    """A record row's reach: its entity (or the unit of one this file creates) on the row's day."""
    return lambda r: [unit_of(kind, r[column], _reach_day(sheet, r, today), column)]


_DAY_OF = {
    "ratings": "decided_on",
    "womens_committees": "founded_on",
    "agreements": "signed_on",
    "conferences": "held_on",
    "cards": "issued_on",
}


def _reach_day(sheet: str, r: dict, today: date) -> date:
    """The day a record row is placed by, as the single command's scope places it."""
    if sheet in _DAY_OF:
        return r[_DAY_OF[sheet]]
    span = parse_period(r["period"] if sheet == "dues" else str(r["year"]))
    return min(span.end, today)


def workplace_of_row(r: dict, actor: str) -> Workplace:
    """The workplace a checked row of a workplaces file makes."""
    return Workplace(
        workplace_id=r["id"],
        name=r["name"],
        sector=r["sector"],
        unit_id=r["unit_id"],
        workers=r["workers"],
        female_workers=r["female_workers"],
        as_of=r["as_of"],
        actor=actor,
    )


def union_of_row(r: dict, actor: str) -> Union:
    """The union a checked row of a unions file makes."""
    return Union(
        union_id=r["id"],
        name=r["name"],
        workplace_id=r["workplace_id"],
        unit_id=r["unit_id"],
        founded_on=r["founded_on"],
        decision_no=r["decision_no"],
        actor=actor,
    )


def _created(cls: type, new_rows: dict[str, dict[str, dict]], entity_id: str) -> RegisterAggregate | None:
    """An entity this file creates, as its row makes it, without its creation event (its own row
    records that); None if the file creates no such entity."""
    if cls is Union and entity_id in new_rows["unions"]:
        r = new_rows["unions"][entity_id]
        made: RegisterAggregate = union_of_row(r, "")
    elif cls is Workplace and entity_id in new_rows["workplaces"]:
        r = new_rows["workplaces"][entity_id]
        made = workplace_of_row(r, "")
    elif cls is Member and entity_id in new_rows["members"]:
        r = new_rows["members"][entity_id]
        made = Member(
            member_id=r["id"],
            union_id=r["union_id"],
            admitted_on=r["admitted_on"],
            gender=r["gender"],
            personal="",
            actor="",
        )
    else:
        return None
    made.collect_events()
    return made
