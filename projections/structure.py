"""The organisation as it stood on any day: units, workplaces, unions and who held whom."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from projections import spans
from projections.base import AddedIndex, Projection, ViewCursor, day, micros


def through_closures(
    cur: ViewCursor, holder: str, start: int, end: int | None, terminal: int
) -> Iterator[spans.Segment]:
    """Follow closures: a unit closed with a successor hands on what it holds from its closing day."""
    return follow_closures(
        lambda unit: cur.execute(
            "SELECT closed_on, successor_id FROM unit_state WHERE unit_id = ?", (unit,)
        ).fetchone(),
        holder,
        start,
        end,
        terminal,
    )


def closures_now(cur: ViewCursor) -> Callable[[str], tuple | None]:
    """Every unit's (closed_on, successor_id), read once: for many entities placed in one go."""
    known = {u: (c, s) for u, c, s in cur.execute("SELECT unit_id, closed_on, successor_id FROM unit_state").fetchall()}
    return known.get


def through_closures_now(cur: ViewCursor) -> spans.Succession:
    closure = closures_now(cur)
    return lambda _cur, holder, start, end, terminal: follow_closures(closure, holder, start, end, terminal)


def follow_closures(
    closure: Callable[[str], tuple | None], holder: str, start: int, end: int | None, terminal: int
) -> Iterator[spans.Segment]:
    seen = set()
    while holder not in seen:
        seen.add(holder)
        closed_on, successor = closure(holder) or (None, None)
        if closed_on is None or (end is not None and closed_on >= end) or closed_on <= start:
            break
        yield holder, start, closed_on, 0 if successor else 1
        if successor is None:
            return
        holder, start = successor, closed_on
    yield holder, start, end, terminal


def _first_placement(closure, entity: str, unit: str, on: int, at: int, position: int) -> tuple[list[tuple], str]:
    """Span rows of a new entity placed under ``unit`` from ``on``, and the unit holding it now."""
    segments = list(follow_closures(closure, unit, on, None, 0))
    return (
        [(entity, h, f, t, term, at, position) for h, f, t, term in segments if t is None or t > f],
        segments[-1][0],
    )


SURVEY_COLUMNS = ("workplace_id", "as_of", "workers", "female_workers", "recorded_at", "position")


class Structure(Projection):
    """Current state of units, workplaces and unions, their surveys, and their placement spans."""

    name = "structure"
    tables = ("unit_state", "workplace_state", "union_state", "surveys", "unit_spans", "union_spans", "workplace_spans")
    ddl = (
        "CREATE TABLE IF NOT EXISTS unit_state ("
        " unit_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, parent_id TEXT,"
        " established_on INTEGER NOT NULL, closed_on INTEGER, successor_id TEXT,"
        " version INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS workplace_state ("
        " workplace_id TEXT PRIMARY KEY, name TEXT NOT NULL, sector TEXT NOT NULL, unit_id TEXT NOT NULL,"
        " registered_on INTEGER NOT NULL, workers INTEGER NOT NULL, female_workers INTEGER NOT NULL,"
        " as_of INTEGER NOT NULL, version INTEGER NOT NULL, created_at BIGINT NOT NULL,"
        " updated_at BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS workplace_state_unit ON workplace_state (unit_id)",
        "CREATE TABLE IF NOT EXISTS union_state ("
        " union_id TEXT PRIMARY KEY, name TEXT NOT NULL, workplace_id TEXT NOT NULL, unit_id TEXT NOT NULL,"
        " founded_on INTEGER NOT NULL, founded_at BIGINT NOT NULL, decision_no TEXT,"
        " dissolved_on INTEGER, dissolved_at BIGINT, dissolution_reason TEXT,"
        " version INTEGER NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS union_state_workplace ON union_state (workplace_id)",
        "CREATE TABLE IF NOT EXISTS surveys ("
        " workplace_id TEXT NOT NULL, as_of INTEGER NOT NULL, workers INTEGER NOT NULL,"
        " female_workers INTEGER NOT NULL, recorded_at BIGINT NOT NULL, position BIGINT NOT NULL,"
        " PRIMARY KEY (workplace_id, position))",
        *spans.span_ddl("unit_spans"),
        *spans.span_ddl("union_spans"),
        *spans.span_ddl("workplace_spans"),
    )
    # The structure's signature (projections.columns) asks for the surveys' last position at
    # every new view position: an index lookup rather than a pass over the table.
    added_indexes = (AddedIndex("surveys_position", "surveys", "(position)"),)

    # ---- units -------------------------------------------------------------
    def on_UnitEstablished(self, cur: ViewCursor, e: Any, position: int) -> None:
        at = micros(e.timestamp)
        cur.execute(
            "INSERT INTO unit_state (unit_id, name, kind, parent_id, established_on, version,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e.unit_id, e.name, e.kind, e.parent_id, day(e.established_on), e.originator_version, at, at),
        )
        if e.parent_id:
            spans.place(
                cur, "unit_spans", e.unit_id, e.parent_id, day(e.established_on), at, position, through_closures
            )
            self._follow_parent(cur, e.unit_id)

    def on_UnitClosed(self, cur: ViewCursor, e: Any, position: int) -> None:
        at, on = micros(e.timestamp), day(e.closed_on)
        cur.execute(
            "UPDATE unit_state SET closed_on = ?, successor_id = ?, version = ?, updated_at = ? WHERE unit_id = ?",
            (on, e.successor_id, e.originator_version, at, e.unit_id),
        )
        spans.end(cur, "unit_spans", e.unit_id, on, at, position)
        if not e.successor_id:
            return
        succession = through_closures_now(cur)
        for table in ("unit_spans", "union_spans", "workplace_spans"):
            spans.move_holder(cur, table, e.unit_id, e.successor_id, on, at, position, succession)
        cur.execute(
            "UPDATE unit_state SET parent_id = ? WHERE parent_id = ? AND closed_on IS NULL", (e.successor_id, e.unit_id)
        )
        cur.execute("UPDATE workplace_state SET unit_id = ? WHERE unit_id = ?", (e.successor_id, e.unit_id))
        cur.execute(
            "UPDATE union_state SET unit_id = ? WHERE unit_id = ? AND (dissolved_on IS NULL OR dissolved_on > ?)",
            (e.successor_id, e.unit_id, on),
        )

    def _follow_parent(self, cur: ViewCursor, unit_id: str) -> None:
        """A unit placed under a since-closed parent is shown under the parent's successor now."""
        row = cur.execute(
            "SELECT holder_id FROM unit_spans WHERE entity_id = ? AND superseded_at IS NULL"
            " ORDER BY valid_from DESC LIMIT 1",
            (unit_id,),
        ).fetchone()
        if row:
            cur.execute("UPDATE unit_state SET parent_id = ? WHERE unit_id = ?", (row[0], unit_id))

    def _current_holder(self, cur: ViewCursor, table: str, entity: str) -> str | None:
        row = cur.execute(
            f"SELECT holder_id FROM {table} WHERE entity_id = ? AND superseded_at IS NULL"
            " ORDER BY valid_from DESC LIMIT 1",
            (entity,),
        ).fetchone()
        return row[0] if row else None

    # ---- workplaces ----------------------------------------------------------
    def bulk_WorkplaceRegistered(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        """Registrations create their workplaces, so there is no earlier span to supersede."""
        closure = closures_now(cur)
        span_rows, states, surveys = [], [], []
        for e, position in items:
            at, on = micros(e.timestamp), day(e.as_of)
            rows, holder = _first_placement(closure, e.workplace_id, e.unit_id, on, at, position)
            span_rows.extend(rows)
            states.append(
                (
                    e.workplace_id,
                    e.name,
                    e.sector,
                    holder,
                    on,
                    e.workers,
                    e.female_workers,
                    on,
                    e.originator_version,
                    at,
                    at,
                )
            )
            surveys.append((e.workplace_id, on, e.workers, e.female_workers, at, position))
        cur.insert_rows("workplace_spans", spans.SPAN_COLUMNS, span_rows)
        cur.insert_rows(
            "workplace_state",
            (
                "workplace_id",
                "name",
                "sector",
                "unit_id",
                "registered_on",
                "workers",
                "female_workers",
                "as_of",
                "version",
                "created_at",
                "updated_at",
            ),
            states,
        )
        cur.insert_rows("surveys", SURVEY_COLUMNS, surveys)

    def on_WorkforceSurveyed(self, cur: ViewCursor, e: Any, position: int) -> None:
        at, on = micros(e.timestamp), day(e.as_of)
        self._survey(cur, e, position)
        cur.execute(
            "UPDATE workplace_state SET version = ?, updated_at = ? WHERE workplace_id = ?",
            (e.originator_version, at, e.workplace_id),
        )
        cur.execute(
            "UPDATE workplace_state SET workers = ?, female_workers = ?, as_of = ?"
            " WHERE workplace_id = ? AND as_of <= ?",
            (e.workers, e.female_workers, on, e.workplace_id, on),
        )

    def _survey(self, cur: ViewCursor, e: Any, position: int) -> None:
        cur.insert_rows(
            "surveys",
            SURVEY_COLUMNS,
            [(e.workplace_id, day(e.as_of), e.workers, e.female_workers, micros(e.timestamp), position)],
        )

    # ---- unions --------------------------------------------------------------
    def bulk_UnionFounded(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        """Foundings create their unions, so there is no earlier span to supersede."""
        closure = closures_now(cur)
        span_rows, states = [], []
        for e, position in items:
            at, on = micros(e.timestamp), day(e.founded_on)
            rows, holder = _first_placement(closure, e.union_id, e.unit_id, on, at, position)
            span_rows.extend(rows)
            states.append((e.union_id, e.name, e.workplace_id, holder, on, at, e.decision_no, e.originator_version, at))
        cur.insert_rows("union_spans", spans.SPAN_COLUMNS, span_rows)
        cur.insert_rows(
            "union_state",
            (
                "union_id",
                "name",
                "workplace_id",
                "unit_id",
                "founded_on",
                "founded_at",
                "decision_no",
                "version",
                "updated_at",
            ),
            states,
        )

    def on_UnionTransferred(self, cur: ViewCursor, e: Any, position: int) -> None:
        at = micros(e.timestamp)
        spans.place(cur, "union_spans", e.union_id, e.to_unit_id, day(e.effective_on), at, position, through_closures)
        holder = self._current_holder(cur, "union_spans", e.union_id) or e.to_unit_id
        cur.execute(
            "UPDATE union_state SET unit_id = ?, version = ?, updated_at = ? WHERE union_id = ?",
            (holder, e.originator_version, at, e.union_id),
        )

    def on_UnionDissolved(self, cur: ViewCursor, e: Any, position: int) -> None:
        at, on = micros(e.timestamp), day(e.dissolved_on)
        spans.end(cur, "union_spans", e.union_id, on, at, position)
        cur.execute(
            "UPDATE union_state SET dissolved_on = ?, dissolved_at = ?, dissolution_reason = ?, version = ?,"
            " updated_at = ? WHERE union_id = ?",
            (on, at, e.reason, e.originator_version, at, e.union_id),
        )
