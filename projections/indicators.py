"""Indicator figures from the views, for any unit, period, ``as_of`` and ``known_at``.

Unit scoping follows the structure as it stood on the day that matters: a stock
counts what was under the unit (or its child units) on ``as_of``; a flow counts
an event under the unit that held the union on the event's date. The counting runs
over the tenant's in-memory columns of the views (``projections.columns``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from domain.clock import vietnam_today
from domain.indicators import (
    BASE_CODES,
    COMMITTEE_GROUPS,
    COMMITTEE_MIN_WOMEN,
    GENDER_GROUPS,
    GENDER_NAMES,
    NOT_BY,
    SECTOR_GROUPS,
    SECTOR_NAMES,
    THRESHOLDED,
    Indicator,
    parse_indicator,
    percentage,
)
from domain.periods import Period
from domain.workplaces import SECTORS
from projections.base import FOREVER, Transaction, ViewCursor, day
from projections.columns import NEVER as NEVER_KNOWN
from projections.columns import NO_DAY, OPEN, RegisterColumns, Snapshot, StructureColumns
from projections.day_index import UnionDays
from projections.membership import ADMITTED, LEFT, TRANSFERRED_IN, TRANSFERRED_OUT
from projections.monthly import flow_counts, flows_between, flows_by_day, month_ends, monthly

NEVER = 0
ALWAYS = 10**7  # past date.max.toordinal()
# The plans' percentages, each worked out from its numerator and denominator (``_Answer.parts``).
PLAN_PARTS = (
    "unions_rated_good_pct",
    "cla_coverage_pct",
    "womens_committee_pct",
    "members_with_card_pct",
    "dues_collected_pct",
    "officials_trained_pct",
    "workers_conference_pct",
)
# What an answer works out from the snapshot and K alone, the same for every step of a series.
SAME_EVERY_STEP = (
    ("latest", "dues_collected_pct"),
    ("latest", "officials_trained_pct"),
    "ratings_known",
    "committee_sectors",
    "lives",
)


def same_every_step(key: object) -> bool:
    """Whether an answer's cached count is the same for every step of a series: what depends on K
    alone, and the days the asked unit held each union over a window (the window is in the key)."""
    return key in SAME_EVERY_STEP or (isinstance(key, tuple) and key[0] == "windows")


# The records summed for a percentage of records: (numerator, denominator) columns.
RECORD_PARTS = {"dues_collected_pct": ("collected", "due"), "officials_trained_pct": ("trained", "officials")}

# The members' flows: each code's cache key and kind in member_flows; the net growth is made of all four.
FLOW_KINDS = {
    "members_admitted": ("admitted", ADMITTED),
    "members_left": ("left", LEFT),
    "members_transferred_in": ("moved_in", TRANSFERRED_IN),
    "members_transferred_out": ("moved_out", TRANSFERRED_OUT),
}
MEMBER_FLOWS = (*FLOW_KINDS, "members_net_growth")


def member_flow(base: str, flow: Callable[[str, int], Any]) -> Any:
    """A members' flow (a count, or counts by group or by step) from ``flow(key, kind)``: the net
    growth is admitted + transferred in - left - transferred out (a move between provinces counts
    in neither's admissions nor departures)."""
    if base != "members_net_growth":
        return flow(*FLOW_KINDS[base])
    admitted, left, moved_in, moved_out = (flow(*FLOW_KINDS[code]) for code in FLOW_KINDS)
    return admitted + moved_in - left - moved_out


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
    """When each unit was under a given unit (itself included), as known at K, and through which
    unit directly under it (its branch: the unit itself for the root)."""

    def __init__(self, root: str, placements: Iterable[tuple[str, str, int, int | None]]):
        parents: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for child, parent, start, end in placements:
            parents[child].append((parent, start, ALWAYS if end is None else end))
        self.root = root
        self.branches: dict[str, list[tuple[int, int, str]]] = {root: [(NEVER, ALWAYS, root)]}
        for unit in parents:
            self._resolve(unit, parents, set())
        self.intervals = {u: [(a, b) for a, b, _ in spans] for u, spans in self.branches.items()}

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

    def _resolve(self, unit: str, parents: dict, visiting: set) -> list[tuple[int, int, str]]:
        if unit in self.branches:
            return self.branches[unit]
        if unit in visiting:
            return []
        visiting.add(unit)
        out = []
        for parent, start, end in parents.get(unit, ()):
            for p_start, p_end, p_branch in self._resolve(parent, parents, visiting):
                lo, hi = max(start, p_start), min(end, p_end)
                if lo < hi:
                    out.append((lo, hi, unit if parent == self.root else p_branch))
        self.branches[unit] = out
        return out

    def covers(self, unit: str, on: int) -> bool:
        return any(a <= on < b for a, b in self.intervals.get(unit, ()))

    def branch_on(self, unit: str, on: int) -> str | None:
        """The unit directly under the root (or the root) through which ``unit`` lay under it that day."""
        return next((br for a, b, br in self.branches.get(unit, ()) if a <= on < b), None)

    def units_on(self, on: int) -> list[str]:
        return [u for u, spans in self.intervals.items() if any(a <= on < b for a, b in spans)]

    def rows(self) -> list[tuple[str, int, int]]:
        return [(u, a, b) for u, spans in self.intervals.items() for a, b in spans]

    def branch_rows(self) -> list[tuple[str, int, int, str]]:
        return [(u, a, b, br) for u, spans in self.branches.items() for a, b, br in spans]


TOP = ""  # the root of a breakdown by unit of the whole tenant: above every top-level unit (no id is empty)


@dataclass
class Group:
    """One group of a breakdown: its key, its name and its figures (None where it does not apply)."""

    key: str
    name: str
    figures: dict[str, float | int | None]


class IndicatorCalculator:
    """Answers indicator questions with vectorised counts over the views' columns."""

    def __init__(self, transaction: Transaction, columns: RegisterColumns | None = None):
        self.transaction = transaction
        self.columns = columns or RegisterColumns()

    def warm(self) -> None:
        """Read the columns now, and build what every question at their position counts with
        (the records, card holders and flows by union and day; a whole-tenant series' month-end
        tables and ordered plan records), so that the first question does not wait for them."""
        with self.transaction(snapshot=True) as cur:
            snap = self.columns.snapshot(cur)
        snap.carded_index()  # the records' index with it
        for _key, kind in FLOW_KINDS.values():
            snap.flow_index(kind)
        # one step of every code builds what the snapshot keeps for them; the figures are dropped
        on = vietnam_today()
        month = Period(f"{on:%Y-%m}", on.replace(day=1), on)
        _Series(snap, [Question(month, None, on, None)], None).figures([parse_indicator(c) for c in BASE_CODES])

    def figures(self, indicators: Iterable[Indicator], q: Question) -> dict[str, float | int]:
        with self.transaction(snapshot=True) as cur:
            snap = self.columns.snapshot(cur)
        return _Answer(snap, q).figures(indicators)

    def figures_of(
        self, indicators: Sequence[Indicator], questions: Sequence[Question]
    ) -> list[dict[str, float | int]]:
        """The figures of several questions over one snapshot (a verification's register at
        submission and now): the columns brought up to date once, and both answered at one position."""
        with self.transaction(snapshot=True) as cur:
            snap = self.columns.snapshot(cur)
        answered: dict[tuple, dict[str, float | int]] = {}
        out = []
        for q in questions:
            answer = _Answer(snap, q)
            # a report submitted after every row the snapshot holds: the same question twice
            key = (q.period, q.unit_id, q.union_id, q.as_of, answer.k)
            if key not in answered:
                answered[key] = answer.figures(indicators)
            out.append(dict(answered[key]))
        return out

    def breakdown(
        self, indicators: Sequence[Indicator], q: Question, by: str
    ) -> tuple[dict[str, float | int], list[Group]]:
        """The figures, and the same figures for each group of ``by`` (unit, union, sector, gender):
        every group counted in the same passes as the total, one grouped count per figure."""
        with self.transaction(snapshot=True) as cur:
            snap = self.columns.snapshot(cur)
            units = cur.execute(
                "SELECT unit_id, name, established_on, closed_on, created_at FROM unit_state"
            ).fetchall()
            answer = _Answer(snap, q)
            if q.known_at is None:
                answer.seed(monthly_members(snap, answer.d, {i.base for i in indicators}))
                if q.unit_id is None and q.union_id is None:
                    answer.seed(whole_tenant_flows(snap, q))
            grouping = _Grouping(answer, by, units)
            if q.unit_id is None and q.union_id is None:
                answer.seed(grouping.record_parts(indicators))
            totals = answer.figures(indicators)
            groups = grouping.groups(indicators)
            if by == "union":
                names = dict(
                    cur.rows_for(
                        "SELECT union_id, name FROM union_state WHERE union_id IN ({ids})", [g.key for g in groups]
                    )
                )
                for g in groups:
                    g.name = names.get(g.key, g.key)
        return totals, groups

    def series(self, indicators: Sequence[Indicator], questions: Sequence[Question]) -> list[dict[str, float | int]]:
        """The figures of each question, for consecutive steps of one period (``as_of`` ascending,
        each flow over its question's own days): the members' spans and the flows are counted for
        every step in one pass each, the rest (thousands of rows) step by step."""
        if not questions:
            return []
        with self.transaction(snapshot=True) as cur:
            snap = self.columns.snapshot(cur)
        first = _Answer(snap, questions[0])
        shared = _Series(snap, questions, first.scope)
        if first.scope is None and first.union is None:
            return shared.figures(indicators)
        bases = {i.base for i in indicators}
        thresholds = {i.min_workers for i in indicators if i.base in THRESHOLDED}
        out = []
        for n, q in enumerate(questions):
            answer = first if n == 0 else _Answer(snap, q, first.scope)
            if n:  # what depends on K alone, worked out by the first step
                answer.seed({key: value for key, value in first._cache.items() if same_every_step(key)})
            answer.seed(shared.point(n, bases, thresholds, indicators))
            out.append(answer.figures(indicators))
        return out

    def figures_and_parts(
        self, indicators: Iterable[Indicator], q: Question
    ) -> tuple[dict[str, float | int], dict[str, tuple[int, int]]]:
        """The figures, and for each percentage its numerator and denominator (from the same
        snapshot), so that percentages of several tenants can be recomputed from summed parts."""
        wanted = list(indicators)
        with self.transaction(snapshot=True) as cur:
            snap = self.columns.snapshot(cur)
        answer = _Answer(snap, q)
        return answer.figures(wanted), {i.code: answer.parts(i) for i in wanted if i.is_percentage}


def monthly_members(snap: Snapshot, on: int, bases: set[str]) -> dict:
    """The members (women, card holders) of each union code on day ``on``, every record known,
    from the month-end tables of the snapshot's position, in the keys ``_Answer`` keeps them
    under: what the bases asked need of them (none where the tables are not kept)."""
    wanted: list[tuple[object, str]] = [("members", "members")]
    if bases & {"members_female", "womens_committee_pct"}:
        wanted.append(("members_f", "women"))
    if "members_with_card_pct" in bases:
        wanted.append((("members", False, True), "carded"))
    out = {}
    for key, kind in wanted:
        table = monthly(snap, kind)
        if table is not None:
            out[key] = table.on(np.array([on]))[:, 0]
    return out


def whole_tenant_flows(snap: Snapshot, q: Question) -> dict:
    """The members' flows of the whole tenant over the question's days, every flow known, in the
    keys ``_Answer`` keeps them under: ranges of the flows in order of day."""
    first, last = q.flow_days
    out = {}
    for key, kind in FLOW_KINDS.values():
        out[key] = int(flow_counts(snap, kind, np.array([first]), np.array([last]))[0])
    return out


class _Answer:
    """One question over one snapshot; shared intermediate counts are worked out once."""

    def __init__(self, snap: Snapshot, q: Question, scope: UnitScope | None = None):
        self.snap, self.q = snap, q
        self.k, self.d = q.k, day(q.as_of)
        if self.k < FOREVER and self.k >= snap.once("last_recorded", lambda: last_recorded(snap)):
            self.k = FOREVER  # every row known at K: the register as known now
        self.scope = scope
        # the units and unions' placements known at K are those known now: what follows from them
        # alone (the asked unit's scope, its unions' windows) is kept for the view position
        self.settled = self.k >= snap.once("structure_settled", lambda: structure_settled(snap.structure))
        if q.unit_id is not None and scope is None:
            root = q.unit_id
            if self.settled:
                self.scope = snap.once(("unit_scope", root), lambda: UnitScope(root, self.known_units()))
            else:
                self.scope = UnitScope(root, self.known_units())
        # a union asked alone: its code (-1, matching nothing, for one the columns do not hold)
        self.union = None if q.union_id is None else snap.unions.index.get(q.union_id, -1)
        self._cache: dict = {}

    def known_units(self) -> list[tuple[str, str, int, int | None]]:
        """Which unit was placed under which, when, as known at K."""
        return [
            (c, p, f, t)
            for c, p, f, t, r, s in self.snap.structure.unit_rows
            if r <= self.k and (s is None or s > self.k)
        ]

    def seed(self, counts: dict) -> None:
        """Counts worked out elsewhere (a series counts its steps together)."""
        self._cache.update(counts)

    def figures(self, indicators: Iterable[Indicator]) -> dict[str, float | int]:
        return {i.code: self._one(i) for i in indicators}

    def parts(self, ind: Indicator) -> tuple[int, int]:
        """A percentage's numerator and denominator: ``_one`` gives ``percentage(*parts)``."""
        if ind.base in PLAN_PARTS:
            return self._once(("parts", ind.code), lambda: self._plan_parts(ind))
        eligible, covered, members, workers = self._once(
            ("wp", ind.min_workers), lambda: self._workplaces(ind.min_workers)
        )
        if ind.base == "coverage_pct":
            return covered, eligible
        if ind.base == "member_worker_ratio_pct":
            return members, workers
        raise ValueError(f"{ind.base} has no parts to sum")

    def _once(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _one(self, ind: Indicator) -> float | int:
        base = ind.base
        if base in PLAN_PARTS:
            return percentage(*self.parts(ind))
        if base == "members_total":
            return self._members_total()
        if base == "members_female":
            return self._members_total(female=True)
        if base == "unions_total":
            return int(np.count_nonzero(self._unions_here()))
        if base in MEMBER_FLOWS:
            return member_flow(base, lambda key, kind: self._once(key, lambda: self._member_flow(kind)))
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

    def _members_by_union(self, female: bool = False, carded: bool = False) -> np.ndarray:
        """Members (women only, with ``female``; holding a card issued by ``as_of``, with ``carded``)
        of each union code on ``as_of``, as known at K: from the snapshot's records by union and
        day (a binary search per union, and the records recorded after K counted directly)."""
        s = self.snap

        def compute():
            if carded:
                counts = self._once("indexed_carded", lambda: s.carded_index().known_counts(self.d, self.k))
            else:
                both = self._once("indexed_members", lambda: s.records_index().known_counts(self.d, self.k))
                counts = both[1] if female else both[0]
            return counts.astype(np.float64)

        return self._once(("members", female, carded) if carded else "members_f" if female else "members", compute)

    def _unions_visible(self) -> np.ndarray:
        return self._once("unions", lambda: self.snap.structure.union_spans.visible(self.k, self.d))

    def _unions_here(self) -> np.ndarray:
        """Mask over union spans: visible on ``as_of`` and under the asked unit."""

        def compute():
            visible, units = self._unions_visible(), self._in_scope_units()
            if self.union is not None:
                visible = visible & (self.snap.structure.union_spans.entity == self.union)
            return visible if units is None else visible & units[self.snap.structure.union_spans.holder]

        return self._once("here", compute)

    def _here_unions(self) -> np.ndarray:
        """The union codes of ``_unions_here``, worked out once per answer: several stocks and
        percentages of one step count over the same unions."""
        return self._once("here_unions", lambda: self.snap.structure.union_spans.entity[self._unions_here()])

    # ---- stocks ------------------------------------------------------------
    def _members_total(self, female: bool = False, carded: bool = False) -> int:
        counts = self._members_by_union(female, carded)
        if self.scope is None and self.union is None:
            return int(round(counts.sum()))
        unions = self._here_unions()
        return int(round(counts[unions].sum()))

    def _workplaces(self, min_workers: int) -> tuple[int, int, int, int]:
        """(eligible, covered, members in covered, workers in covered) for threshold N."""
        _places, _holders, workers_of, members_of, unionised = self._once("wp", self._workplace_columns)
        eligible = workers_of >= min_workers
        covered = eligible & unionised
        return (
            int(np.count_nonzero(eligible)),
            int(np.count_nonzero(covered)),
            int(round(members_of[covered].sum())),
            int(workers_of[covered].sum()),
        )

    def _workplace_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each workplace on ``as_of`` under the asked unit with a survey: its code, the unit
        holding it, its workers, the members of its unions, and whether it has a union (anywhere)."""
        st, k, d = self.snap.structure, self.k, self.d
        spans = st.workplace_spans
        here = spans.visible(k, d)
        if self.union is not None:  # the union's own workplace
            held = 0 <= self.union < len(st.union_workplace)
            here &= spans.entity == (st.union_workplace[self.union] if held else -1)
        units = self._in_scope_units()
        if units is not None:
            here &= units[spans.holder]
        size = len(self.snap.workplaces) + 1
        entity = spans.entity[here]
        holder_of = np.full(size, -1, np.int64)
        holder_of[entity] = spans.holder[here]
        present = np.zeros(size, bool)  # the workplaces here, in order of code (as np.unique gives them)
        present[entity] = True
        places = np.flatnonzero(present)
        # the latest survey on or before as_of, as known at K (surveys in order of workplace, then
        # as_of, then position, kept for the position: the last known of a workplace is its latest)
        s_wp, s_as_of, s_workers, s_at = self.snap.once(
            "surveys_in_order", lambda: tuple(column[st.survey_order] for column in st.surveys[:4])
        )
        taken = s_as_of <= d
        if k < FOREVER:
            taken &= s_at <= k
        order = np.flatnonzero(taken)
        wp = s_wp[order]
        last = np.ones(len(order), bool)
        last[:-1] = wp[1:] != wp[:-1]
        latest = np.full(size, -1, np.int64)
        latest[wp[last]] = s_workers[order[last]]
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
        return places, holder_of[places], workers, members[places], has_union[places]

    # ---- the plans' other indicators ----------------------------------------------------------
    def _plan_parts(self, ind: Indicator) -> tuple[int, int]:
        base = ind.base
        if base == "members_with_card_pct":
            return self._members_total(carded=True), self._members_total()
        if base in ("cla_coverage_pct", "workers_conference_pct"):
            places, _holders, workers, _members, unionised = self._once("wp", self._workplace_columns)
            covered = (workers >= ind.min_workers) & unionised
            marked = self._workplace_marks(base)[places]
            return int(np.count_nonzero(covered & marked)), int(np.count_nonzero(covered))
        if base in ("dues_collected_pct", "officials_trained_pct"):
            rows = self.record_rows(base, placed=True)
            done, whole = RECORD_PARTS[base]
            table = self.plan_table(base)
            return int(table[done][rows].sum()), int(table[whole][rows].sum())
        unions = self._here_unions()
        if base == "unions_rated_good_pct" and ("marks", base) not in self._cache:
            yes, of = self._ratings_of(unions)
        else:
            yes, of = self.union_marks(base)
        return int(np.count_nonzero(yes[unions])), int(np.count_nonzero(of[unions]))

    def plan_table(self, base: str) -> dict[str, np.ndarray]:
        return self.snap.plans.dues if base == "dues_collected_pct" else self.snap.plans.training

    def union_marks(self, base: str) -> tuple[np.ndarray, np.ndarray]:
        """By union code: (counted in the numerator, counted in the denominator) of a union code."""
        return self._once(
            ("marks", base), lambda: self._ratings() if base == "unions_rated_good_pct" else self._committees()
        )

    def _ratings(self) -> tuple[np.ndarray, np.ndarray]:
        """Rated good or excellent, and rated: each union's latest record (by ledger position) of its
        latest year rated up to the year of ``as_of``, decided on or before ``as_of``, known at K."""
        r, size = self.snap.plans.ratings, len(self.snap.unions) + 1
        known = self._once("ratings_known", lambda: self._known_in_order(r, "ratings"))
        keep = known[(r["decided_on"][known] <= self.d) & (r["year"][known] <= self.q.as_of.year)]
        unions = r["union"][keep]
        last = np.ones(len(keep), bool)
        last[:-1] = unions[1:] != unions[:-1]  # in order of union, year, position: its latest
        rated, good = np.zeros(size, bool), np.zeros(size, bool)
        rated[unions[last]] = True
        good[unions[last]] = r["good"][keep][last] == 1
        return good, rated

    def _ratings_of(self, unions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``_ratings`` of ``unions`` alone (by union code; the others unmarked): over those unions'
        ratings only, where a unit or a union is asked, from the ratings by union kept per position."""
        s, size = self.snap, len(self.snap.unions) + 1
        r = s.once("ratings_by_union", lambda: ratings_by_union(s.plans.ratings, size))
        if self.scope is None and self.union is None:
            rows: slice | np.ndarray = slice(None)
        else:
            wanted = np.unique(unions)
            lo, hi = r["first"][wanted], r["first"][wanted + 1]
            n = hi - lo
            rows = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
        u, decided_on, year, at = r["union"][rows], r["decided_on"][rows], r["year"][rows], r["at"][rows]
        keep = np.flatnonzero((decided_on <= self.d) & (year <= self.q.as_of.year) & (at <= self.k))
        held = u[keep]
        last = np.ones(len(keep), bool)
        last[:-1] = held[1:] != held[:-1]  # in order of union, year, position: its latest
        rated, good = np.zeros(size, bool), np.zeros(size, bool)
        rated[held[last]] = True
        good[held[last]] = r["good"][rows][keep[last]] == 1
        return good, rated

    def _committees(self) -> tuple[np.ndarray, np.ndarray]:
        """With a women's committee on ``as_of``, among the unions the target is about: of non-state
        and FDI workplaces, with at least 10 women members on ``as_of``."""
        size = len(self.snap.unions) + 1
        women = np.zeros(size)
        counts = self._members_by_union(female=True)[:size]
        women[: len(counts)] = counts
        sectors = self._once(
            "committee_sectors", lambda: self.snap.once("committee_sectors", lambda: committee_sectors(self.snap))
        )
        about = sectors & (women >= COMMITTEE_MIN_WOMEN - 0.5)
        c = self.snap.plans.committees
        founded = (c["at"] <= self.k) & (c["on"] <= self.d)
        has = np.zeros(size, bool)
        has[c["union"][founded]] = True
        return about & has, about

    def _workplace_marks(self, base: str) -> np.ndarray:
        """By workplace code: an agreement in force on ``as_of`` (signed on or before it, expiring on
        or after it), or a workers' conference held in the year of ``as_of`` up to it; known at K."""

        def compute():
            plans, marks = self.snap.plans, np.zeros(len(self.snap.workplaces) + 1, bool)
            if base == "cla_coverage_pct":
                a = plans.agreements
                on = (a["at"] <= self.k) & (a["signed_on"] <= self.d) & (a["expires_on"] >= self.d)
                marks[a["workplace"][on]] = True
            else:
                c = plans.conferences
                first = day(date(self.q.as_of.year, 1, 1))
                held = (c["at"] <= self.k) & (c["on"] >= first) & (c["on"] <= self.d)
                marks[c["workplace"][held]] = True
            return marks

        return self._once(("wp_marks", base), compute)

    def record_rows(self, base: str, placed: bool) -> np.ndarray:
        """Rows of the dues (or training) records counted: known at K, each the latest known of its
        union and period (year), of a period within the period asked (of the year of ``as_of``), of
        the union asked alone if any; ``placed``: under the asked unit on their day (``record_days``)."""
        r = self.plan_table(base)
        c = self.snap.once(("records_by_start", base), lambda: by_period(records_in_order(r, base), base))
        if base == "dues_collected_pct":  # begun in the period asked, and ended in it
            first, last = day(self.q.period.start), day(self.q.period.end)
            part = _between(c["start"], first, last)
            chosen = c["end"][part] <= last
        else:
            part = _between(c["year"], self.q.as_of.year, self.q.as_of.year)
            chosen = np.ones(part.stop - part.start, bool)
        chosen &= (c["at"][part] <= self.k) & (c["later"][part] > self.k)  # the latest known at K
        if self.union is not None:
            chosen &= c["union"][part] == self.union
        if placed and self.scope is not None:  # the unions the asked unit never held: none placed under it
            chosen &= self._once("reached", self._reached_unions)[c["union"][part]]
        rows = c["order"][part][chosen]
        if not placed or self.scope is None:
            return rows
        found, _ = self.flow_events(r["union"][rows], self.record_days(base, rows), r["at"][rows], 0, ALWAYS - 2, None)
        return rows[found]

    def _reached_unions(self) -> np.ndarray:
        """By union code: whether the asked unit held it on some day (it has a window)."""
        reached = np.zeros(len(self.snap.unions) + 1, bool)
        assert self.scope is not None
        for lo, hi, _branch in self._union_windows(self.scope, 0, ALWAYS - 2):
            reached |= lo < hi
        return reached

    def latest_records(self, base: str) -> np.ndarray:
        """Rows of the dues (or training) records known at K, each the latest known of its union
        and period (year)."""
        r = self.plan_table(base)

        def latest():
            order = r["order"]
            known = order[r["at"][order] <= self.k]
            keys = ("union", "start", "end") if base == "dues_collected_pct" else ("union", "year")
            last = np.ones(len(known), bool)
            if len(known) > 1:
                same = np.ones(len(known) - 1, bool)
                for key in keys:
                    same &= r[key][known][1:] == r[key][known][:-1]
                last[:-1] = ~same
            return known[last]

        if self.k >= self._recorded_by(r, base):  # every record known: the same at every K
            return self._once(("latest", base), lambda: self.snap.once(("latest", base), latest))
        return self._once(("latest", base), latest)

    def _recorded_by(self, table: dict[str, np.ndarray], name: str) -> int:
        """The instant a plans' table's last record was recorded (0: none), once per position."""
        return self.snap.once(("recorded_by", name), lambda: int(table["at"].max(initial=0)))

    def _known_in_order(self, table: dict[str, np.ndarray], name: str) -> np.ndarray:
        """A plans' table's records known at K, in its order: every record, where all are known
        (once per position)."""
        order = table["order"]
        if self.k >= self._recorded_by(table, name):
            return order
        return order[table["at"][order] <= self.k]

    def record_days(self, base: str, rows: np.ndarray) -> np.ndarray:
        """The day that places each record under a unit: the last day of its dues period, or
        ``as_of`` for a year's training; a day outside the union's life taken as its nearest day in it."""
        r = self.plan_table(base)
        unions = r["union"][rows]
        days = r["end"][rows] if base == "dues_collected_pct" else np.full(len(rows), self.d, np.int64)

        def compute():
            st, size = self.snap.structure, len(self.snap.unions) + 1
            first, last = np.zeros(size, np.int64), np.full(size, ALWAYS - 2, np.int64)
            unions, on, at = st.founded
            first[unions[at <= self.k]] = on[at <= self.k]
            unions, on, at = st.dissolved
            last[unions[at <= self.k]] = on[at <= self.k]
            return first, last

        first, last = self._once("lives", compute)
        return np.clip(days, first[unions], last[unions])

    # ---- flows -------------------------------------------------------------
    def _member_flow(self, kind: int) -> int:
        """``_flow`` of the members' flows of one kind, from the snapshot's flows by union and day:
        per union, a binary search for each window's ends in the index of every flow, or of the
        blocks of recording up to the cut nearest K; the flows between the cut and K counted directly."""
        first, last = self.q.flow_days
        if first > last:
            return 0
        flows = self.snap.flow_index(kind)
        indexes, rows, sign = flows.known_at(self.k)
        counted = sum(way * self._indexed(index, first, last) for index, way in indexes)
        if rows is not None:
            counted += sign * self._flow_count(flows.unions[rows], flows.days[rows], first, last)
        return counted

    def _indexed(self, index: UnionDays, first: int, last: int) -> int:
        """``_flow_count`` of the flows an index by union and day holds."""
        if self.scope is not None:
            counted = 0
            for lo, hi, _branch in self._union_windows(self.scope, first, last):
                unions = np.flatnonzero(lo < hi)
                if self.union is not None:
                    unions = unions[unions == self.union]
                counted += index.between(unions, lo[unions], hi[unions])
            return counted
        if self.union is None:
            return index.days_between(first, last + 1)
        if self.union < 0:
            return 0
        return index.between(np.array([self.union]), np.array([first]), np.array([last + 1]))

    def _flow(self, unions: np.ndarray, days: np.ndarray, at: np.ndarray) -> int:
        """Events on the period's days up to as_of, known at K, under the asked unit on their day
        (a union counts under the unit that held it on the event's date, its end day included)."""
        first, last = self.q.flow_days
        if first > last:
            return 0
        if self.k < FOREVER:
            known = at <= self.k
            unions, days = unions[known], days[known]
        return self._flow_count(unions, days, first, last)

    def _flow_count(self, unions: np.ndarray, days: np.ndarray, first: int, last: int) -> int:
        """``_flow`` of events all known at K."""
        chosen = (days >= first) & (days <= last)
        if self.union is not None:
            chosen &= unions == self.union
        if self.scope is None:
            return int(np.count_nonzero(chosen))
        unions, days = unions[chosen], days[chosen]
        total = 0
        for lo, hi, _branch in self._union_windows(self.scope, first, last):
            total += int(np.count_nonzero((days >= lo[unions]) & (days < hi[unions])))
        return total

    def flow_events(
        self, unions: np.ndarray, days: np.ndarray, at: np.ndarray, first: int, last: int, tree: UnitScope | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The indices of the events ``_flow`` counts over [first, last] and, under ``tree`` (a scope
        whose branches are the groups), the branch code each counts under; under ``tree`` None, the
        asked unit's scope and no branches."""
        if first > last:
            return np.zeros(0, np.int64), None if tree is None else np.zeros(0, np.int64)
        wanted = (days >= first) & (days <= last)
        if self.k < FOREVER:
            wanted &= at <= self.k
        chosen = np.flatnonzero(wanted)
        scope = tree or self.scope
        if scope is None:
            return chosen, None
        u, dd = unions[chosen], days[chosen]
        found, branches = [], []
        for lo, hi, branch in self._union_windows(scope, first, last):
            match = (dd >= lo[u]) & (dd < hi[u])
            found.append(chosen[match])
            branches.append(branch[u[match]])
        if not found:
            return np.zeros(0, np.int64), None if tree is None else np.zeros(0, np.int64)
        return np.concatenate(found), None if tree is None else np.concatenate(branches)

    def _union_windows(self, scope: UnitScope, first: int, last: int) -> list[tuple[np.ndarray, ...]]:
        """Per union code, the days in [first, last] on which the scope's root held it, as slots
        of (from, to, branch) arrays: a union with two separate stretches has two slots (one
        may hold no day of [first, last]). The branch is the code of the unit directly under the
        root it lay under (see ``branch_codes``). The windows of every day, cut to [first, last]."""
        if (first, last) != (0, ALWAYS - 2):
            return self._once(
                ("windows", id(scope), first, last),
                lambda: [
                    (np.maximum(lo, first), np.minimum(hi, last + 1), branch)
                    for lo, hi, branch in self._union_windows(scope, 0, ALWAYS - 2)
                ],
            )

        def compute():
            st, units = self.snap.structure, self.snap.units
            spans = st.union_spans
            codes = branch_codes(scope)
            # the scope's rows (unit, from, to, branch) by unit code; each known union span joined
            # with the rows of its holder
            placed = [(units.index[u], a, b, codes[br]) for u, a, b, br in scope.branch_rows() if u in units.index]
            if not placed:
                return []
            unit, start, end, branch = (np.array(c, np.int64) for c in zip(*sorted(placed)))
            known = np.flatnonzero(spans.known(self.k))
            holders = spans.holder[known]
            lo_i, hi_i = np.searchsorted(unit, holders, "left"), np.searchsorted(unit, holders, "right")
            counts = hi_i - lo_i
            rows = np.repeat(known, counts)
            placing = (
                np.repeat(lo_i, counts) + np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            )
            valid_to = spans.valid_to[rows]
            ends = np.where(spans.terminal[rows] & (valid_to < OPEN), valid_to + 1, valid_to)
            lo = np.maximum(np.maximum(spans.valid_from[rows], start[placing]), first)
            hi = np.minimum(np.minimum(ends, end[placing]), last + 1)
            keep = lo < hi
            return _slots(
                [(spans.entity[rows][keep], lo[keep], hi[keep], branch[placing][keep])], len(self.snap.unions) + 1
            )

        if scope is self.scope and self.settled:
            return self.snap.once(("union_windows", scope.root), compute)
        return self._once(("windows", id(scope), first, last), compute)


def last_recorded(snap: Snapshot) -> int:
    """The last instant any row the snapshot holds was recorded or superseded (instants from
    FOREVER on mark none): known at any K from it on, the register is as known now."""
    st, plans, cards = snap.structure, snap.plans, snap.cards
    columns = [snap.at, snap.flow_at, cards.first_at, cards.extra_at, st.founded[2], st.dissolved[2], st.surveys[3]]
    for spans in (st.union_spans, st.workplace_spans):
        columns += [spans.recorded_at, spans.superseded_at]
    for table in (plans.ratings, plans.committees, plans.dues, plans.training, plans.agreements, plans.conferences):
        columns.append(table["at"])
    last = max(int(c[c < FOREVER].max(initial=0)) for c in columns)
    units = [t for *_row, r, s in st.unit_rows for t in (r, s) if t is not None and t < FOREVER]
    return max([last, *units])


def structure_settled(st: StructureColumns) -> int:
    """The last instant a unit's or a union's placement was recorded or superseded: known at any
    instant from it on, the placements are those known now."""
    spans = st.union_spans
    superseded = spans.superseded_at[spans.superseded_at != NEVER_KNOWN]
    instants = [r for *_row, r, _s in st.unit_rows] + [s for *_row, s in st.unit_rows if s is not None]
    return max(max(instants, default=0), int(spans.recorded_at.max(initial=0)), int(superseded.max(initial=0)))


def records_in_order(table: dict[str, np.ndarray], base: str) -> dict[str, np.ndarray]:
    """The dues (or training) records' columns in the table's order (by union and period, then
    position), with ``later``: the earliest recording of a later record of the same union and
    period (NEVER: none), so that those the latest known at K are ``at <= K < later``."""
    order = table["order"]
    keys = ("union", "start", "end") if base == "dues_collected_pct" else ("union", "year")
    out = {name: table[name][order] for name in (*keys, "at")}
    out["order"] = order
    n = len(order)
    ends = np.ones(n, bool)  # the last record of its union and period
    if n > 1:
        same = np.ones(n - 1, bool)
        for key in keys:
            same &= out[key][1:] == out[key][:-1]
        ends[:-1] = ~same
    # the least instant among each record's successors in its group: a running least from the
    # end, over ranks less n per group after it, so that it never reaches into another group
    at = out["at"]
    by_at = np.argsort(at, kind="stable")
    rank = np.empty(n, np.int64)
    rank[by_at] = np.arange(n)
    group = np.cumsum(ends[::-1])[::-1]  # counts down to 1 at the last group
    least = np.minimum.accumulate((rank - group * n)[::-1])[::-1] + group * n  # least over itself and after
    later = np.full(n, NEVER_KNOWN, np.int64)
    follows = np.flatnonzero(~ends)
    later[follows] = at[by_at[least[follows + 1]]]
    out["later"] = later
    return out


def by_period(records: dict[str, np.ndarray], base: str) -> dict[str, np.ndarray]:
    """``records_in_order``'s columns in order of the period's first day (dues) or year
    (training): the records of a period asked are a slice of them."""
    o = np.argsort(records["start" if base == "dues_collected_pct" else "year"], kind="stable")
    return {name: column[o] for name, column in records.items()}


def _between(column: np.ndarray, first: int, last: int) -> slice:
    """The places of a sorted column's values in [first, last]."""
    kind = column.dtype.type  # of the column's own type: the column is not converted
    return slice(int(np.searchsorted(column, kind(first), "left")), int(np.searchsorted(column, kind(last), "right")))


def ratings_by_union(ratings: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """The ratings' columns in order of union, year and position, with each union code's first
    place (``first``, one more than the codes: a union's rows are ``first[u]:first[u + 1]``)."""
    order = ratings["order"]
    out = {name: ratings[name][order] for name in ("union", "year", "good", "decided_on", "at")}
    out["first"] = np.searchsorted(out["union"], np.arange(size + 1), "left")
    return out


def branch_codes(scope: UnitScope) -> dict[str, int]:
    """The branches of a scope (the units ever directly under its root, and the root) as codes 0..n-1."""
    names = sorted({br for spans in scope.branches.values() for _a, _b, br in spans} | {scope.root})
    return {name: n for n, name in enumerate(names)}


def _slots(pieces: list[tuple[np.ndarray, ...]], size: int) -> list[tuple[np.ndarray, ...]]:
    """Spread each union's windows over slots: slot j holds every union's j-th window."""
    if not pieces:
        return []
    unions = np.concatenate([p[0] for p in pieces])
    lows = np.concatenate([p[1] for p in pieces])
    highs = np.concatenate([p[2] for p in pieces])
    labels = np.concatenate([p[3] for p in pieces])
    order = np.lexsort((lows, unions))
    unions, lows, highs, labels = unions[order], lows[order], highs[order], labels[order]
    rank = np.zeros(len(unions), np.int64)
    if len(unions):
        starts = np.r_[True, unions[1:] != unions[:-1]]
        group_start = np.maximum.accumulate(np.where(starts, np.arange(len(unions)), 0))
        rank = np.arange(len(unions)) - group_start
    slots: list[tuple[np.ndarray, ...]] = []
    for j in range(int(rank.max()) + 1 if len(rank) else 0):
        at = rank == j
        lo, hi, lab = np.zeros(size, np.int64), np.zeros(size, np.int64), np.full(size, -1, np.int64)
        lo[unions[at]], hi[unions[at]], lab[unions[at]] = lows[at], highs[at], labels[at]
        slots.append((lo, hi, lab))
    return slots


# By sector's place in domain.workplaces.SECTORS, its group's place in SECTOR_GROUPS; the last
# entry (-1 below) answers for a workplace of unknown sector.
SECTOR_GROUP_OF = np.array(
    [next(n for n, members in enumerate(SECTOR_GROUPS.values()) if sector in members) for sector in SECTORS] + [-1]
)


def records_by_period(answer: _Answer, base: str) -> tuple[np.ndarray, np.ndarray]:
    """The latest dues (or training) records, every record known (rows of the plans' table), in
    order of their period's first day (of their year), and that day (year) of each."""
    r, rows = answer.plan_table(base), answer.latest_records(base)
    keys = r["start"][rows] if base == "dues_collected_pct" else r["year"][rows]
    order = np.argsort(keys, kind="stable")
    return rows[order], keys[order]


class _Grouping:
    """The groups of one breakdown of an answer: each figure counted once more, by group code."""

    def __init__(self, answer: _Answer, by: str, units: list[tuple]):
        self.a, self.by = answer, by
        self.snap, self.d, self.k = answer.snap, answer.d, answer.k
        self.unit_rows = {u: (name, est, closed, at) for u, name, est, closed, at in units}
        self.tree: UnitScope | None = None
        self.tree_key: tuple | None = None
        if by == "unit":
            known = answer.known_units()
            root = answer.q.unit_id
            tops: list[str] = []
            if root is None:  # the whole tenant: the units placed under no other, under a root above them
                placed = {c for c, *_ in known}
                root = TOP
                tops = [u for u, (_n, _e, _c, at) in self.unit_rows.items() if u not in placed and at <= self.k]
                known += [(u, TOP, NEVER, None) for u in tops]
            # every record known, the tree and what follows from it alone are kept for the view position
            # (the units placed under no other are read with the names: they are part of the key)
            self.tree_key = ("breakdown_tree", root, frozenset(tops)) if self.k >= FOREVER else None
            tree = self.tree = self._kept("tree", lambda: UnitScope(root, known))
            self.codes = self._kept("codes", lambda: branch_codes(tree))
            self.keys = list(self.codes)
        elif by == "union":
            self.keys = list(self.snap.unions.ids) + [""]
        elif by == "sector":
            self.keys = list(SECTOR_GROUPS)
        else:
            self.keys = list(GENDER_GROUPS)
        self.size = len(self.keys)

    # ---- the tree of a breakdown by unit ---------------------------------------------------------
    def _kept(self, name: object, compute: Callable[[], Any]) -> Any:
        """``compute()`` of the unit tree: kept for the view position where every record is known
        (the same for every question of it), worked out for this question alone otherwise."""
        if self.tree_key is None:
            return self._once(name, compute)
        return self.snap.once((*self.tree_key, name), compute)

    def _windows(self) -> list[tuple[np.ndarray, ...]]:
        """Per union code, the days on which the tree's root held it and the branch code it lay under
        (``_Answer._union_windows`` over every day): an event is matched with its union's windows on
        its own day, whatever the question's period."""
        tree = self.tree
        assert tree is not None
        return self._kept("windows", lambda: self.a._union_windows(tree, 0, ALWAYS - 2))

    def _events(
        self, unions: np.ndarray, days: np.ndarray, at: np.ndarray, first: int, last: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``_Answer.flow_events`` under the tree: the indices of the events on [first, last] known
        at K under the root on their day, and the branch code each counts under."""
        if first > last:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        wanted = (days >= first) & (days <= last)
        if self.k < FOREVER:
            wanted &= at <= self.k
        chosen = np.flatnonzero(wanted)
        u, dd = unions[chosen], days[chosen]
        found, branches = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for lo, hi, branch in self._windows():
            match = (dd >= lo[u]) & (dd < hi[u])
            found.append(chosen[match])
            branches.append(branch[u[match]])
        return np.concatenate(found), np.concatenate(branches)

    def _flow_branches(self, kind: int) -> list[np.ndarray]:
        """``_branches_of`` the members' flows of one kind in order of day (``flows_by_day``)."""
        order, _days = flows_by_day(self.snap, kind)
        unions, days, _at, _female = self.snap.flows(kind)
        return self._branches_of(unions.take(order), days.take(order))

    def _branches_of(self, unions: np.ndarray, days: np.ndarray) -> list[np.ndarray]:
        """For events of these unions on these days, the branch code each counts under (-1: none):
        one array, or one per window slot where an event lies in two windows (it counts in each)."""
        slots = [
            np.where((days >= lo.take(unions)) & (days < hi.take(unions)), branch.take(unions), -1).astype(np.int32)
            for lo, hi, branch in self._windows()
        ]
        if len(slots) > 1 and int(np.count_nonzero(np.array(slots) >= 0, axis=0).max(initial=0)) <= 1:
            return [np.max(slots, axis=0)]
        return slots

    # ---- group codes of what is counted ----------------------------------------------------------
    def _branch_on_day(self) -> np.ndarray:
        """By unit code: the branch code the unit lay under on ``as_of`` (-1: not under the root)."""
        assert self.tree is not None
        units = self.snap.units
        out = np.full(len(units) + 1, -1, np.int64)
        for unit, code in units.index.items():
            branch = self.tree.branch_on(unit, self.d)
            if branch is not None:
                out[code] = self.codes[branch]
        return out

    def _sector_of_unions(self, unions: np.ndarray) -> np.ndarray:
        st = self.snap.structure
        places = st.union_workplace[unions]
        sectors = np.where(places >= 0, st.workplace_sector[np.maximum(places, 0)], -1)
        return SECTOR_GROUP_OF[sectors]

    def _union_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The union spans counted on ``as_of`` and each one's group code."""
        spans = self.snap.structure.union_spans
        if self.by == "unit":
            rows = np.flatnonzero(self.a._unions_visible())
            groups = self._once("branch_d", self._branch_on_day)[spans.holder[rows]]
            return rows[groups >= 0], groups[groups >= 0]
        rows = np.flatnonzero(self.a._unions_here())
        if self.by == "union":
            return rows, spans.entity[rows]
        return rows, self._sector_of_unions(spans.entity[rows])

    def _once(self, key, compute):
        return self.a._once(("group", self.by, key), compute)

    def _count(self, groups: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        keep = groups >= 0
        return np.bincount(groups[keep], weights=None if weights is None else weights[keep], minlength=self.size)[
            : self.size
        ]

    # ---- figures by group -----------------------------------------------------------------------
    def _members(self, female: bool) -> np.ndarray:
        if self.by == "gender":
            women = self.a._members_total(female=True)
            return np.array([women, 0 if female else self.a._members_total() - women])
        rows, groups = self._once("unions", self._union_rows)
        counts = self.a._members_by_union(female)
        entity = self.snap.structure.union_spans.entity[rows]
        return np.rint(self._count(groups, counts[entity])).astype(np.int64)

    def _workplaces(self, min_workers: int) -> tuple[np.ndarray, ...]:
        places, holders, workers, members, unionised = self.a._once("wp", self.a._workplace_columns)
        if self.by == "unit":
            groups = self._once("branch_d", self._branch_on_day)[holders]
        else:
            groups = SECTOR_GROUP_OF[self.snap.structure.workplace_sector[places]]
        eligible = workers >= min_workers
        covered = eligible & unionised
        return (
            self._count(groups[eligible]),
            self._count(groups[covered]),
            np.rint(self._count(groups[covered], members[covered])).astype(np.int64),
            self._count(groups[covered], workers[covered].astype(float)).astype(np.int64),
        )

    def _flow(self, unions: np.ndarray, days: np.ndarray, at: np.ndarray, female: np.ndarray | None) -> np.ndarray:
        first, last = self.a.q.flow_days
        if self.by == "unit":
            return self._count(self._events(unions, days, at, first, last)[1])
        found, _ = self.a.flow_events(unions, days, at, first, last, None)
        if self.by == "union":
            return self._count(unions[found])
        if self.by == "sector":
            return self._count(self._sector_of_unions(unions[found]))
        assert female is not None
        return self._count(1 - female[found].astype(np.int64))

    def _member_flow(self, kind: int) -> np.ndarray:
        """Counted over the flows of the question's days alone (a slice of the flows in order of day);
        by unit with every record known, a count of the branch codes kept for each flow."""
        first, last = self.a.q.flow_days
        if self.by == "unit" and self.tree_key is not None:
            if first > last:
                return np.zeros(self.size, np.int64)
            _order, days = flows_by_day(self.snap, kind)
            lo, hi = (
                np.searchsorted(days, days.dtype.type(first)),
                np.searchsorted(days, days.dtype.type(last), "right"),
            )
            slots = self._kept(("flow_branches", kind), lambda: self._flow_branches(kind))
            counts = [np.bincount(slot[lo:hi] + 1, minlength=self.size + 1)[1 : self.size + 1] for slot in slots]
            return sum(counts, np.zeros(self.size, np.int64))
        unions, days, at, female = self.snap.flows(kind)
        rows = flows_between(self.snap, kind, first, last)
        return self._flow(unions.take(rows), days.take(rows), at.take(rows), female.take(rows))

    def _by_group(self, ind: Indicator) -> np.ndarray | list | None:
        base = ind.base
        if base in NOT_BY.get(self.by, ()):
            return None
        if base in PLAN_PARTS:
            done, whole = self._once(("parts", ind.code), lambda: self._plan_parts(ind))
            return _percentages(done, whole)
        if base in ("members_total", "members_female"):
            return self._once(base, lambda: self._members(base == "members_female"))
        if base == "unions_total":
            return self._once(base, lambda: self._count(self._once("unions", self._union_rows)[1]))
        if base in MEMBER_FLOWS:
            return member_flow(base, lambda key, kind: self._once(key, lambda: self._member_flow(kind)))
        if base in ("unions_founded", "unions_dissolved"):
            st = self.snap.structure
            events = st.founded if base == "unions_founded" else st.dissolved
            return self._once(base, lambda: self._flow(*events, None))
        eligible, covered, members, workers = self._once(
            ("wp", ind.min_workers), lambda: self._workplaces(ind.min_workers)
        )
        if base == "workplaces_eligible":
            return eligible
        if base == "workplaces_covered":
            return covered
        if base == "coverage_pct":
            return _percentages(covered, eligible)
        return _percentages(members, workers)  # member_worker_ratio_pct

    def _plan_parts(self, ind: Indicator) -> tuple[np.ndarray, np.ndarray]:
        """Numerators and denominators of a plan percentage, by group code (``_Answer.parts``)."""
        base, a = ind.base, self.a
        spans = self.snap.structure.union_spans
        if base == "members_with_card_pct":
            if self.by == "gender":
                women, everyone = a._members_total(female=True), a._members_total()
                carded_women, carded = a._members_total(True, True), a._members_total(carded=True)
                return np.array([carded_women, carded - carded_women]), np.array([women, everyone - women])
            rows, groups = self._once("unions", self._union_rows)
            entity = spans.entity[rows]
            carded_by_union, members_by_union = a._members_by_union(carded=True), a._members_by_union()
            return (
                np.rint(self._count(groups, carded_by_union[entity])),
                np.rint(self._count(groups, members_by_union[entity])),
            )
        if base in ("cla_coverage_pct", "workers_conference_pct"):
            places, holders, workers, _members, unionised = a._once("wp", a._workplace_columns)
            groups = self._workplace_groups(places, holders)
            covered = (workers >= ind.min_workers) & unionised
            marked = covered & a._workplace_marks(base)[places]
            return self._count(groups[marked]), self._count(groups[covered])
        if base in RECORD_PARTS:
            r, (done, whole) = a.plan_table(base), RECORD_PARTS[base]
            if self.by == "unit":
                rows, groups = self._records_by_branch(base)
            else:
                rows = a.record_rows(base, placed=True) if a.scope is not None else self._record_rows(base)
                groups = r["union"][rows] if self.by == "union" else self._sector_of_unions(r["union"][rows])
            return (
                self._count(groups, r[done][rows].astype(float)),
                self._count(groups, r[whole][rows].astype(float)),
            )
        rows, groups = self._once("unions", self._union_rows)
        entity = spans.entity[rows]
        yes, of = a.union_marks(base)
        return self._count(groups[yes[entity]]), self._count(groups[of[entity]])

    # ---- the dues and training records ------------------------------------------------------------
    def _record_rows(self, base: str) -> np.ndarray:
        """``_Answer.record_rows`` wherever the records lie (not placed under the asked unit), once per
        breakdown; every record known, a slice of the latest records in order of period."""

        def compute():
            a = self.a
            if self.k < FOREVER or a.union is not None:
                return a.record_rows(base, placed=False)
            rows, keys = self.snap.once(("records_by_period", base), lambda: records_by_period(a, base))
            lo, hi = self._record_slice(base, keys)
            rows = rows[lo:hi]
            if base == "dues_collected_pct":  # begun in the period asked: ended in it too
                rows = rows[a.plan_table(base)["end"][rows] <= day(a.q.period.end)]
            return rows

        return self._once(("record_rows", base), compute)

    def _record_slice(self, base: str, keys: np.ndarray) -> tuple[int, int]:
        """Where the records of the period asked (dues: begun in it; training: of the year of
        ``as_of``) lie among the latest records in order of period (``records_by_period``)."""
        if base == "dues_collected_pct":
            first, last = day(self.a.q.period.start), day(self.a.q.period.end)
        else:
            first = last = self.a.q.as_of.year
        return int(np.searchsorted(keys, first, "left")), int(np.searchsorted(keys, last, "right"))

    def _records_by_branch(self, base: str) -> tuple[np.ndarray, np.ndarray]:
        """The dues (or training) records counted under the tree and the branch code of each (a
        record in two windows twice). Every record known, a dues record lies where its union was on
        its period's last day: each latest record's branch is kept for the position."""
        a = self.a
        r = a.plan_table(base)
        if self.tree_key is None or a.union is not None or base != "dues_collected_pct":
            rows = self._record_rows(base)
            found, groups = self._events(r["union"][rows], a.record_days(base, rows), r["at"][rows], 0, ALWAYS - 2)
            return rows[found], groups
        rows, keys = self.snap.once(("records_by_period", base), lambda: records_by_period(a, base))
        slots = self._kept(
            ("record_branches", base), lambda: self._branches_of(r["union"][rows], a.record_days(base, rows))
        )
        lo, hi = self._record_slice(base, keys)
        asked = lo + np.flatnonzero(r["end"][rows[lo:hi]] <= day(a.q.period.end))
        counted, branches = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for slot in slots:
            branch = slot[asked]
            counted.append(rows[asked[branch >= 0]])
            branches.append(branch[branch >= 0])
        return np.concatenate(counted), np.concatenate(branches)

    def record_parts(self, indicators: Sequence[Indicator]) -> dict:
        """The whole tenant's dues and training percentages' parts (``_Answer.parts``) from the
        records this breakdown counts, in the key ``_Answer`` keeps them under."""
        out = {}
        for ind in indicators:
            if ind.base in RECORD_PARTS:
                r, (done, whole) = self.a.plan_table(ind.base), RECORD_PARTS[ind.base]
                rows = self._record_rows(ind.base)
                out[("parts", ind.code)] = (int(r[done][rows].sum()), int(r[whole][rows].sum()))
        return out

    def _workplace_groups(self, places: np.ndarray, holders: np.ndarray) -> np.ndarray:
        if self.by == "unit":
            return self._once("branch_d", self._branch_on_day)[holders]
        return SECTOR_GROUP_OF[self.snap.structure.workplace_sector[places]]

    def groups(self, indicators: Sequence[Indicator]) -> list[Group]:
        """Every group that stands on ``as_of`` (units directly under the asked unit, unions under
        it, sectors, genders), then any other with a figure not 0, so that the groups add up."""
        values: dict[str, list | None] = {}
        shown = np.zeros(self.size, bool)  # the groups with a figure not 0
        for ind in indicators:
            by_group = self._by_group(ind)
            if by_group is not None:
                shown |= np.asarray(by_group) != 0
                by_group = by_group.tolist() if isinstance(by_group, np.ndarray) else by_group
            values[ind.code] = by_group

        def figures(code: int) -> dict[str, float | int | None]:
            return {c: None if v is None else v[code] for c, v in values.items()}

        standing = self._standing()
        out = [Group(self.keys[c], self._name(self.keys[c]), figures(c)) for c in standing]
        seen = set(standing)
        for code in np.flatnonzero(shown).tolist():
            if code not in seen and self.keys[code]:
                out.append(Group(self.keys[code], self._name(self.keys[code]), figures(code)))
        return out

    def _standing(self) -> list[int]:
        """Codes of the groups that stand on ``as_of``, in the order of their keys."""
        if self.by == "sector":
            return list(range(len(SECTOR_GROUPS)))
        if self.by == "gender":
            return list(range(len(GENDER_GROUPS)))
        if self.by == "union":
            rows, groups = self._once("unions", self._union_rows)
            return sorted(set(groups.tolist()), key=lambda c: self.keys[c])
        assert self.tree is not None
        children = []
        for unit, code in self.codes.items():
            if unit == self.tree.root or unit not in self.unit_rows:
                continue
            _name, established, closed, at = self.unit_rows[unit]
            active = established <= self.d and (closed is None or closed > self.d) and at <= self.k
            if active and self.tree.branch_on(unit, self.d) == unit:
                children.append(code)
        return sorted(children, key=lambda c: self.keys[c])

    def _name(self, key: str) -> str:
        if self.by == "sector":
            return SECTOR_NAMES[key]
        if self.by == "gender":
            return GENDER_NAMES[key]
        if self.by == "unit":
            return self.unit_rows.get(key, (key,))[0]
        return key  # a union's: filled in by the caller


def committee_sectors(snap: Snapshot) -> np.ndarray:
    """By union code: whether its workplace is of a sector a women's committee target is about."""
    st, size = snap.structure, len(snap.unions) + 1
    sector = np.full(size, -1, np.int64)
    places = st.union_workplace
    sector[: len(places)] = SECTOR_GROUP_OF[np.where(places >= 0, st.workplace_sector[np.maximum(places, 0)], -1)]
    return np.isin(sector, [list(SECTOR_GROUPS).index(g) for g in COMMITTEE_GROUPS])


EPOCH = date(1970, 1, 1).toordinal()
MONTH_END_DAYS = 20 * 366  # a month-end table reaches this far back from the last change it holds
LOOKUP_DAYS = 100 * 366  # days a step table of ``steps_before`` may span (a few MB at most)


def next_new_year(days: np.ndarray) -> np.ndarray:
    """For day ordinals, the ordinal of the 1st of January after each one's year."""
    years = (np.asarray(days, np.int64) - EPOCH).astype("datetime64[D]").astype("datetime64[Y]")
    return (years + 1).astype("datetime64[D]").astype(np.int64) + EPOCH


def ratings_in_order(snap: Snapshot) -> dict:
    """The ratings in order of union, year and position, each with the day it starts to stand (the
    later of its decision and its year's first day), and the instant the last was recorded; worked
    out once per position."""

    def compute():
        r = snap.plans.ratings
        order = r["order"]
        years = r["year"][order].astype(np.int64) - 1970
        first_days = years.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) + EPOCH
        return {
            "union": r["union"][order].astype(np.int64),
            "since": np.maximum(r["decided_on"][order], first_days),
            "at": r["at"][order],
            "good": r["good"][order] == 1,
            "recorded_by": int(r["at"].max(initial=0)),
        }

    return snap.once("ratings_in_order", compute)


def step_sums(
    n: int, rows: np.ndarray, start: np.ndarray, stop: np.ndarray, value: np.ndarray | None, size: int
) -> np.ndarray:
    """A (n x size) array of whole numbers: each row's (whole) value (None: one) added in the steps
    [start, stop) of its row. A difference per row and step range, summed step after step over
    rows of ``size`` (long rows add faster than short)."""
    cells = size * (n + 1)
    rows = rows.astype(np.int64)
    starts, stops = start.astype(np.int64) * size + rows, stop.astype(np.int64) * size + rows
    if value is None:
        diff = np.bincount(starts, minlength=cells)[:cells] - np.bincount(stops, minlength=cells)[:cells]
    else:
        value = np.asarray(value, np.float64)
        both, signed = np.concatenate([starts, stops]), np.concatenate([value, -value])
        diff = np.bincount(both, weights=signed, minlength=cells)[:cells].astype(np.int64)
    table = diff.reshape(n + 1, size)[:n]
    for i in range(1, n):
        np.add(table[i], table[i - 1], out=table[i])
    return table


def union_places(snap: Snapshot) -> np.ndarray:
    """By union code: the code of its workplace (-1: none), for every code a span may hold."""
    held, home = union_homes(snap)
    places = np.full(len(snap.unions) + 1, -1, np.int64)
    places[held] = home
    return places


def union_homes(snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """The union codes placed at a workplace and their workplaces' codes, once per position."""

    def compute():
        places = snap.structure.union_workplace
        held = np.flatnonzero(places[: len(snap.unions) + 1] >= 0)
        home = places[held]
        return held, home

    return snap.once("union_homes", compute)


def steps_before(days: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.searchsorted(days, values, "left")`` for ascending whole days: each value's count of
    days before it, read from a table over the days' range (a binary search per value costs
    several times more over a hundred thousand values)."""
    if not len(days) or int(days[-1]) - int(days[0]) > LOOKUP_DAYS:
        return np.searchsorted(days, values, "left")
    lo, hi = int(days[0]), int(days[-1])
    table = np.searchsorted(days, np.arange(lo, hi + 2), "left")  # hi + 1: past every day
    return table[np.clip(values, lo, hi + 1) - lo]


def column_sums(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Each column's sum of ``values`` over the rows ``where`` holds (one pass, no masked copy;
    whole numbers summed as int64)."""
    return np.einsum("ij,ij->j", values, where, dtype=np.result_type(values.dtype, np.int64))


def _percentages(numerators: np.ndarray, denominators: np.ndarray) -> list[float]:
    """``percentage`` of each group, worked out over plain numbers as ``_Answer`` does."""
    return [percentage(n, d) for n, d in zip(np.asarray(numerators).tolist(), np.asarray(denominators).tolist())]


class _Series:
    """The members' counts and the flows of every step of a series, each in one pass."""

    def __init__(self, snap: Snapshot, questions: Sequence[Question], scope: UnitScope | None):
        self.snap, self.questions, self.scope = snap, questions, scope
        self.days = np.array([day(q.as_of) for q in questions], np.int64)
        self.firsts = np.array([q.flow_days[0] for q in questions], np.int64)
        self.lasts = np.array([q.flow_days[1] for q in questions], np.int64)
        self.k = questions[0].k
        self._cache: dict = {}

    def _once(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _member_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where each membership record known at K starts and stops counting, as cells of a
        (unions x steps + 1) array flattened, with its sign and whether the member is a woman."""
        s, n = self.snap, len(self.days)
        holder, valid_from, valid_to, sign, female = s.holder, s.valid_from, s.valid_to, s.sign, s.female
        if self.k < FOREVER:
            known = np.flatnonzero(s.at <= self.k)
            holder, valid_from, valid_to = holder.take(known), valid_from.take(known), valid_to.take(known)
            sign, female = sign.take(known), female.take(known)
        holder = holder.astype(np.int64) * (n + 1)
        start = holder + steps_before(self.days, valid_from)
        end = holder + steps_before(self.days, valid_to)
        return start, end, sign.astype(float), female

    def _members(self, female: bool) -> np.ndarray:
        """Members of each union code at each step's day: a (unions x steps) array. A record counts
        from the first step on or after its first day up to the first on or after its end."""
        table = monthly(self.snap, "women" if female else "members") if self.k >= FOREVER else None
        if table is not None:
            return table.on(self.days)
        start, end, sign, women = self._once("cells", self._member_cells)
        n, unions = len(self.days), len(self.snap.unions) + 1
        weights = sign * women if female else sign
        diff = np.bincount(start, weights=weights, minlength=unions * (n + 1))
        diff -= np.bincount(end, weights=weights, minlength=unions * (n + 1))
        return np.cumsum(diff[: unions * (n + 1)].reshape(unions, n + 1), axis=1)[:, :n]

    def _flow(self, unions: np.ndarray, days: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Events counted by each step (each over its own days)."""
        probe = _Answer(self.snap, self.questions[-1], self.scope)
        found, _ = probe.flow_events(unions, days, at, int(self.firsts[0]), int(self.lasts[-1]), None)
        on = days[found]
        step = np.searchsorted(self.firsts, on, "right") - 1
        inside = (step >= 0) & (on <= self.lasts[np.maximum(step, 0)])
        return np.bincount(step[inside], minlength=len(self.days))[: len(self.days)]

    def _member_flow(self, kind: int) -> np.ndarray:
        """Of the whole tenant, every flow known, each step's flows are a range of the flows in order
        of day; otherwise those of the series' days are counted by step."""
        disjoint = bool(np.all(self.firsts[1:] > self.lasts[:-1]))
        if self.k >= FOREVER and self.scope is None and self.questions[0].union_id is None and disjoint:
            return flow_counts(self.snap, kind, self.firsts, self.lasts)
        unions, days, at, _female = self.snap.flows(kind)
        rows = flows_between(self.snap, kind, int(self.firsts[0]), int(self.lasts[-1]))
        return self._flow(unions.take(rows), days.take(rows), at.take(rows))

    def _steps_of(self, valid_from: np.ndarray, valid_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows valid over [valid_from, valid_to): the (row, step) pairs of the steps whose day
        lies in that range."""
        start = steps_before(self.days, valid_from)
        counts = np.maximum(steps_before(self.days, valid_to) - start, 0)
        rows = np.repeat(np.arange(len(start)), counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return rows, np.repeat(start, counts) + offsets

    def _workplace_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``_Answer._workplace_columns`` for every step at once, as (workplaces x steps) arrays
        flattened: whether the workplace is counted (placed under the unit, on the step's day),
        its workers at its latest survey by then (-1: none), whether it has a union then (anywhere)
        and the members of its unions then."""
        if self.scope is None:
            return self._workplace_cells_by_steps()
        st, n = self.snap.structure, len(self.days)
        size = (len(self.snap.workplaces) + 1) * n
        spans = st.workplace_spans
        known = np.flatnonzero(spans.known(self.k))
        rows, steps = self._steps_of(spans.valid_from[known], spans.valid_to[known])
        rows = known[rows]
        if self.scope is not None:
            units = self.snap.units
            flags = np.zeros((len(units) + 1, n), bool)
            for i, d in enumerate(self.days):
                flags[[units.index[u] for u in self.scope.units_on(int(d)) if u in units.index], i] = True
            inside = flags[spans.holder[rows], steps]
            rows, steps = rows[inside], steps[inside]
        present = np.zeros(size, bool)
        present[spans.entity[rows] * n + steps] = True
        # each survey is the latest of its workplace from its as_of to the next one's
        s_wp, s_as_of, s_workers, order, until = self._survey_spans()
        rows, steps = self._steps_of(s_as_of[order], until)
        workers = np.full(size, -1, np.int64)
        workers[s_wp[order][rows] * n + steps] = s_workers[order][rows]
        # unions open on each day, wherever placed, and their members
        spans = st.union_spans
        known = np.flatnonzero(spans.known(self.k))
        rows, steps = self._steps_of(spans.valid_from[known], spans.valid_to[known])
        unions = spans.entity[known][rows]
        places = st.union_workplace[unions] if len(st.union_workplace) else np.zeros(0, np.int64)
        placed = places >= 0
        cells = places[placed] * n + steps[placed]
        has_union = np.zeros(size, bool)
        has_union[cells] = True
        counts = self._once("members", lambda: self._members(False))
        members = np.bincount(cells, weights=counts[unions[placed], steps[placed]], minlength=size)[:size]
        return present, workers, has_union, members

    def _survey_spans(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The surveys known at K in order, each the latest of its workplace from its as_of until
        the next one's as_of (OPEN for the last)."""
        st = self.snap.structure
        s_wp, s_as_of, s_workers, s_at, _s_pos = st.surveys

        def spans(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            order = st.survey_order[s_at[st.survey_order] <= k]
            until = np.full(len(order), OPEN, np.int64)
            same = s_wp[order][1:] == s_wp[order][:-1]
            until[:-1][same] = s_as_of[order][1:][same]
            return s_wp, s_as_of, s_workers, order, until

        if self.k >= self.snap.once("surveys_recorded_by", lambda: int(s_at.max(initial=0))):
            return self.snap.once("survey_spans", lambda: spans(FOREVER))
        return spans(self.k)

    def _step_ranges(self, valid_from: np.ndarray, valid_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows valid over [valid_from, valid_to): the first step whose day lies in the range and
        the first after it (equal where none does)."""
        start = steps_before(self.days, valid_from)
        return start, np.maximum(steps_before(self.days, valid_to), start)

    def _by_steps(
        self, rows: np.ndarray, start: np.ndarray, stop: np.ndarray, value: np.ndarray | None, size: int
    ) -> np.ndarray:
        """A (size x steps) array of whole numbers: each row's (whole) value (None: one) added in the
        steps [start, stop) of its row (``step_sums``, seen by rows)."""
        return step_sums(len(self.days), rows, start, stop, value, size).T

    def _by_days(
        self,
        name: object,
        rows: np.ndarray,
        valid_from: np.ndarray,
        valid_to: np.ndarray,
        value: np.ndarray | None,
        size: int,
        positive: bool = False,
    ) -> np.ndarray:
        """``_by_steps`` of rows valid over [valid_from, valid_to), as (size x steps) (where
        ``positive``: whether above zero). Of everything recorded, a step on a month's last day is a
        row of a month-end table kept per view position under ``name`` (the rows must be those of
        the position); only the others (the running month) are summed here."""

        def over(days: np.ndarray) -> np.ndarray:
            start = steps_before(days, valid_from)
            stop = np.maximum(steps_before(days, valid_to), start)
            sums = step_sums(len(days), rows, start, stop, value, size)
            return sums > 0 if positive else sums.astype(np.int32)

        if self.k < FOREVER or not len(rows):
            return over(self.days).T

        def table() -> tuple[np.ndarray, np.ndarray]:
            changes = np.concatenate([valid_from, valid_to[valid_to < OPEN]])
            last = int(changes.max())
            first = max(int(changes.min()), last - MONTH_END_DAYS)
            ends = month_ends(first, last + 31)  # a month past the last change: later days are as it
            return ends, over(ends)

        ends, kept = self.snap.once(("month ends", name), table)
        at = np.minimum(np.searchsorted(ends, self.days), len(ends) - 1)
        hit = ends[at] == self.days
        out = kept[at]  # one gather of every step's row (a miss reads the nearest), then the misses
        if not hit.all():
            out[~hit] = over(self.days[~hit])
        return out.T

    def _workplace_cells_by_steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``_workplace_cells`` of the whole tenant, as (workplaces x steps) arrays, built from step
        ranges (or month-end tables) rather than one entry per row and step: each workplace's spans,
        surveys and unions add over the steps they cover. No members: ``_members_in_covered``
        counts them by union."""
        st = self.snap.structure
        places = len(self.snap.workplaces) + 1
        spans = st.workplace_spans
        known = np.flatnonzero(spans.known(self.k))
        entity, valid_from, valid_to = spans.entity[known], spans.valid_from[known], spans.valid_to[known]
        present = self._by_days("workplaces", entity, valid_from, valid_to, None, places, positive=True)
        # each survey is the latest of its workplace from its as_of to the next one's: the ranges of
        # one workplace do not overlap, so its workers (+1, none being -1) add up to the latest's
        s_wp, s_as_of, s_workers, order, until = self._survey_spans()
        plus_one = (s_workers[order] + 1).astype(float)
        workers = self._by_days("workers", s_wp[order], s_as_of[order], until, plus_one, places) - 1
        # whether a union is open there on each day, wherever placed: its unions' open spans, each
        # counted at its union's workplace (the members there: ``_members_in_covered``)
        spans = st.union_spans
        known = np.flatnonzero(spans.known(self.k))
        home = union_places(self.snap)[spans.entity[known]]
        placed = home >= 0
        valid_from, valid_to = spans.valid_from[known][placed], spans.valid_to[known][placed]
        has_union = self._by_days("union places", home[placed], valid_from, valid_to, None, places, positive=True)
        return present, workers, has_union, None

    def _workplaces(self, min_workers: int) -> list[tuple[int, int, int, int]]:
        """(eligible, covered, members in covered, workers in covered) of each step, threshold N."""
        _present, workers, _has_union, members = self._once("places", self._workplace_cells)
        n = len(self.days)
        eligible, covered = self._once(("covered", min_workers), lambda: self._covered(min_workers))
        if members is None:
            in_covered = self._members_in_covered(covered)
        else:
            in_covered = column_sums(members.reshape(-1, n), covered)
        workers_covered = column_sums(workers.reshape(-1, n), covered)
        return [
            (int(e), int(c), int(round(m)), int(w))
            for e, c, m, w in zip(
                np.count_nonzero(eligible, axis=0), np.count_nonzero(covered, axis=0), in_covered, workers_covered
            )
        ]

    def _members_in_covered(self, covered: np.ndarray) -> np.ndarray:
        """The members of each step's covered workplaces (a (workplaces x steps) array), counted by
        union: each placed union's members times its open spans, where its workplace is covered."""
        held, home = union_homes(self.snap)
        counts = self._once("members", lambda: self._members(False))
        spans_open = self._once("unions_open", self._unions_open)
        n = len(self.days)
        at_home = np.zeros((n, len(counts)), bool)
        at_home[:, held] = covered.T[:, home]
        return column_sums(counts * spans_open, at_home.T)

    def _covered(self, min_workers: int) -> tuple[np.ndarray, np.ndarray]:
        """(eligible, covered) workplace cells of threshold N, as (workplaces x steps) arrays."""
        present, workers, has_union, _members = self._once("places", self._workplace_cells)
        n = len(self.days)
        eligible = (present & (workers >= min_workers)).reshape(-1, n)
        return eligible, eligible & has_union.reshape(-1, n)

    def _carded(self) -> np.ndarray:
        """Members holding a card, of each union code at each step's day: a (unions x steps) array.
        A record counts from the first step on or after both its first day and the day its member
        first held a card known at K, up to the first step on or after its end."""
        table = monthly(self.snap, "carded") if self.k >= FOREVER else None
        if table is not None:
            return table.on(self.days)
        s, n, cards = self.snap, len(self.days), self.snap.cards
        member, holder, valid_from, valid_to, sign = s.member, s.holder, s.valid_from, s.valid_to, s.sign
        if self.k < FOREVER:
            known = np.flatnonzero(s.at <= self.k)
            member, holder, sign = member.take(known), holder.take(known), sign.take(known)
            valid_from, valid_to = valid_from.take(known), valid_to.take(known)
            since = np.full(len(cards.first_day), NO_DAY, np.int64)
            since[cards.first_at <= self.k] = cards.first_day[cards.first_at <= self.k]
            extra = cards.extra_at <= self.k
            np.minimum.at(since, cards.extra_member[extra], cards.extra_day[extra])
        else:
            since = s.card_since()
        card_day = since.take(member, mode="clip") if len(since) else np.full(len(member), NO_DAY, np.int64)
        if len(since) and int(member.max(initial=0)) >= len(since):
            card_day[member >= len(since)] = NO_DAY
        end = steps_before(self.days, valid_to)
        start = np.minimum(steps_before(self.days, np.maximum(valid_from, card_day)), end)
        holder = holder.astype(np.int64) * (n + 1)
        weights, unions = sign.astype(float), len(s.unions) + 1
        diff = np.bincount(holder + start, weights=weights, minlength=unions * (n + 1))
        diff -= np.bincount(holder + end, weights=weights, minlength=unions * (n + 1))
        return np.cumsum(diff[: unions * (n + 1)].reshape(unions, n + 1), axis=1)[:, :n]

    def _ratings(self) -> tuple[np.ndarray, np.ndarray]:
        """``_Answer._ratings`` for every step at once, as (unions x steps) arrays: a record stands
        from the first step on or after both its decision and its year's first day, and a union's
        rating on a step is the last (in order of year, then position) of those standing by then."""
        r, n, size = ratings_in_order(self.snap), len(self.days), len(self.snap.unions) + 1
        union, since, good = r["union"], r["since"], r["good"]
        if self.k < r["recorded_by"]:
            known = np.flatnonzero(r["at"] <= self.k)
            union, since, good = union.take(known), since.take(known), good.take(known)
        step = steps_before(self.days, since)
        latest = np.full(size * (n + 1), -1, np.int64)
        np.maximum.at(latest, step * size + union, np.arange(len(union)))
        latest = latest.reshape(n + 1, size)[:n]  # a row of unions a step: the later steps take the earlier
        for i in range(1, n):
            np.maximum(latest[i], latest[i - 1], out=latest[i])
        good = np.concatenate([[False], good])  # by latest + 1: none (-1) is not good
        return good[latest + 1].T, (latest >= 0).T

    def _workplace_plan_parts(self, base: str, min_workers: int) -> list[tuple[int, int]]:
        """(workplaces with an agreement in force or a conference held, covered workplaces) of
        each step, as ``_Answer._plan_parts`` counts them for one day."""
        present = self._once("places", self._workplace_cells)[0]
        n, plans = len(self.days), self.snap.plans
        if base == "cla_coverage_pct":
            a = plans.agreements
            ok = a["at"] <= self.k
            places, start, stop = a["workplace"][ok], a["signed_on"][ok], a["expires_on"][ok] + 1
        else:  # a conference counts from its day to the end of its year
            c = plans.conferences
            ok = c["at"] <= self.k
            places, start = c["workplace"][ok], c["on"][ok]
            stop = self.snap.once("conferences' ends", lambda: next_new_year(c["on"]))[ok]
        marks = self._by_days(("marks", base), places, start, stop, None, present.size // n, positive=True)
        covered = self._once(("covered", min_workers), lambda: self._covered(min_workers))[1]
        marked = covered & marks
        return list(zip(np.count_nonzero(marked, axis=0).tolist(), np.count_nonzero(covered, axis=0).tolist()))

    def _record_parts(self, base: str) -> list[tuple[int, int]] | None:
        """``_Answer._plan_parts`` of the dues (or training) records for every step at once: each
        record counted in the step whose period holds its own (dues), or whose ``as_of`` falls in
        its year (training). None where a step's own day places its records (training under a
        unit): those are counted step by step."""
        if self.scope is not None and base != "dues_collected_pct":
            return None
        probe = _Answer(self.snap, self.questions[-1], self.scope)
        r, (done, whole), n = probe.plan_table(base), RECORD_PARTS[base], len(self.days)
        rows = probe.latest_records(base)
        if self.scope is not None:  # a dues record lies where its union was on its period's last day
            found, _ = probe.flow_events(
                r["union"][rows], probe.record_days(base, rows), r["at"][rows], 0, ALWAYS - 2, None
            )
            rows = rows[found]
        if base == "dues_collected_pct":
            starts = np.array([day(q.period.start) for q in self.questions], np.int64)
            ends = np.array([day(q.period.end) for q in self.questions], np.int64)
            step = np.searchsorted(starts, r["start"][rows], "right") - 1
            inside = (step >= 0) & (r["end"][rows] <= ends[np.maximum(step, 0)])
        else:
            years = np.array([q.as_of.year for q in self.questions], np.int64)
            # steps of one year are consecutive: each record's year to the first of its steps,
            # then copied to the others below
            step = np.searchsorted(years, r["year"][rows], "left")
            inside = (step < n) & (years[np.minimum(step, n - 1)] == r["year"][rows])
        rows, step = rows[inside], step[inside]
        numerators, denominators = np.zeros(n, np.int64), np.zeros(n, np.int64)
        np.add.at(numerators, step, r[done][rows])
        np.add.at(denominators, step, r[whole][rows])
        if base != "dues_collected_pct":
            first = np.searchsorted(years, years, "left")
            numerators, denominators = numerators[first], denominators[first]
        return list(zip(numerators.tolist(), denominators.tolist()))

    def _committees(self) -> tuple[np.ndarray, np.ndarray]:
        """``_Answer._committees`` for every step at once, as (unions x steps) arrays: a union has
        a committee from the first step on or after the first founding known at K."""
        women = self._once("members_f", lambda: self._members(True))
        about = committee_sectors(self.snap)[:, None] & (women >= COMMITTEE_MIN_WOMEN - 0.5)
        c, size = self.snap.plans.committees, len(self.snap.unions) + 1
        known = c["at"] <= self.k
        first = np.full(size, ALWAYS, np.int64)
        np.minimum.at(first, c["union"][known], c["on"][known])
        return about & (first[:, None] <= self.days[None, :]), about

    def figures(self, indicators: Sequence[Indicator]) -> list[dict[str, float | int]]:
        """The figures of every step of a whole-tenant series: each code worked out for all steps at
        once over the (unions x steps) arrays, as ``_Answer._one`` works it out for one step."""
        columns = {ind.code: self._column(ind) for ind in indicators}
        return [{code: values[n] for code, values in columns.items()} for n in range(len(self.days))]

    def _column(self, ind: Indicator) -> list:
        """One code's figure at each step (whole tenant)."""
        base, st = ind.base, self.snap.structure
        if base in PLAN_PARTS:
            return [percentage(a, b) for a, b in self._parts(ind)]
        if base == "members_total":
            return self._total("members")
        if base == "members_female":
            return self._total("members_f")
        if base == "unions_total":
            return self._rounded(self._once("unions_open", self._unions_open).sum(axis=0))
        if base in MEMBER_FLOWS:
            flows = member_flow(base, lambda key, kind: self._once(key, lambda: self._member_flow(kind)))
            return np.asarray(flows, np.int64).tolist()
        if base == "unions_founded":
            return np.asarray(self._once("founded", lambda: self._flow(*st.founded)), np.int64).tolist()
        if base == "unions_dissolved":
            return np.asarray(self._once("dissolved", lambda: self._flow(*st.dissolved)), np.int64).tolist()
        places = self._once(("wp", ind.min_workers), lambda: self._workplaces(ind.min_workers))
        if base == "workplaces_eligible":
            return [eligible for eligible, _c, _m, _w in places]
        if base == "workplaces_covered":
            return [covered for _e, covered, _m, _w in places]
        if base == "coverage_pct":
            return [percentage(covered, eligible) for eligible, covered, _m, _w in places]
        return [percentage(members, workers) for _e, _c, members, workers in places]  # member_worker_ratio_pct

    @staticmethod
    def _rounded(values: np.ndarray) -> list[int]:
        return np.rint(values).astype(np.int64).tolist()

    def _total(self, key: str, carded: bool = False) -> list[int]:
        """Members (women: ``members_f``; card holders: ``carded``) of the whole tenant at each step."""
        counts = self._once(key, self._carded if carded else lambda: self._members(key == "members_f"))
        return self._rounded(counts.sum(axis=0))

    def _unions_open(self) -> np.ndarray:
        """How many spans known at K hold each union code open on each step's day: (unions x steps)."""
        spans = self.snap.structure.union_spans
        known = np.flatnonzero(spans.known(self.k))
        entity, valid_from, valid_to = spans.entity[known], spans.valid_from[known], spans.valid_to[known]
        return self._by_days("unions", entity, valid_from, valid_to, None, len(self.snap.unions) + 1)

    def _parts(self, ind: Indicator) -> list[tuple[int, int]]:
        """A plans' percentage's (numerator, denominator) at each step (whole tenant)."""
        base = ind.base
        if base == "members_with_card_pct":
            return list(zip(self._total("carded", carded=True), self._total("members")))
        if base in ("cla_coverage_pct", "workers_conference_pct"):
            key = ("plan_wp", base, ind.min_workers)
            return self._once(key, lambda: self._workplace_plan_parts(base, ind.min_workers))
        if base in RECORD_PARTS:
            records = self._once(("records", base), lambda: self._record_parts(base))
            assert records is not None  # only a unit's training records are placed step by step
            return records
        yes, of = self._once("committees" if base == "womens_committee_pct" else "ratings", self._union_marks(base))
        spans_open = self._once("unions_open", self._unions_open)
        return list(zip(column_sums(spans_open, yes).tolist(), column_sums(spans_open, of).tolist()))

    def _union_marks(self, base: str) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
        return self._committees if base == "womens_committee_pct" else self._ratings

    def point(self, n: int, bases: set[str], thresholds: set[int], indicators: Sequence[Indicator] = ()) -> dict:
        """The counts of step ``n``, in the keys ``_Answer`` keeps them under."""
        st = self.snap.structure
        out: dict = {}
        if "members_with_card_pct" in bases:
            bases = bases | {"members_total"}
            out[("members", False, True)] = self._once("carded", self._carded)[:, n]
        if "womens_committee_pct" in bases:
            bases = bases | {"members_female"}
            has, about = self._once("committees", self._committees)
            out[("marks", "womens_committee_pct")] = (has[:, n], about[:, n])
        if "unions_rated_good_pct" in bases:
            good, rated = self._once("ratings", self._ratings)
            out[("marks", "unions_rated_good_pct")] = (good[:, n], rated[:, n])
        for ind in indicators:
            if ind.base in RECORD_PARTS:
                records = self._once(("records", ind.base), lambda b=ind.base: self._record_parts(b))
                if records is not None:
                    out[("parts", ind.code)] = records[n]
            if ind.base in ("cla_coverage_pct", "workers_conference_pct"):
                key = ("plan_wp", ind.base, ind.min_workers)
                parts = self._once(key, lambda i=ind: self._workplace_plan_parts(i.base, i.min_workers))
                out[("parts", ind.code)] = parts[n]
        for min_workers in thresholds:
            out[("wp", min_workers)] = self._once(("wp", min_workers), lambda m=min_workers: self._workplaces(m))[n]
        if "members_total" in bases:
            out["members"] = self._once("members", lambda: self._members(False))[:, n]
        if "members_female" in bases:
            out["members_f"] = self._once("members_f", lambda: self._members(True))[:, n]
        for code, (flow, kind) in FLOW_KINDS.items():
            if bases & {code, "members_net_growth"}:
                out[flow] = int(self._once(flow, lambda k=kind: self._member_flow(k))[n])
        if "unions_founded" in bases:
            out["founded"] = int(self._once("founded", lambda: self._flow(*st.founded))[n])
        if "unions_dissolved" in bases:
            out["dissolved"] = int(self._once("dissolved", lambda: self._flow(*st.dissolved))[n])
        return out
