"""Indicator figures from the views, for any unit, period, ``as_of`` and ``known_at``.

Unit scoping follows the structure as it stood on the day that matters: a stock
counts what was under the unit (or its child units) on ``as_of``; a flow counts
an event under the unit that held the union on the event's date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from domain.indicators import Indicator, percentage
from domain.periods import Period
from projections.base import FOREVER, Transaction, ViewCursor, day
from projections.spans import holds_on, visible

NEVER = 0
ALWAYS = 10**7  # past date.max.toordinal()


@dataclass(frozen=True)
class Question:
    period: Period
    unit_id: str | None
    as_of: date
    known_at: int | None  # microseconds since the epoch; None: everything recorded so far

    @property
    def k(self) -> int:
        return FOREVER if self.known_at is None else self.known_at

    @property
    def flow_days(self) -> tuple[int, int]:
        """First and last day a flow counts: the period's days up to ``as_of``."""
        return day(self.period.start), day(min(self.period.end, self.as_of))


class UnitScope:
    """When each unit was under a given unit (itself included), as known at K."""

    def __init__(self, cur: ViewCursor, root: str, k: int):
        rows = cur.execute(
            "SELECT entity_id, holder_id, valid_from, valid_to FROM unit_spans"
            " WHERE recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)", (k, k)).fetchall()
        parents: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for child, parent, start, end in rows:
            parents[child].append((parent, start, ALWAYS if end is None else end))
        self.intervals: dict[str, list[tuple[int, int]]] = {root: [(NEVER, ALWAYS)]}
        for unit in parents:
            self._resolve(unit, parents, set())

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


def _in_list(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join('?' for _ in values)})"


class IndicatorCalculator:
    """Answers indicator questions with set-based SQL over the indexed views."""

    def __init__(self, transaction: Transaction):
        self.transaction = transaction

    def figures(self, indicators: Iterable[Indicator], q: Question) -> dict[str, float | int]:
        indicators = list(indicators)
        with self.transaction() as cur:
            scope = UnitScope(cur, q.unit_id, q.k) if q.unit_id else None
            cache: dict = {}
            return {i.code: self._one(cur, i, q, scope, cache) for i in indicators}

    def _one(self, cur, ind: Indicator, q: Question, scope, cache) -> float | int:
        base = ind.base
        if base == "members_total":
            return self._members_total(cur, q, scope)
        if base == "unions_total":
            return self._unions_total(cur, q, scope)
        if base in ("members_admitted", "members_left", "members_net_growth"):
            admitted = cache.get("adm")
            if admitted is None:
                admitted = cache["adm"] = self._member_flow(cur, q, scope, "admitted")
            left = cache.get("left")
            if left is None:
                left = cache["left"] = self._member_flow(cur, q, scope, "left")
            return {"members_admitted": admitted, "members_left": left,
                    "members_net_growth": admitted - left}[base]
        if base in ("unions_founded", "unions_dissolved"):
            return self._union_flow(cur, q, scope, "founded" if base == "unions_founded" else "dissolved")
        key = ("wp", ind.min_workers)
        if key not in cache:
            cache[key] = self._workplaces(cur, q, scope, ind.min_workers, cache)
        eligible, covered, members, workers = cache[key]
        if base == "workplaces_eligible":
            return eligible
        if base == "workplaces_covered":
            return covered
        if base == "coverage_pct":
            return percentage(covered, eligible)
        return percentage(members, workers)  # member_worker_ratio_pct

    # ---- stocks ------------------------------------------------------------
    def _members_total(self, cur, q: Question, scope) -> int:
        k, d = q.k, day(q.as_of)
        if scope is None:
            return cur.scalar(f"SELECT COUNT(*) FROM member_spans m WHERE {visible('m')}", (k, k, d, d))
        units = scope.units_on(d)
        return cur.scalar(
            f"SELECT COUNT(*) FROM member_spans m JOIN union_spans u ON u.entity_id = m.holder_id"
            f" AND {visible('u')} WHERE {visible('m')} AND {_in_list('u.holder_id', units)}",
            (k, k, d, d, k, k, d, d, *units))

    def _unions_total(self, cur, q: Question, scope) -> int:
        k, d = q.k, day(q.as_of)
        sql, params = f"SELECT COUNT(*) FROM union_spans u WHERE {visible('u')}", [k, k, d, d]
        if scope is not None:
            units = scope.units_on(d)
            sql += " AND " + _in_list("u.holder_id", units)
            params += units
        return cur.scalar(sql, params)

    def _workplaces(self, cur, q: Question, scope, min_workers: int, cache) -> tuple[int, int, int, int]:
        """(eligible, covered, members in covered, workers in covered) for threshold N."""
        k, d = q.k, day(q.as_of)
        if "wp_rows" not in cache:
            sql = (
                "SELECT w.entity_id, (SELECT s.workers FROM surveys s WHERE s.workplace_id = w.entity_id"
                " AND s.as_of <= ? AND s.recorded_at <= ? ORDER BY s.as_of DESC, s.position DESC LIMIT 1)"
                f" FROM workplace_spans w WHERE {visible('w')}"
            )
            params = [d, k, k, k, d, d]
            if scope is not None:
                units = scope.units_on(d)
                sql += " AND " + _in_list("w.holder_id", units)
                params += units
            cache["wp_rows"] = {wid: workers for wid, workers in cur.execute(sql, params).fetchall()
                                if workers is not None}
            cache["wp_unionised"] = dict(cur.execute(
                "SELECT us.workplace_id, COUNT(m.entity_id) FROM union_spans u"
                " JOIN union_state us ON us.union_id = u.entity_id"
                f" LEFT JOIN member_spans m ON m.holder_id = u.entity_id AND {visible('m')}"
                f" WHERE {visible('u')} GROUP BY us.workplace_id",
                (k, k, d, d, k, k, d, d)).fetchall())
        workers_by_wp, unionised = cache["wp_rows"], cache["wp_unionised"]
        eligible = [w for w, n in workers_by_wp.items() if n >= min_workers]
        covered = [w for w in eligible if w in unionised]
        return (len(eligible), len(covered), sum(unionised[w] for w in covered),
                sum(workers_by_wp[w] for w in covered))

    # ---- flows -------------------------------------------------------------
    def _flow(self, cur, q: Question, scope, table: str, union_col: str, day_col: str, at_col: str) -> int:
        first, last = q.flow_days
        if first > last:
            return 0
        k = q.k
        where = f"x.{day_col} >= ? AND x.{day_col} <= ? AND x.{at_col} <= ?"
        if scope is None:
            return cur.scalar(f"SELECT COUNT(*) FROM {table} x WHERE {where}", (first, last, k))
        rows = scope.rows()
        values = ", ".join("(?, ?, ?)" for _ in rows)
        return cur.scalar(
            f"WITH scope (unit_id, s_from, s_to) AS (VALUES {values})"
            f" SELECT COUNT(*) FROM {table} x"
            f" JOIN union_spans u ON u.entity_id = x.{union_col} AND {holds_on('u', 'x.' + day_col)}"
            f" JOIN scope s ON s.unit_id = u.holder_id AND s.s_from <= x.{day_col} AND s.s_to > x.{day_col}"
            f" WHERE {where}",
            (*[v for row in rows for v in row], k, k, first, last, k))

    def _member_flow(self, cur, q: Question, scope, kind: str) -> int:
        return self._flow(cur, q, scope, "member_state", f"{kind}_union_id", f"{kind}_on", f"{kind}_at")

    def _union_flow(self, cur, q: Question, scope, kind: str) -> int:
        return self._flow(cur, q, scope, "union_state", "union_id", f"{kind}_on", f"{kind}_at")
