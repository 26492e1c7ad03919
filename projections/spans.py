"""Bitemporal placement spans: which holder an entity was under, between which business
dates, as known between which recorded instants.

A row ``(entity, holder, valid_from, valid_to, terminal, recorded_at, superseded_at)``
says: from ``recorded_at`` until ``superseded_at`` the register held that the entity was
under ``holder`` on every day of [valid_from, valid_to). Rows are never changed except to
mark them superseded, so any past state of knowledge can be asked for (``known_at``).
``position`` and ``superseded_pos`` are the ledger positions of the events that wrote and
superseded a row, so a reader can pick up what changed since a position it has seen.
``terminal`` marks a span ended by the entity's own end (dissolution, departure, closure):
on that end day a flow still counts under the holder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from projections.base import ViewCursor

Segment = tuple[str, int, int | None, int]  # holder, valid_from, valid_to, terminal
# Where an entity placed under a holder from a day ends up: the holder, or the successors of a
# holder closed since (see projections.structure.through_closures).
Succession = Callable[[ViewCursor, str, int, int | None, int], Iterable[Segment]]

SPAN_TABLES = ("unit_spans", "union_spans", "workplace_spans", "member_spans")


def span_ddl(table: str, by_day: bool = True) -> tuple[str, ...]:
    # Rows are found by entity, by position, or by holder among the current rows only (what a
    # holder holds now, or on a day, as now known): no index of every row by holder. Without
    # ``by_day``, the table's own index by holder (in entity order) serves those readers.
    current = (
        f"CREATE INDEX IF NOT EXISTS {table}_current ON {table} (holder_id, valid_from, valid_to)"
        " WHERE superseded_at IS NULL",
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " entity_id TEXT NOT NULL, holder_id TEXT NOT NULL,"
        " valid_from INTEGER NOT NULL, valid_to INTEGER, terminal INTEGER NOT NULL DEFAULT 0,"
        " recorded_at BIGINT NOT NULL, superseded_at BIGINT,"
        " position BIGINT NOT NULL, superseded_pos BIGINT)",
        f"CREATE INDEX IF NOT EXISTS {table}_entity ON {table} (entity_id) WHERE superseded_at IS NULL",
        *(current if by_day else ()),
        f"CREATE INDEX IF NOT EXISTS {table}_position ON {table} (position)",
        f"CREATE INDEX IF NOT EXISTS {table}_superseded_pos ON {table} (superseded_pos)"
        " WHERE superseded_pos IS NOT NULL",
    )


def direct(_cur: ViewCursor, holder: str, start: int, end: int | None, terminal: int) -> Iterator[Segment]:
    yield holder, start, end, terminal


def place(
    cur: ViewCursor,
    table: str,
    entity: str,
    holder: str,
    start: int,
    recorded: int,
    position: int,
    succession: Succession = direct,
) -> None:
    """From ``start`` on, the entity is under ``holder`` (and wherever ``succession`` leads)."""
    apply_many(cur, table, [(entity, holder, start, recorded, position)], succession)


def end(cur: ViewCursor, table: str, entity: str, on: int, recorded: int, position: int) -> None:
    """The entity ends on ``on``: it is under no holder from that day."""
    apply_many(cur, table, [(entity, None, on, recorded, position)])


Change = tuple[str, str | None, int, int, int]  # entity, holder (None: the entity ends), day, recorded, position
# A change supersedes an entity's rows that reach past its day (changes touch distinct entities).
SUPERSEDED = (("recorded", "bigint"), ("by_position", "bigint"), ("entity", "text"), ("on_day", "integer"))
SPAN_COLUMNS = ("entity_id", "holder_id", "valid_from", "valid_to", "terminal", "recorded_at", "position")


def apply_many(cur: ViewCursor, table: str, changes: list[Change], succession: Succession = direct) -> None:
    """``place`` or ``end`` for many entities at once, each entity at most once: one read of
    their current rows, then the supersessions and the new rows as batches. The rows that
    reach past the day are superseded; what came before it is kept, ended that day."""
    entities = [c[0] for c in changes]
    current: dict[str, list[Segment]] = {}
    found = cur.rows_for(
        f"SELECT entity_id, holder_id, valid_from, valid_to, terminal FROM {table}"
        " WHERE superseded_at IS NULL AND entity_id IN ({ids})",
        entities,
    )
    for entity, *segment in found:
        current.setdefault(entity, []).append(tuple(segment))
    superseded: list[tuple[int, int, str, int]] = []  # recorded, by_position, entity, on_day
    rows: list[tuple[str, str, int, int | None, int, int, int]] = []  # as SPAN_COLUMNS
    for entity, holder, on, recorded, position in changes:
        old = [(h, f, t, term) for h, f, t, term in current.get(entity, ()) if t is None or t > on]
        if old:
            superseded.append((recorded, position, entity, on))
        segments: list[Segment] = [(h, f, on, 1 if holder is None else 0) for h, f, _t, _term in old if f < on]
        if holder is not None:
            segments.extend(succession(cur, holder, on, None, 0))
        rows.extend((entity, h, f, t, term, recorded, position) for h, f, t, term in segments if t is None or t > f)
    cur.update_rows(
        f"UPDATE {table} SET superseded_at = v.recorded, superseded_pos = v.by_position {{rows}}"
        " WHERE entity_id = v.entity AND superseded_at IS NULL AND (valid_to IS NULL OR valid_to > v.on_day)",
        SUPERSEDED,
        superseded,
    )
    cur.insert_rows(table, SPAN_COLUMNS, rows)


def distinct_runs(items: list, key: Callable[[Any], str]) -> Iterator[list]:
    """Split ``items`` (in order) into consecutive runs in which no key appears twice."""
    run: list = []
    seen: set[str] = set()
    for item in items:
        if key(item) in seen:
            yield run
            run, seen = [], set()
        run.append(item)
        seen.add(key(item))
    if run:
        yield run


def move_holder(
    cur: ViewCursor,
    table: str,
    old_holder: str,
    new_holder: str,
    on: int,
    recorded: int,
    position: int,
    succession: Succession = direct,
) -> int:
    """Everything under ``old_holder`` from ``on`` moves to ``new_holder``; returns how many rows moved."""
    where = "holder_id = ? AND superseded_at IS NULL AND (valid_to IS NULL OR valid_to > ?)"
    rows = cur.execute(
        f"SELECT entity_id, valid_from, valid_to, terminal FROM {table} WHERE {where}", (old_holder, on)
    ).fetchall()
    if not rows:
        return 0
    cur.execute(
        f"UPDATE {table} SET superseded_at = ?, superseded_pos = ? WHERE {where}", (recorded, position, old_holder, on)
    )
    moved: list[tuple[str, str, int, int | None, int, int, int]] = []  # as SPAN_COLUMNS
    for entity, f, t, term in rows:
        segments: list[Segment] = [(old_holder, f, on, 0)] if f < on else []
        segments.extend(succession(cur, new_holder, max(f, on), t, term))
        moved.extend(
            (entity, h, sf, st, sterm, recorded, position) for h, sf, st, sterm in segments if st is None or st > sf
        )
    cur.insert_rows(table, SPAN_COLUMNS, moved)
    return len(rows)
