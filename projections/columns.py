"""The rows the indicators count over, held as arrays and kept in step by ledger position.

At a million members an indicator question would otherwise count a million span rows in the
database. The views stay the record; this is a copy of their rows as of one view position,
read again only for what changed since: every span row carries the positions of the events
that wrote and superseded it, and ``member_flows`` is append-only (an admission's flow is the
span it wrote). A question is then a few
vectorised passes over arrays instead of a scan per request.

Membership spans are kept as signed records: a row counts +1 from its ``recorded_at`` and,
once superseded, -1 from its ``superseded_at``, so a supersession is an appended record and
nothing already loaded changes. The structure tables (a few tens of thousands of rows) are
read again whole when they change.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domain.workplaces import SECTORS
from projections.base import ViewCursor
from projections.day_index import CardedRecords, Flows, Records
from projections.membership import ADMITTED
from projections.runner import FOLLOWER, INTACT, REBUILDS, ViewsUnavailable

OPEN = int(np.iinfo(np.int32).max)  # valid_to of a span that has not ended
NEVER = int(np.iinfo(np.int64).max)  # superseded_at of a span still current
NO_DAY = int(np.iinfo(np.int32).max)  # the day of a card a member does not have
FEMALE_SQL = "CASE WHEN g.gender = 'female' THEN 1 ELSE 0 END"
# The span an admission wrote: its position is the member's admission's (a later change to the
# member's placement writes rows of its own and only marks this one superseded).
ADMITTING_SQL = "CASE WHEN s.position = g.admitted_pos THEN 1 ELSE 0 END"

STRUCTURE_TABLES = ("unit_spans", "union_spans", "workplace_spans")
STRUCTURE_SIGNATURE = tuple(
    f"(SELECT MAX({c}) FROM {t})" for t in STRUCTURE_TABLES for c in ("position", "superseded_pos")
) + ("(SELECT MAX(position) FROM surveys)",)


class Ids:
    """Dense integer codes for text ids, so arrays can be indexed by them."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.ids: list[str] = []

    def code(self, key: str) -> int:
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.ids)
            self.ids.append(key)
        return found

    def codes(self, keys: Sequence[str]) -> np.ndarray:
        found = list(map(self.index.get, keys))
        if None in found:
            found = [self.code(k) for k in keys]
        return np.array(found, np.int32)

    def __len__(self) -> int:
        return len(self.ids)


class Growing:
    """An append-only array that doubles its capacity, so appends cost what they add."""

    def __init__(self, dtype: Any):
        self.data = np.empty(1024, dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self.data):
            grown = np.empty(max(need, 2 * len(self.data)), self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : need] = values
        self.n = need

    @property
    def values(self) -> np.ndarray:
        return self.data[: self.n]


@dataclass(frozen=True)
class Spans:
    """Placement spans as columns: entity and holder codes, validity, and when known."""

    entity: np.ndarray
    holder: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray  # OPEN where the span has not ended
    terminal: np.ndarray
    recorded_at: np.ndarray
    superseded_at: np.ndarray  # NEVER where still current

    @classmethod
    def read(cls, cur: ViewCursor, table: str, entities: Ids, holders: Ids) -> Spans:
        rows = cur.execute(
            f"SELECT entity_id, holder_id, valid_from, COALESCE(valid_to, {OPEN}), terminal, recorded_at,"
            f" COALESCE(superseded_at, {NEVER}) FROM {table}"
        ).fetchall()
        cols = list(zip(*rows)) if rows else [()] * 7
        return cls(
            entities.codes(cols[0]),
            holders.codes(cols[1]),
            np.array(cols[2], np.int64),
            np.array(cols[3], np.int64),
            np.array(cols[4], bool),
            np.array(cols[5], np.int64),
            np.array(cols[6], np.int64),
        )

    def known(self, k: int) -> np.ndarray:
        return (self.recorded_at <= k) & (self.superseded_at > k)

    def visible(self, k: int, d: int) -> np.ndarray:
        return self.known(k) & (self.valid_from <= d) & (self.valid_to > d)


@dataclass(frozen=True)
class StructureColumns:
    """Units, unions and workplaces as of one view position (read whole when they change)."""

    signature: tuple
    unit_rows: list[tuple[str, str, int, int | None, int, int]]  # child, parent, from, to, recorded, superseded
    union_spans: Spans
    workplace_spans: Spans
    union_workplace: np.ndarray  # by union code; -1 where unknown
    workplace_sector: np.ndarray  # by workplace code: its place in domain.workplaces.SECTORS (-1: unknown)
    founded: tuple[np.ndarray, np.ndarray, np.ndarray]  # union, day, recorded_at
    dissolved: tuple[np.ndarray, np.ndarray, np.ndarray]
    surveys: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # workplace, as_of, workers, at, pos
    survey_order: np.ndarray  # the surveys by workplace, then as_of, then position


PLAN_SIGNATURE = tuple(
    f"(SELECT MAX(position) FROM {t})"
    for t in (
        "union_ratings",
        "union_committees",
        "union_dues",
        "union_training",
        "workplace_agreements",
        "workplace_conferences",
    )
)
# The members' rows' last positions (each an index lookup): a delta is read only where one is past
# the columns' position, so a position reached by a report or its verification costs no more reads.
MEMBERS_SIGNATURE = (
    "(SELECT MAX(position) FROM member_spans)",
    "(SELECT MAX(superseded_pos) FROM member_spans)",
    "(SELECT MAX(position) FROM member_flows)",
    "(SELECT MAX(position) FROM member_cards)",
)
# Everything a refresh asks before it reads any row, in one statement (one round trip).
SIGNATURES = "SELECT " + ", ".join((*STRUCTURE_SIGNATURE, *PLAN_SIGNATURE, *MEMBERS_SIGNATURE))


def _arrays(rows: list[tuple], n: int) -> list[np.ndarray]:
    cols = list(zip(*rows)) if rows else [()] * n
    return [np.array(c, np.int64) for c in cols]


@dataclass(frozen=True)
class PlanColumns:
    """The plans' records of unions and workplaces (thousands of rows: read whole when they change).
    Union and workplace codes are those of the snapshot's ``Ids``; days are ordinals."""

    signature: tuple
    ratings: dict[str, np.ndarray]  # union, year, good, decided_on, at, order (by union, year, position)
    committees: dict[str, np.ndarray]  # union, founded_on, at
    dues: dict[str, np.ndarray]  # union, start, end, due, collected, recorded_on, at, order
    training: dict[str, np.ndarray]  # union, year, officials, trained, recorded_on, at, order
    agreements: dict[str, np.ndarray]  # workplace, signed_on, expires_on, at
    conferences: dict[str, np.ndarray]  # workplace, held_on, at


@dataclass(frozen=True)
class Snapshot:
    """Everything a question reads, fixed at one view position."""

    position: int
    units: Ids
    unions: Ids
    workplaces: Ids
    structure: StructureColumns
    # membership spans as signed records
    holder: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray
    at: np.ndarray
    sign: np.ndarray
    female: np.ndarray  # 1 where the member is a woman
    # admissions (kind 0, read from their spans), departures (kind 1) and moves (2, 3: member_flows)
    flow_kind: np.ndarray
    flow_union: np.ndarray
    flow_day: np.ndarray
    flow_at: np.ndarray
    flow_female: np.ndarray
    # by membership record: its member's number (the admission's position, see projections.membership)
    member: np.ndarray
    plans: PlanColumns
    cards: Cards
    # what every question at this position works out alike, worked out by the first that needs it
    # (kept by RegisterColumns until the rows it holds change)
    derived: dict = field(default_factory=dict, compare=False, repr=False)

    def once(self, key: object, compute: Any) -> Any:
        """``compute()``, kept for every question at this view position (two threads may both
        work it out; either answer is the same)."""
        found = self.derived.get(key)
        if found is None:
            found = self.derived[key] = compute()
        return found

    def flows(self, kind: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The members' flows of one kind: union codes, days, instants recorded and women marks,
        picked out once per position rather than by each count."""

        def compute():
            of_kind = np.flatnonzero(self.flow_kind == kind)
            return (
                self.flow_union.take(of_kind),
                self.flow_day.take(of_kind),
                self.flow_at.take(of_kind),
                self.flow_female.take(of_kind),
            )

        return self.once(("flows", kind), compute)

    def card_since(self) -> np.ndarray:
        """By member number, the day of the member's earliest card (NO_DAY: none), all cards known."""

        def compute():
            cards = self.cards
            since = cards.first_day.copy()  # int32, as the days are: 4 bytes a member number
            np.minimum.at(since, cards.extra_member, cards.extra_day)
            return since

        return self.once("card_since", compute)

    def records_index(self) -> Records:
        """The membership records by union and day (projections.day_index), once per position."""
        size = len(self.unions) + 1
        return self.once(
            "records_index",
            lambda: Records(
                self.holder, self.valid_from, self.valid_to, self.at, self.sign, self.female, self.member, size, OPEN
            ),
        )

    def carded_index(self) -> CardedRecords:
        """The membership records counted while their member holds a card, on any day as known
        at any instant (projections.day_index), once per position."""

        def compute():
            cards = self.cards
            first = np.flatnonzero(cards.first_at < NEVER)
            members = np.concatenate([first, cards.extra_member])
            days = np.concatenate([cards.first_day[first].astype(np.int64), cards.extra_day])
            at = np.concatenate([cards.first_at[first], cards.extra_at])
            return CardedRecords(self.records_index(), members, days, at)

        return self.once("carded_index", compute)

    def flow_index(self, kind: int) -> Flows:
        """The members' flows of one kind by union and day, once per position."""

        def compute():
            unions, days, at, _female = self.flows(kind)
            return Flows(unions, days, at, len(self.unions) + 1)

        return self.once(("flow_index", kind), compute)


@dataclass(frozen=True)
class Cards:
    """Members' cards by member number: each member's first card recorded (its day and instant;
    NO_DAY / NEVER for a member without one), and the member's other cards (reprints, renewals,
    ``extra_*``) apart, with a mark on the members who have any. A refresh that reads new cards
    makes new arrays, so a snapshot's never change under its questions."""

    first_day: np.ndarray
    first_at: np.ndarray
    has_extra: np.ndarray
    extra_member: np.ndarray
    extra_day: np.ndarray
    extra_at: np.ndarray

    @classmethod
    def empty(cls) -> Cards:
        none = np.zeros(0, np.int64)
        return cls(np.zeros(0, np.int32), none, np.zeros(0, bool), none, np.zeros(0, np.int32), none)

    def adding(self, members: np.ndarray, days: np.ndarray, at: np.ndarray, size: int) -> Cards:
        """These with the cards read since (in ledger order), for member numbers below ``size``
        (grown to twice what is needed, so that new members seldom make new arrays)."""
        size = max(size, len(self.first_day), int(members.max(initial=-1)) + 1)
        if size > len(self.first_day):
            size = max(size, 2 * len(self.first_day))
        first_day = np.full(size, NO_DAY, np.int32)
        first_at = np.full(size, NEVER, np.int64)
        has_extra = np.zeros(size, bool)
        first_day[: len(self.first_day)] = self.first_day
        first_at[: len(self.first_at)] = self.first_at
        has_extra[: len(self.has_extra)] = self.has_extra
        # a member's first card: its first in the batch, where it had none before
        first = np.zeros(len(members), bool)
        first[np.unique(members, return_index=True)[1]] = True
        first &= first_at[members] == NEVER
        first_day[members[first]] = days[first]
        first_at[members[first]] = at[first]
        has_extra[members[~first]] = True
        return Cards(
            first_day,
            first_at,
            has_extra,
            np.concatenate([self.extra_member, members[~first]]),
            np.concatenate([self.extra_day, days[~first]]),
            np.concatenate([self.extra_at, at[~first]]),
        )


@dataclass
class _Members:
    holder: Growing = field(default_factory=lambda: Growing(np.int32))
    valid_from: Growing = field(default_factory=lambda: Growing(np.int32))
    valid_to: Growing = field(default_factory=lambda: Growing(np.int32))
    at: Growing = field(default_factory=lambda: Growing(np.int64))
    sign: Growing = field(default_factory=lambda: Growing(np.int8))
    female: Growing = field(default_factory=lambda: Growing(np.int8))
    flow_kind: Growing = field(default_factory=lambda: Growing(np.int8))
    flow_union: Growing = field(default_factory=lambda: Growing(np.int32))
    flow_day: Growing = field(default_factory=lambda: Growing(np.int32))
    flow_at: Growing = field(default_factory=lambda: Growing(np.int64))
    flow_female: Growing = field(default_factory=lambda: Growing(np.int8))
    member: Growing = field(default_factory=lambda: Growing(np.int32))  # a ledger position
    cards: Cards = field(default_factory=Cards.empty)


class RegisterColumns:
    """One tenant's columns, shared by the threads of a process; ``snapshot`` brings them up to date."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.position = -1
        self.rebuilds = -1
        self.units, self.unions, self.workplaces = Ids(), Ids(), Ids()
        self.structure: StructureColumns | None = None
        self.plans: PlanColumns | None = None
        self.members = _Members()
        self.derived: dict = {}

    def snapshot(self, cur: ViewCursor) -> Snapshot:
        """The columns as of the views' position, read in the caller's read transaction, which
        must see one snapshot for the position and every row read after it."""
        marks = dict(
            cur.execute(
                f"SELECT name, position FROM view_positions WHERE name IN (?, ?) AND {INTACT}", (FOLLOWER, REBUILDS)
            ).fetchall()
        )
        if not marks:  # a crash emptied the views: nothing here is to be kept
            raise ViewsUnavailable("the views are being rebuilt from the ledger")
        position, rebuilds = marks.get(FOLLOWER) or 0, marks.get(REBUILDS) or 0
        with self._lock:
            if rebuilds != self.rebuilds or position < self.position:  # the views were rebuilt
                self._reset()
                self.rebuilds = rebuilds
            if position != self.position and self._refresh(cur, position):
                self.derived = {}
            m = self.members
            assert self.structure is not None and self.plans is not None  # read by the first refresh
            return Snapshot(
                self.position,
                self.units,
                self.unions,
                self.workplaces,
                self.structure,
                m.holder.values,
                m.valid_from.values,
                m.valid_to.values,
                m.at.values,
                m.sign.values,
                m.female.values,
                m.flow_kind.values,
                m.flow_union.values,
                m.flow_day.values,
                m.flow_at.values,
                m.flow_female.values,
                m.member.values,
                self.plans,
                m.cards,
                self.derived,
            )

    def _refresh(self, cur: ViewCursor, position: int) -> bool:
        """Read what changed up to ``position``; whether any row the columns hold changed (a
        position reached by events that touch none of them, a report or its verification, leaves
        what the snapshots derived from the rows valid)."""
        m = self.members
        before = (self.structure, self.plans, m.holder.n, m.flow_kind.n, m.cards)
        row = cur.execute(SIGNATURES).fetchone()
        assert row is not None  # a SELECT of subqueries and no FROM returns one row
        n, p = len(STRUCTURE_SIGNATURE), len(PLAN_SIGNATURE)
        signature, plans, latest = tuple(row[:n]), tuple(row[n : n + p]), tuple(row[n + p :])
        if self.structure is None or self.structure.signature != signature:
            self.structure = self._read_structure(cur, signature)
        if self.plans is None or self.plans.signature != plans:
            self.plans = self._read_plans(cur, plans)
        self._read_members(cur, max(self.position, 0), latest)
        self.position = position
        after = (self.structure, self.plans, m.holder.n, m.flow_kind.n, m.cards)
        return (
            any(a is not b for a, b in zip(before[:2], after[:2]))
            or before[2:4] != after[2:4]
            or (before[4] is not after[4])
        )

    def _read_structure(self, cur: ViewCursor, signature: tuple) -> StructureColumns:
        unit_rows = cur.execute(
            "SELECT entity_id, holder_id, valid_from, valid_to, recorded_at, superseded_at FROM unit_spans"
        ).fetchall()
        union_spans = Spans.read(cur, "union_spans", self.unions, self.units)
        workplace_spans = Spans.read(cur, "workplace_spans", self.workplaces, self.units)
        rows = cur.execute(
            "SELECT union_id, workplace_id, founded_on, founded_at, dissolved_on, dissolved_at FROM union_state"
        ).fetchall()
        unions = self.unions.codes([r[0] for r in rows])
        union_workplace = np.full(len(self.unions), -1, np.int64)
        union_workplace[unions] = self.workplaces.codes([r[1] for r in rows])
        sectors = cur.execute("SELECT workplace_id, sector FROM workplace_state").fetchall()
        workplace_sector = np.full(len(self.workplaces) + len(sectors), -1, np.int64)
        places = self.workplaces.codes([r[0] for r in sectors])
        workplace_sector[places] = [SECTORS.index(r[1]) if r[1] in SECTORS else -1 for r in sectors]
        ended = [i for i, r in enumerate(rows) if r[4] is not None]
        founded = (unions, np.array([r[2] for r in rows], np.int64), np.array([r[3] for r in rows], np.int64))
        dissolved = (
            unions[ended],
            np.array([rows[i][4] for i in ended], np.int64),
            np.array([rows[i][5] for i in ended], np.int64),
        )
        rows = cur.execute("SELECT workplace_id, as_of, workers, recorded_at, position FROM surveys").fetchall()
        cols = list(zip(*rows)) if rows else [()] * 5
        as_of, workers, at, pos = (np.array(c, np.int64) for c in cols[1:])
        surveys = (self.workplaces.codes(cols[0]), as_of, workers, at, pos)
        return StructureColumns(
            signature,
            unit_rows,
            union_spans,
            workplace_spans,
            union_workplace,
            workplace_sector,
            founded,
            dissolved,
            surveys,
            np.lexsort((pos, as_of, surveys[0])),
        )

    def _read_plans(self, cur: ViewCursor, signature: tuple) -> PlanColumns:
        def read(sql: str, names: Sequence[str], codes: Ids) -> dict[str, np.ndarray]:
            rows = cur.execute(sql).fetchall()
            out = {names[0]: codes.codes([r[0] for r in rows])}
            out.update(zip(names[1:], _arrays([r[1:] for r in rows], len(names) - 1)))
            return out

        ratings = read(
            "SELECT union_id, year, good, decided_on, recorded_at, position FROM union_ratings",
            ("union", "year", "good", "decided_on", "at", "pos"),
            self.unions,
        )
        ratings["order"] = np.lexsort((ratings["pos"], ratings["year"], ratings["union"]))
        dues = read(
            "SELECT union_id, period_start, period_end, due, collected, recorded_on, recorded_at, position"
            " FROM union_dues",
            ("union", "start", "end", "due", "collected", "recorded_on", "at", "pos"),
            self.unions,
        )
        dues["order"] = np.lexsort((dues["pos"], dues["end"], dues["start"], dues["union"]))
        training = read(
            "SELECT union_id, year, officials, trained, recorded_on, recorded_at, position FROM union_training",
            ("union", "year", "officials", "trained", "recorded_on", "at", "pos"),
            self.unions,
        )
        training["order"] = np.lexsort((training["pos"], training["year"], training["union"]))
        return PlanColumns(
            signature,
            ratings,
            read("SELECT union_id, founded_on, recorded_at FROM union_committees", ("union", "on", "at"), self.unions),
            dues,
            training,
            read(
                "SELECT workplace_id, signed_on, expires_on, recorded_at FROM workplace_agreements",
                ("workplace", "signed_on", "expires_on", "at"),
                self.workplaces,
            ),
            read(
                "SELECT workplace_id, held_on, recorded_at FROM workplace_conferences",
                ("workplace", "on", "at"),
                self.workplaces,
            ),
        )

    def _read_members(self, cur: ViewCursor, since: int, latest: Sequence[int | None]) -> None:
        """The members' rows written or superseded after ``since``; ``latest``: the last position
        of each of ``MEMBERS_SIGNATURE`` (none past ``since``: that read is not sent)."""
        spans_at, superseded_at, flows_at, cards_at = (0 if v is None else v for v in latest)
        m = self.members
        # a member's gender is on its state row, read along with each of its spans
        spans = (
            "s.holder_id",
            "s.valid_from",
            f"COALESCE(s.valid_to, {OPEN})",
            FEMALE_SQL,
            "COALESCE(g.admitted_pos, 0)",
        )
        joined = "member_spans s JOIN member_state g ON g.member_id = s.entity_id"
        for where, sign, at, last in (
            ("position", 1, "recorded_at", spans_at),
            ("superseded_pos", -1, "superseded_at", superseded_at),
        ):
            if last <= since:
                continue
            holders, *numbers = _joined(cur, joined, (*spans, f"s.{at}", ADMITTING_SQL), f"s.{where} > ?", (since,))
            if holders is None:
                continue
            codes = self.unions.codes(holders)
            m.holder.extend(codes)
            m.valid_from.extend(numbers[0])
            m.valid_to.extend(numbers[1])
            m.female.extend(numbers[2])
            m.member.extend(numbers[3])
            m.at.extend(numbers[4])
            m.sign.extend(np.full(len(holders), sign, np.int8))
            if sign == 1:  # an admission's flow is its first span (projections.membership)
                admitted = np.flatnonzero(numbers[5])
                m.flow_union.extend(codes.take(admitted))
                m.flow_kind.extend(np.full(len(admitted), ADMITTED, np.int8))
                m.flow_day.extend(numbers[0].take(admitted))
                m.flow_at.extend(numbers[4].take(admitted))
                m.flow_female.extend(numbers[2].take(admitted))
        unions, *numbers = (
            _joined(
                cur, "member_flows", ("union_id", "kind", "on_day", "recorded_at", "female"), "position > ?", (since,)
            )
            if flows_at > since
            else [None]
        )
        if unions is not None:
            m.flow_union.extend(self.unions.codes(unions))
            m.flow_kind.extend(numbers[0])
            m.flow_day.extend(numbers[1])
            m.flow_at.extend(numbers[2])
            m.flow_female.extend(numbers[3])
        # a card is told by its member's number; the first column (its position) is not kept
        _positions, *numbers = (
            _joined(
                cur,
                "member_cards c JOIN member_state g ON g.member_id = c.member_id",
                ("c.position", "COALESCE(g.admitted_pos, 0)", "c.issued_on", "c.recorded_at"),
                "c.position > ?",
                (since,),
            )
            if cards_at > since
            else [None]
        )
        members = int(m.member.values.max(initial=0)) + 1  # every member's number has its place
        if _positions is not None:
            m.cards = m.cards.adding(numbers[0], numbers[1].astype(np.int32), numbers[2], members)
        elif members > len(m.cards.first_day):
            none = np.zeros(0, np.int64)
            m.cards = m.cards.adding(none, none.astype(np.int32), none, members)


def _joined(cur: ViewCursor, table: str, columns: Sequence[str], where: str, params: Sequence[Any]) -> list[Any]:
    """The rows' columns, each sent as one comma-joined string (a million rows as a few strings
    instead of a million tuples): the first as a list of ids, the rest as integer arrays.
    All None when no row matches."""
    if cur.dialect == "postgres":
        parts = [f"string_agg(({c})::text, ',')" for c in columns]
    else:
        parts = [f"group_concat({c}, ',')" for c in columns]
    row = cur.execute(f"SELECT {', '.join(parts)} FROM {table} WHERE {where}", params).fetchone()
    if row is None or row[0] is None:
        return [None] * len(columns)
    return [row[0].split(","), *(np.fromstring(text, dtype=np.int64, sep=",") for text in row[1:])]
