"""The plans' other records: ratings, women's committees, dues and training of unions, collective
agreements and workers' conferences of workplaces, and members' cards.

Every table is append-only, one row per event with the event's ledger position and recording
instant: a later record for the same union and year (or period) replaces an earlier one when the
indicators read them (the latest known at ``known_at`` wins), so history keeps both and any past
state of knowledge can be asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.indicators import GOOD_RATINGS
from domain.periods import parse_period
from projections.base import (
    DERIVED,
    HANDLED,
    Projection,
    StoredRun,
    ViewCursor,
    day,
    event_name,
    micros,
    name_of_topic,
    route_of,
    sql_day,
)

PLAN_TABLES = {
    "union_ratings": (
        "position BIGINT NOT NULL, union_id TEXT NOT NULL, year INTEGER NOT NULL, rating TEXT NOT NULL,"
        " good INTEGER NOT NULL, decided_on INTEGER NOT NULL, recorded_at BIGINT NOT NULL"
    ),
    "union_committees": "position BIGINT NOT NULL, union_id TEXT NOT NULL, founded_on INTEGER NOT NULL,"
    " recorded_at BIGINT NOT NULL",
    "union_dues": (
        "position BIGINT NOT NULL, union_id TEXT NOT NULL, period TEXT NOT NULL, period_start INTEGER NOT NULL,"
        " period_end INTEGER NOT NULL, due BIGINT NOT NULL, collected BIGINT NOT NULL,"
        " recorded_on INTEGER NOT NULL, recorded_at BIGINT NOT NULL"
    ),
    "union_training": (
        "position BIGINT NOT NULL, union_id TEXT NOT NULL, year INTEGER NOT NULL, officials BIGINT NOT NULL,"
        " trained BIGINT NOT NULL, recorded_on INTEGER NOT NULL, recorded_at BIGINT NOT NULL"
    ),
    "workplace_agreements": (
        "position BIGINT NOT NULL, workplace_id TEXT NOT NULL, signed_on INTEGER NOT NULL,"
        " expires_on INTEGER NOT NULL, recorded_at BIGINT NOT NULL"
    ),
    "workplace_conferences": "position BIGINT NOT NULL, workplace_id TEXT NOT NULL, held_on INTEGER NOT NULL,"
    " recorded_at BIGINT NOT NULL",
    "member_cards": (
        "position BIGINT NOT NULL, member_id TEXT NOT NULL, card_no TEXT NOT NULL, issued_on INTEGER NOT NULL,"
        " recorded_at BIGINT NOT NULL"
    ),
}
# The columns each event fills, in the tables' order (the first, position, included).
COLUMNS = {
    table: tuple(part.split()[0] for part in columns.split(",") if part.strip())
    for table, columns in PLAN_TABLES.items()
}


class PlanRecords(Projection):
    name = "plan_records"
    tables = tuple(PLAN_TABLES)
    ddl = (
        *(f"CREATE TABLE IF NOT EXISTS {table} ({columns})" for table, columns in PLAN_TABLES.items()),
        # the indicator columns read what was added since a position; the cards also by member
        *(f"CREATE INDEX IF NOT EXISTS {table}_position ON {table} (position)" for table in PLAN_TABLES),
        "CREATE INDEX IF NOT EXISTS member_cards_member ON member_cards (member_id)",
    )
    # No handler here reads a table back (each only appends): a rebuild builds every index once at the end.
    readers_indexes = (*(f"{table}_position" for table in PLAN_TABLES), "member_cards_member")

    # A record's row follows from its event alone (a card's member version is the membership
    # view's; a union's or workplace's version is touched here, a run at a time). Dues stay in
    # Python (their period's days are worked out by domain.periods).
    derived = frozenset(
        {
            "MemberCardIssued",
            "UnionRated",
            "WomensCommitteeFounded",
            "OfficialsTrainingRecorded",
            "CollectiveAgreementSigned",
            "WorkersConferenceHeld",
        }
    )
    # Each derived event: its table, the entity whose state it touches (or None), the attribute of
    # its business day (``on_day``, the trail's column) and its row's columns after the position
    # (``j`` its state, ``at`` its instant), as the handlers below write them.
    _DERIVED_ROWS = {
        "MemberCardIssued": ("member_cards", None, "issued_on", "entity_id, j->>'card_no', on_day, at"),
        "UnionRated": (
            "union_ratings",
            "union",
            "decided_on",
            "j->>'union_id', (j->>'year')::integer, j->>'rating', CASE WHEN j->>'rating' IN"
            f" ({', '.join(repr(r) for r in GOOD_RATINGS)}) THEN 1 ELSE 0 END, on_day, at",
        ),
        "WomensCommitteeFounded": ("union_committees", "union", "founded_on", "j->>'union_id', on_day, at"),
        "OfficialsTrainingRecorded": (
            "union_training",
            "union",
            "recorded_on",
            "j->>'union_id', (j->>'year')::integer, (j->>'officials')::bigint, (j->>'trained')::bigint, on_day, at",
        ),
        "CollectiveAgreementSigned": (
            "workplace_agreements",
            "workplace",
            "signed_on",
            f"j->>'workplace_id', on_day, {sql_day('expires_on')}, at",
        ),
        "WorkersConferenceHeld": ("workplace_conferences", "workplace", "held_on", "j->>'workplace_id', on_day, at"),
    }

    def derive(self, cur: ViewCursor, run: StoredRun) -> None:
        """The handlers below in SQL: each kind's rows from the stored events (entity, day and
        instant from the trail's columns beside each event), then each union's and workplace's
        state takes its latest event's version, as ``_touch`` does."""
        names = {name_of_topic(topic): topic for topic in run.topics}
        touched: dict[str, list[str]] = {}
        for name, (table, kind, business, columns) in self._DERIVED_ROWS.items():
            if name not in names:
                continue
            select, params = run.select(names[name], business=business)
            cur.execute(
                f"INSERT INTO {table} ({', '.join(COLUMNS[table])}) SELECT position, {columns} FROM ({select}) s",
                params,
            )
            if kind is not None:
                touched.setdefault(kind, []).append(names[name])
        for kind, topics in touched.items():
            select, params = StoredRun(run.table, run.first, run.last, tuple(topics)).select(
                state=False, entity=f"{kind}_id"
            )
            cur.execute(
                f"UPDATE {kind}_state SET version = v.version, updated_at = v.at FROM (SELECT DISTINCT ON (entity_id)"
                f" entity_id, version, at FROM ({select}) s ORDER BY entity_id, version DESC) v"
                f" WHERE {kind}_id = v.entity_id AND {kind}_state.version < v.version",
                params,
            )

    def process_stored(self, cur: ViewCursor, items: Sequence[tuple[str, object | None, int]], table: str) -> None:
        """The batch's handled events together, then its derived ones as one run: the tables are
        independent and append-only, and a state touched takes the latest version whatever the
        order, so a union's dues (handled) need not cut its ratings and training into runs of one."""
        batch: list[tuple[object, int]] = []
        run: list[tuple[str, int]] = []
        for topic, event, position in items:
            route = route_of(type(self), topic)  # type: ignore[arg-type]  # a class is hashable; mypy#20409
            if route == DERIVED:
                run.append((topic, position))
            elif route == HANDLED:
                batch.append((event, position))
        if batch:
            self.process_batch(cur, batch)
        if run:
            self._derive_run(cur, table, run)

    def _insert(self, cur: ViewCursor, table: str, rows: list[tuple]) -> None:
        cur.insert_rows(table, COLUMNS[table], rows)

    @staticmethod
    def _touch(cur: ViewCursor, kind: str, items: list[tuple[Any, int]]) -> None:
        """The entity's state row takes the version and instant of its latest event, as its other
        events leave them (each entity once: the last of the run)."""
        latest = {getattr(e, f"{kind}_id"): (e.originator_version, micros(e.timestamp)) for e, _p in items}
        cur.update_rows(
            f"UPDATE {kind}_state SET version = v.version, updated_at = v.at {{rows}}"
            f" WHERE {kind}_id = v.entity AND {kind}_state.version < v.version",
            (("version", "integer"), ("at", "bigint"), ("entity", "text")),
            [(version, at, entity) for entity, (version, at) in latest.items()],
        )

    def process_batch(self, cur: ViewCursor, items: Sequence[tuple[object, int]]) -> None:
        """Each table's rows of the batch in one statement: the tables are independent and
        append-only, so a union's rating, dues and training recorded in turn need not each
        cost a statement of their own."""
        runs: dict[str, list[tuple[Any, int]]] = {}
        for event, position in items:
            name = event_name(event)
            if hasattr(self, "bulk_" + name):
                runs.setdefault(name, []).append((event, position))
        for name, run in runs.items():
            getattr(self, "bulk_" + name)(cur, run)
        for kind in ("union", "workplace"):  # a member's: projections.membership
            mine = [(e, p) for e, p in items if self.handles(event_name(e)) and hasattr(e, f"{kind}_id")]
            if mine:
                self._touch(cur, kind, mine)

    def bulk_UnionRated(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        self._insert(
            cur,
            "union_ratings",
            [
                (
                    p,
                    e.union_id,
                    int(e.year),
                    e.rating,
                    int(e.rating in GOOD_RATINGS),
                    day(e.decided_on),
                    micros(e.timestamp),
                )
                for e, p in items
            ],
        )

    def bulk_WomensCommitteeFounded(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        self._insert(
            cur, "union_committees", [(p, e.union_id, day(e.founded_on), micros(e.timestamp)) for e, p in items]
        )

    def bulk_DuesRecorded(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        rows = []
        for e, p in items:
            span = parse_period(e.period)
            rows.append(
                (
                    p,
                    e.union_id,
                    span.code,
                    day(span.start),
                    day(span.end),
                    int(e.due),
                    int(e.collected),
                    day(e.recorded_on),
                    micros(e.timestamp),
                )
            )
        self._insert(cur, "union_dues", rows)

    def bulk_OfficialsTrainingRecorded(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        self._insert(
            cur,
            "union_training",
            [
                (p, e.union_id, int(e.year), int(e.officials), int(e.trained), day(e.recorded_on), micros(e.timestamp))
                for e, p in items
            ],
        )

    def bulk_CollectiveAgreementSigned(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        self._insert(
            cur,
            "workplace_agreements",
            [(p, e.workplace_id, day(e.signed_on), day(e.expires_on), micros(e.timestamp)) for e, p in items],
        )

    def bulk_WorkersConferenceHeld(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        self._insert(
            cur,
            "workplace_conferences",
            [(p, e.workplace_id, day(e.held_on), micros(e.timestamp)) for e, p in items],
        )

    def bulk_MemberCardIssued(self, cur: ViewCursor, items: list[tuple[Any, int]]) -> None:
        self._insert(
            cur,
            "member_cards",
            [(p, e.member_id, e.card_no, day(e.issued_on), micros(e.timestamp)) for e, p in items],
        )
