"""Indicator figures from the views, for any unit, period, ``as_of`` and ``known_at``.

Unit scoping follows the structure as it stood on the day that matters: a stock
counts what was under the unit (or its child units) on ``as_of``; a flow counts
an event under the unit that held the union on the event's date. The counting runs
over the tenant's in-memory columns of the views (``projections.columns``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

from domain.indicators import Indicator, percentage
from domain.periods import Period
from projections.base import FOREVER, Transaction, ViewCursor, day
from projections.columns import OPEN, RegisterColumns, Snapshot
from projections.membership import ADMITTED, LEFT

NEVER = 0
ALWAYS = 10**7  # past date.max.toordinal()


@dataclass(frozen=True)
class Question:
    period: Period
    unit_id: str | None
    as_of: date
    known_at: int | None  # microseconds since the epoch; None: everything recorded so far
    union_id: str | None = None  # one grassroots union's own figures (its form, 1-HĐCĐ); None: every union

    @property
    def k(self) -> int:
        return FOREVER if self.known_at is None else self.known_at

    @property
    def flow_days(self) -> tuple[int, int]:
        """First and last day a flow counts: the period's days up to ``as_of``."""
        return day(self.period.start), day(min(self.period.end, self.as_of))


class UnitScope:
    """When each unit was under a given unit (itself included), as known at K."""

    def __init__(self, root: str, placements: Iterable[tuple[str, str, int, int | None]]):
        parents: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for child, parent, start, end in placements:
            parents[child].append((parent, start, ALWAYS if end is None else end))
        self.intervals: dict[str, list[tuple[int, int]]] = {root: [(NEVER, ALWAYS)]}
        for unit in parents:
            self._resolve(unit, parents, set())

    @classmethod
    def read(cls, cur: ViewCursor, root: str, k: int) -> UnitScope:
        return cls(
            root,
            cur.execute(
                "SELECT entity_id, holder_id, valid_from, valid_to FROM unit_spans"
                " WHERE recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)",
                (k, k),
            ).fetchall(),
        )

    def _resolve(self, unit: str, parents: dict, visiting: set) -> list[tuple[int, int]]:
        if unit in self.intervals:
            return self.intervals[unit]
        if unit in visiting:
            return []
        visiting.add(unit)
        out = []
        for parent, start, end in parents.get(unit, ()):
            for p_start, p_end in self._resolve(parent, parents, visiting):
                lo, hi = max(start, p_start), min(end, p_end)
                if lo < hi:
                    out.append((lo, hi))
        self.intervals[unit] = out
        return out

    def covers(self, unit: str, on: int) -> bool:
        return any(a <= on < b for a, b in self.intervals.get(unit, ()))

    def units_on(self, on: int) -> list[str]:
        return [u for u, spans in self.intervals.items() if any(a <= on < b for a, b in spans)]

    def rows(self) -> list[tuple[str, int, int]]:
        return [(u, a, b) for u, spans in self.intervals.items() for a, b in spans]


class IndicatorCalculator:
    """Answers indicator questions with vectorised counts over the views' columns."""

    def __init__(self, transaction: Transaction, columns: RegisterColumns | None = None):
        self.transaction = transaction
        self.columns = columns or RegisterColumns()

    def warm(self) -> None:
        """Read the columns now, so that the first question does not wait for them."""
        with self.transaction(snapshot=True) as cur:
            self.columns.snapshot(cur)

    def figures(self, indicators: Iterable[Indicator], q: Question) -> dict[str, float | int]:
        with self.transaction(snapshot=True) as cur:
            snap = self.columns.snapshot(cur)
        return _Answer(snap, q).figures(indicators)


class _Answer:
    """One question over one snapshot; shared intermediate counts are worked out once."""

    def __init__(self, snap: Snapshot, q: Question):
        self.snap, self.q = snap, q
        self.k, self.d = q.k, day(q.as_of)
        self.scope = None
        if q.unit_id is not None:
            known = [
                (c, p, f, t)
                for c, p, f, t, r, s in snap.structure.unit_rows
                if r <= self.k and (s is None or s > self.k)
            ]
            self.scope = UnitScope(q.unit_id, known)
        # a union asked alone: its code (-1, matching nothing, for one the columns do not hold)
        self.union = None if q.union_id is None else snap.unions.index.get(q.union_id, -1)
        self._cache: dict = {}

    def figures(self, indicators: Iterable[Indicator]) -> dict[str, float | int]:
        return {i.code: self._one(i) for i in indicators}

    def _once(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _one(self, ind: Indicator) -> float | int:
        base = ind.base
        if base == "members_total":
            return self._members_total()
        if base == "unions_total":
            return int(np.count_nonzero(self._unions_here()))
        if base in ("members_admitted", "members_left", "members_net_growth"):
            admitted = self._once("admitted", lambda: self._member_flow(ADMITTED))
            left = self._once("left", lambda: self._member_flow(LEFT))
            return {"members_admitted": admitted, "members_left": left, "members_net_growth": admitted - left}[base]
        if base == "unions_founded":
            return self._once("founded", lambda: self._flow(*self.snap.structure.founded))
        if base == "unions_dissolved":
            return self._once("dissolved", lambda: self._flow(*self.snap.structure.dissolved))
        eligible, covered, members, workers = self._once(
            ("wp", ind.min_workers), lambda: self._workplaces(ind.min_workers)
        )
        if base == "workplaces_eligible":
            return eligible
        if base == "workplaces_covered":
            return covered
        if base == "coverage_pct":
            return percentage(covered, eligible)
        return percentage(members, workers)  # member_worker_ratio_pct

    # ---- what the stocks share ------------------------------------------------
    def _in_scope_units(self) -> np.ndarray | None:
        """By unit code: under the asked unit on ``as_of``; None for the whole tenant."""
        if self.scope is None:
            return None

        def compute():
            units = self.snap.units
            flags = np.zeros(len(units) + 1, bool)
            flags[[units.index[u] for u in self.scope.units_on(self.d) if u in units.index]] = True
            return flags

        return self._once("scope", compute)

    def _members_by_union(self) -> np.ndarray:
        def compute():
            s = self.snap
            here = (s.at <= self.k) & (s.valid_from <= self.d) & (s.valid_to > self.d)
            return np.bincount(s.holder[here], weights=s.sign[here], minlength=len(s.unions) + 1)

        return self._once("members", compute)

    def _unions_visible(self) -> np.ndarray:
        return self._once("unions", lambda: self.snap.structure.union_spans.visible(self.k, self.d))

    def _unions_here(self) -> np.ndarray:
        """Mask over union spans: visible on ``as_of`` and under the asked unit."""
        visible, units = self._unions_visible(), self._in_scope_units()
        if self.union is not None:
            visible = visible & (self.snap.structure.union_spans.entity == self.union)
        return visible if units is None else visible & units[self.snap.structure.union_spans.holder]

    # ---- stocks ------------------------------------------------------------
    def _members_total(self) -> int:
        counts = self._members_by_union()
        if self.scope is None and self.union is None:
            return int(round(counts.sum()))
        unions = self.snap.structure.union_spans.entity[self._unions_here()]
        return int(round(counts[unions].sum()))

    def _workplaces(self, min_workers: int) -> tuple[int, int, int, int]:
        """(eligible, covered, members in covered, workers in covered) for threshold N."""
        workers_of, members_of, unionised = self._once("wp", self._workplace_columns)
        eligible = workers_of >= min_workers
        covered = eligible & unionised
        return (
            int(np.count_nonzero(eligible)),
            int(np.count_nonzero(covered)),
            int(round(members_of[covered].sum())),
            int(workers_of[covered].sum()),
        )

    def _workplace_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each workplace on ``as_of`` under the asked unit with a survey: its workers, the
        members of its unions, and whether it has a union (anywhere)."""
        st, k, d = self.snap.structure, self.k, self.d
        spans = st.workplace_spans
        here = spans.visible(k, d)
        if self.union is not None:  # the union's own workplace
            held = 0 <= self.union < len(st.union_workplace)
            here &= spans.entity == (st.union_workplace[self.union] if held else -1)
        units = self._in_scope_units()
        if units is not None:
            here &= units[spans.holder]
        places = np.unique(spans.entity[here])
        size = len(self.snap.workplaces) + 1
        # the latest survey on or before as_of, as known at K (later as_of first, then later position)
        s_wp, s_as_of, s_workers, s_at, s_pos = st.surveys
        known = np.flatnonzero((s_as_of <= d) & (s_at <= k))
        order = known[np.lexsort((s_pos[known], s_as_of[known], s_wp[known]))]
        last = np.ones(len(order), bool)
        last[:-1] = s_wp[order][1:] != s_wp[order][:-1]
        latest = np.full(size, -1, np.int64)
        latest[s_wp[order][last]] = s_workers[order][last]
        workers = latest[places]
        surveyed = workers >= 0
        places, workers = places[surveyed], workers[surveyed]
        # unions open on as_of, wherever they are placed, and their members
        unions = st.union_spans.entity[self._unions_visible()]
        union_places = st.union_workplace[unions] if len(st.union_workplace) else np.zeros(0, np.int64)
        placed = union_places >= 0
        counts = self._members_by_union()
        members = np.bincount(union_places[placed], weights=counts[unions[placed]], minlength=size)
        has_union = np.zeros(size, bool)
        has_union[union_places[placed]] = True
        return workers, members[places], has_union[places]

    # ---- flows -------------------------------------------------------------
    def _member_flow(self, kind: int) -> int:
        s = self.snap
        of_kind = s.flow_kind == kind
        return self._flow(s.flow_union[of_kind], s.flow_day[of_kind], s.flow_at[of_kind])

    def _flow(self, unions: np.ndarray, days: np.ndarray, at: np.ndarray) -> int:
        """Events on the period's days up to as_of, known at K, under the asked unit on their day
        (a union counts under the unit that held it on the event's date, its end day included)."""
        first, last = self.q.flow_days
        if first > last:
            return 0
        chosen = (days >= first) & (days <= last) & (at <= self.k)
        if self.union is not None:
            chosen &= unions == self.union
        if self.scope is None:
            return int(np.count_nonzero(chosen))
        unions, days = unions[chosen], days[chosen]
        total = 0
        for lo, hi in self._union_windows(first, last):
            total += int(np.count_nonzero((days >= lo[unions]) & (days < hi[unions])))
        return total

    def _union_windows(self, first: int, last: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per union code, the days in [first, last] on which the asked unit held it, as slots
        of (from, to) arrays: a union with two separate stretches has two slots."""

        def compute():
            st, units = self.snap.structure, self.snap.units
            spans = st.union_spans
            known = np.flatnonzero(spans.known(self.k))
            holders = spans.holder[known]
            order = known[np.argsort(holders, kind="stable")]
            sorted_holders = spans.holder[order]
            pieces = []
            for unit, a, b in self.scope.rows():
                code = units.index.get(unit)
                if code is None:
                    continue
                lo_i, hi_i = np.searchsorted(sorted_holders, [code, code + 1])
                rows = order[lo_i:hi_i]
                ends = np.where(
                    spans.terminal[rows] & (spans.valid_to[rows] < OPEN), spans.valid_to[rows] + 1, spans.valid_to[rows]
                )
                lo = np.maximum(np.maximum(spans.valid_from[rows], a), first)
                hi = np.minimum(np.minimum(ends, b), last + 1)
                keep = lo < hi
                pieces.append((spans.entity[rows][keep], lo[keep], hi[keep]))
            return _slots(pieces, len(self.snap.unions) + 1)

        return self._once(("windows", first, last), compute)


def _slots(pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]], size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Spread each union's windows over slots: slot j holds every union's j-th window."""
    if not pieces:
        return []
    unions = np.concatenate([p[0] for p in pieces])
    lows = np.concatenate([p[1] for p in pieces])
    highs = np.concatenate([p[2] for p in pieces])
    order = np.lexsort((lows, unions))
    unions, lows, highs = unions[order], lows[order], highs[order]
    rank = np.zeros(len(unions), np.int64)
    if len(unions):
        starts = np.r_[True, unions[1:] != unions[:-1]]
        group_start = np.maximum.accumulate(np.where(starts, np.arange(len(unions)), 0))
        rank = np.arange(len(unions)) - group_start
    slots = []
    for j in range(int(rank.max()) + 1 if len(rank) else 0):
        at = rank == j
        lo, hi = np.zeros(size, np.int64), np.zeros(size, np.int64)
        lo[unions[at]], hi[unions[at]] = lows[at], highs[at]
        slots.append((lo, hi))
    return slots
