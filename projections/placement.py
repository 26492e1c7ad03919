"""Where the register's entities stood on a day, read from the placement spans of the views.

A scoped principal reaches what lies under its scope unit on the date a question or command is
about. Units hang under units, workplaces and unions under units, members in unions, each through
spans that the structure and membership views keep (closures already followed), so "under" on a
day is a walk up those spans. A day outside an entity's life is taken as its nearest day in it: a
union dissolved in 2024 is where it was on its last day, a union asked about before its founding
where it was founded.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

from projections.base import Transaction

ALWAYS = (0, 10**8)  # every day (days are ordinals; 10**8 lies far beyond any date)
Window = tuple[int, int]  # from a day (included) to a day (excluded)
Span = tuple[str, int, int]  # holder, from, to (excluded; ALWAYS[1] while it lasts)

UNITS_LISTED = 1000  # above this many units under a scope unit, every union's spans are read

SPAN_TABLE = {"unit": "unit_spans", "workplace": "workplace_spans", "union": "union_spans", "member": "member_spans"}


def holder_on(spans: list[Span], on: int) -> tuple[str | None, int]:
    """The holder on day ``on`` (or on the nearest day of the entity's life) and that day; no
    holder for an entity never placed."""
    if not spans:
        return None, on
    on = max(spans[0][1], min(on, spans[-1][2] - 1))
    for holder, start, end in spans:
        if start <= on < end:
            return holder, on
    return spans[-1][0], on  # a gap in the entity's life: where it was last


class UnitsUnder:
    """The days each unit lay under one unit (the unit itself: always), from every unit's placements."""

    def __init__(self, top: str, unit_spans: dict[str, list[Span]]):
        self.top = top
        self._spans = unit_spans
        self._windows: dict[str, list[Window]] = {top: [ALWAYS]}

    def windows(self, unit: str) -> list[Window]:
        found = self._windows.get(unit)
        if found is None:
            self._windows[unit] = []  # a cycle (which the register refuses) ends here
            found = [
                (max(start, a), min(end, b))
                for holder, start, end in self._spans.get(unit, [])
                for a, b in self.windows(holder)
                if max(start, a) < min(end, b)
            ]
            self._windows[unit] = found
        return found

    def holds(self, unit: str, on: int) -> bool:
        """Whether ``unit`` lay under the top unit on day ``on`` (or its nearest day placed)."""
        if unit == self.top:
            return True
        spans = self._spans.get(unit, [])
        if spans:
            on = max(spans[0][1], min(on, spans[-1][2] - 1))
        return any(a <= on < b for a, b in self.windows(unit))

    def ever(self) -> set[str]:
        """Every unit that lay under the top unit on some day."""
        return {unit for unit in self._spans if self.windows(unit)} | {self.top}


class UnionsUnder:
    """Whether a union lay under one unit on a day, from the spans of every union that ever did
    (a union not among them never did): one look-up per question, no read."""

    def __init__(self, units: UnitsUnder, union_spans: dict[str, list[Span]]):
        self.units = units
        self._spans = union_spans

    def holds(self, union: str, on: int) -> bool:
        spans = self._spans.get(union)
        if not spans:
            return False
        holder, on = holder_on(spans, on)
        return holder is not None and self.units.holds(holder, on)


class Placements:
    """Reads of the placement spans, each entity's current spans in day order."""

    def __init__(self, transaction: Transaction):
        self.transaction = transaction

    def units_under(self, top: str) -> UnitsUnder:
        return UnitsUnder(top, self.unit_spans())

    def unit_spans(self) -> dict[str, list[Span]]:
        """Every unit's current spans."""
        with self.transaction() as cur:
            rows = cur.execute(
                "SELECT entity_id, holder_id, valid_from, valid_to FROM unit_spans WHERE superseded_at IS NULL"
                " ORDER BY entity_id, valid_from"
            ).fetchall()
        return _grouped(rows)

    def spans_once_under(self, kind: str, holders: Iterable[str] | None) -> dict[str, list[Span]]:
        """Every current span of each workplace or union that any of ``holders`` ever held (every
        one's, for None): what a scope needs of them, read at once."""
        table = SPAN_TABLE[kind]
        select = f"SELECT entity_id, holder_id, valid_from, valid_to FROM {table} WHERE superseded_at IS NULL"
        with self.transaction() as cur:
            if holders is None:
                rows = cur.execute(select).fetchall()
            else:
                wanted = sorted(set(holders))
                inner = f"SELECT entity_id FROM {table} WHERE superseded_at IS NULL AND holder_id IN ({{ids}})"
                rows = cur.rows_for(f"{select} AND entity_id IN ({inner})", wanted) if wanted else []
        rows = sorted(set(map(tuple, rows)), key=lambda row: (row[0], row[2]))  # SQLite's chunks may repeat rows
        return _grouped(rows)

    def spans(self, kind: str, ids: Iterable[str]) -> dict[str, list[Span]]:
        """The current spans of the workplaces, unions or members named (none for one never placed)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        table = SPAN_TABLE[kind]
        with self.transaction() as cur:
            rows = cur.rows_for(
                f"SELECT entity_id, holder_id, valid_from, valid_to FROM {table}"
                " WHERE superseded_at IS NULL AND entity_id IN ({ids})",
                wanted,
            )
        rows.sort(key=lambda row: (row[0], row[2]))
        return _grouped(rows)


def _grouped(rows: list[tuple]) -> dict[str, list[Span]]:
    spans: dict[str, list[Span]] = defaultdict(list)
    for entity, holder, start, end in rows:
        if end is not None and end <= start:
            continue  # a span that ended the day it began held nothing
        spans[entity].append((holder, start, ALWAYS[1] if end is None else end))
    return dict(spans)


# The last ledger position that changed the units' or the unions' current spans: a row is only
# ever added (at its event's position) or superseded (at the superseding event's position).
PLACEMENTS_VERSION = (
    "SELECT max(v) FROM (SELECT coalesce(max(position), 0) AS v FROM unit_spans"
    " UNION ALL SELECT coalesce(max(superseded_pos), 0) FROM unit_spans"
    " UNION ALL SELECT coalesce(max(position), 0) FROM union_spans"
    " UNION ALL SELECT coalesce(max(superseded_pos), 0) FROM union_spans) positions"
)


class KnownPlacements:
    """The units' and the unions' current spans as this process last read them, with the version
    (``PLACEMENTS_VERSION``) they were read at, kept between use cases: a scoped principal's
    checks read them once, not every unit's spans at each request. Whoever uses them says which
    version is current (``renew``): a read asks the store (one small statement), a command's check
    under the tenant lock reads it with the ledger's end. What was read after the version was
    read may be newer than it, never older: a version seen unchanged means nothing changed."""

    def __init__(self, transaction: Transaction):
        self.transaction = transaction
        self._placements = Placements(transaction)
        self._lock = threading.Lock()
        self.version: int | None = None
        self._units: dict[str, list[Span]] | None = None
        self._under: dict[str, UnitsUnder] = {}
        self._unions_under: dict[str, UnionsUnder] = {}

    def read_version(self) -> int:
        with self.transaction() as cur:
            return cur.scalar(PLACEMENTS_VERSION) or 0

    def renew(self, version: int | None = None) -> int:
        """Forget what was read if the placements changed since (``version``: the current one,
        read now if not given); returns the current version."""
        version = self.read_version() if version is None else version
        with self._lock:
            if version != self.version:
                self.version, self._units, self._under, self._unions_under = version, None, {}, {}
        return version

    def known_version(self) -> int:
        """The version what is kept was read at (read first if none is)."""
        return self.version if self.version is not None else self.renew()

    def units_under(self, top: str, version: int) -> UnitsUnder:
        with self._lock:
            under = self._under.get(top) if version == self.version else None
            units = self._units if version == self.version else None
        if under is not None:
            return under
        if units is None:
            units = self._placements.unit_spans()
        under = UnitsUnder(top, units)
        under.ever()  # every unit's windows worked out before it is shared between threads
        with self._lock:
            if version == self.version:
                self._units = units
                self._under[top] = under
        return under

    def unions_under(self, top: str, version: int) -> UnionsUnder:
        """The unions under ``top`` as of ``version``: the spans of every union that ever lay under
        it, read in one statement the first time a scope of ``top`` asks at this version."""
        with self._lock:
            found = self._unions_under.get(top) if version == self.version else None
        if found is not None:
            return found
        units = self.units_under(top, version)
        ever = units.ever()
        # A scope of a unit holding most of the tenant reads every union's spans (no list of ids).
        holders = None if len(ever) > UNITS_LISTED else ever
        found = UnionsUnder(units, self._placements.spans_once_under("union", holders))
        with self._lock:
            if version == self.version:
                self._unions_under[top] = found
        return found
