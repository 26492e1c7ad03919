"""Keeps the views in step with the ledger, exactly once and in ledger order.

Each view belongs to a lane: a row of ``view_positions`` holding how far its views have
applied the ledger. A lane's rows and its position always change in one transaction, and
only a writer holding the tenant lock changes them (commands, imports, catch-ups, rebuilds):
so the views always hold exactly what their positions say, and a crash between writing
events and updating views only leaves the views behind, for the next catch-up.

On PostgreSQL the views' tables are UNLOGGED (the positions, like the ledger, are not): a
crash of the server empties them, and with them the one row of ``views_intact``. Finding
that row gone, the next catch-up rebuilds the views from the ledger.

A rebuild never shows readers a half-built view: on PostgreSQL it builds a complete new set
of views in a schema of its own and swaps it in with one short transaction; on SQLite it
rewrites the views in one transaction, which readers see only once it commits.

An event a view cannot apply (say, text a database cannot hold) stops its lane there with
``ViewsStopped`` naming the position; the views keep their last consistent state.
"""

from __future__ import annotations

import functools
import logging
import queue
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from persistence.outage import database_away
from projections.base import (
    FEW_ROWS,
    HANDLED,
    MAIN_LANE,
    CleaningCursor,
    Projection,
    Transaction,
    ViewCursor,
    route_of,
    unlogged,
)

log = logging.getLogger(__name__)

POSITIONS_DDL = "CREATE TABLE IF NOT EXISTS view_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
FOLLOWER = MAIN_LANE  # the lane of every view without one of its own
REBUILDS = "rebuilds"  # its position counts the times the views were rebuilt
ANALYZE_AFTER = 10_000  # events applied in one go, after which the planner's statistics are renewed
DERIVING_BATCH = 10_000  # events per view transaction when runs of them are derived in SQL
# A rebuild's items waiting for one lane (SharedReads), past which the reader waits for it: room
# for a few batches, so that memory does not grow with the part of the ledger a lane applies alone.
QUEUED_ITEMS = 4 * DERIVING_BATCH
SCHEMA = "schema"  # its position holds a checksum of every view's DDL
# One row while the views hold what their positions say; unlogged with them, so a crash of the
# server that empties them empties it too.
INTACT_DDL = "CREATE TABLE IF NOT EXISTS views_intact (intact BOOLEAN PRIMARY KEY)"
INTACT = "EXISTS (SELECT 1 FROM views_intact)"
PLANNED_ONCE = True  # apply_at's views through the schema's functions (else planned each time: bench variants)
BOOK_TABLES = ("view_positions", "views_intact")  # kept with the views, swapped with them
INDEX_ON = re.compile(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS \w+ ON (\w+)")
SWAP_LOCK_TIMEOUT = "500ms"  # a swap waiting on readers gives way to them, then tries again
SWAP_ATTEMPTS = 120


class ViewsStopped(Exception):
    """A view could not apply the event at ``position``: its lane stays before it."""

    def __init__(self, position: int, lane: str, reason: str):
        super().__init__(f"the views stopped before the event at position {position} ({lane}): {reason}")
        self.position, self.lane, self.reason = position, lane, reason


class ViewsUnavailable(Exception):
    """The views were emptied by a crash and are being rebuilt: a reader tries again shortly."""


class ViewsMoved(Exception):
    """A lane was not where its writer read it: someone wrote views without the tenant lock."""


@dataclass(frozen=True)
class ViewsState:
    """Where the views stand against the ledger, read in one statement."""

    views: int  # the lane furthest behind (0 where a crash emptied the views)
    ledger: int  # the last position recorded
    intact: bool

    @property
    def current(self) -> bool:
        return self.intact and self.views >= self.ledger


class Projector:
    """Pulls notifications from the ledger's recorder and applies them to every projection.

    Every method that writes views expects the caller to hold the tenant lock.
    """

    def __init__(
        self,
        recorder: Any,
        mapper: Any,
        transaction: Transaction,
        projections: Sequence[Projection],
        batch_size: int = 2000,
        events_table: str | None = None,
        schema: str | None = None,
        ledger_table: str | None = None,
        rebuilding: bool = False,
    ):
        self.recorder = recorder
        self.mapper = mapper
        self.transaction = transaction
        self.projections = list(projections)
        self.batch_size = batch_size
        # Where the stored events can be read in SQL (PostgreSQL, states in plain JSON), large
        # catch-ups and imports derive the ``derived`` events' rows there (Projection.derive).
        self.events_table = events_table
        # The tenant's PostgreSQL schema: a rebuild builds its views beside it, then swaps them in.
        self.schema = schema
        # The ledger's table, where the views are kept beside it (one read gives both positions).
        self.ledger_table = ledger_table
        self._topics: dict[type, str] = {}
        self.lanes: dict[str, list[Projection]] = {FOLLOWER: []}
        # Rebuilding (views no reader sees until they are swapped in): a view with a ``rebuild_lane``
        # follows the ledger in that lane, beside the others (``_rebuild_beside``).
        self.rebuilding = rebuilding
        for projection in self.projections:
            lane = (projection.rebuild_lane if rebuilding else None) or projection.lane
            self.lanes.setdefault(lane, []).append(projection)
        # Per lane, the events one of its views applies in Python: a catch-up that derives reads
        # the state of these only (what every view derives or ignores, of any topic, it leaves).
        self._read = {
            lane: sorted({name for p in views for name in p.handled_names()}) for lane, views in self.lanes.items()
        }

    @property
    def view_tables(self) -> tuple[str, ...]:
        """Every table of the views and their bookkeeping, in the one order all lock them in."""
        return tuple(sorted({*BOOK_TABLES, *(t for p in self.projections for t in p.tables)}))

    def schema_checksum(self) -> int:
        # "unlogged": kept logged before, the views are dropped and rebuilt once as unlogged tables.
        ddl = "\n".join(stmt for p in self.projections for stmt in (p.name, *p.ddl))
        return zlib.crc32(("unlogged\n" + ddl).encode())

    # ---- creating --------------------------------------------------------------------
    def create(self) -> None:
        """Create the views; where their definition changed, drop them so they rebuild from the ledger."""
        with self.transaction(write=True) as cur:
            self._create(cur)

    def _create(self, cur: ViewCursor, rebuilds: int = 0) -> None:
        cur.execute(POSITIONS_DDL)
        stored = cur.scalar("SELECT position FROM view_positions WHERE name = ?", (SCHEMA,))
        checksum = self.schema_checksum()
        if stored is not None and stored != checksum:
            for projection in self.projections:
                for table in projection.tables:
                    cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute("DELETE FROM view_positions WHERE name <> ?", (REBUILDS,))
            cur.execute("UPDATE view_positions SET position = position + 1 WHERE name = ?", (REBUILDS,))
        for projection in self.projections:
            projection.create(cur)
        cur.execute(unlogged(INTACT_DDL) if cur.dialect == "postgres" else INTACT_DDL)
        new = stored is None or stored != checksum
        for name, position in ((FOLLOWER, 0), (SCHEMA, checksum), (REBUILDS, rebuilds)):
            cur.execute(
                "INSERT INTO view_positions (name, position) SELECT ?, ? WHERE NOT EXISTS"
                " (SELECT 1 FROM view_positions WHERE name = ?)",
                (name, position, name),
            )
        cur.execute("UPDATE view_positions SET position = ? WHERE name = ?", (checksum, SCHEMA))
        for lane in self.lanes:  # a new lane's views were kept with the main lane's until now
            cur.execute(
                "INSERT INTO view_positions (name, position) SELECT ?, (SELECT position FROM view_positions"
                " WHERE name = ?) WHERE NOT EXISTS (SELECT 1 FROM view_positions WHERE name = ?)",
                (lane, FOLLOWER, lane),
            )
        if new:  # empty views hold exactly what position 0 says
            self._mark_intact(cur)

    # ---- where the views stand ---------------------------------------------------------
    def state(self) -> ViewsState:
        """Views, ledger and intactness in one round trip (what a reader asks before reading)."""
        if self.ledger_table is None:
            return ViewsState(self.position(), self.ledger_position(), self.intact())
        with self.transaction() as cur:  # one statement: one snapshot of both
            notification_id = "notification_id" if cur.dialect == "postgres" else "rowid"
            row = cur.execute(
                f"SELECT (SELECT min(position) FROM view_positions WHERE name IN ({self._in_lanes})), {INTACT},"
                f" (SELECT max({notification_id}) FROM {self.ledger_table})",
                list(self.lanes),
            ).fetchone()
        assert row is not None  # a SELECT of subqueries and no FROM returns one row
        return ViewsState(row[0] or 0, row[2] or 0, bool(row[1]))

    def position(self, lane: str | None = None) -> int:
        """How far every view (or the views of ``lane``) has applied the ledger."""
        with self.transaction() as cur:  # views emptied by a crash hold nothing, whatever the positions say
            return self.position_in(cur, lane)

    def position_in(self, cur: ViewCursor, lane: str | None = None) -> int:
        """``position``, read in ``cur``'s transaction."""
        if lane is not None:
            return cur.scalar(f"SELECT position FROM view_positions WHERE name = ? AND {INTACT}", (lane,)) or 0
        return (
            cur.scalar(
                f"SELECT min(position) FROM view_positions WHERE name IN ({self._in_lanes}) AND {INTACT}",
                list(self.lanes),
            )
            or 0
        )

    @property
    def _in_lanes(self) -> str:
        return ", ".join("?" * len(self.lanes))

    def ledger_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def is_behind(self) -> bool:
        return self.position() < self.ledger_position()

    def intact(self) -> bool:
        with self.transaction() as cur:
            return bool(cur.scalar(f"SELECT {INTACT}"))

    # ---- catching up (the caller holds the tenant lock) ---------------------------------
    def follow(self, progress: Callable[[int], None] | None = None, derive: bool = False) -> int:
        """Catch every lane up; returns the events the main lane applied (``progress`` hears of
        those). Views a crash emptied are rebuilt first."""
        state = self.state()
        if not state.intact:
            log.warning("the views were emptied by a crash of the database: rebuilding them from the ledger")
            return self.rebuild(progress)
        behind = state.ledger - state.views
        if behind <= 0:
            return 0
        # Far behind (views dropped for a new definition, or left behind by a long outage): the
        # runs the views derive go in SQL where they can, as in a rebuild.
        derive = derive or behind >= DERIVING_BATCH
        for lane in self.lanes:
            if lane != FOLLOWER:
                self._follow_lane(lane, derive=derive)
        return self._follow_lane(FOLLOWER, progress, derive)

    def _follow_lane(
        self, lane: str, progress: Callable[[int], None] | None = None, derive: bool = False, analyze: bool = True
    ) -> int:
        return self.catch_up(progress, derive, lane, analyze)

    def catch_up(
        self,
        progress: Callable[[int], None] | None = None,
        derive: bool = False,
        lane: str = FOLLOWER,
        analyze: bool = True,
        within: ViewCursor | None = None,
        shared: SharedReads | None = None,
    ) -> int:
        """Apply to the views of ``lane`` every event not yet in them; returns how many were
        applied. Each batch commits with the lane's position, unless ``within`` a transaction
        of the caller's. With ``derive`` (where the events can be read in SQL), runs of derived
        events are applied there. Many applied, the planner's statistics are renewed (unless
        not to ``analyze``: the caller will). With ``shared`` (a rebuild's lanes side by side), the
        lanes take each batch from its reader."""
        derive = derive and self.events_table is not None
        size = DERIVING_BATCH if derive else self.batch_size
        applied = 0
        start = self.position_in(within, lane) if within is not None else self.position(lane)
        while True:
            batch = shared.take(lane, start + 1) if derive and shared is not None else None
            if batch is None and shared is not None and shared.failed:
                return applied  # the rebuild failed: the reader's error is raised
            if batch is not None:
                stored, count, last = batch
            elif derive:
                if shared is not None:  # the reader stopped: this lane reads for itself
                    shared.leave(lane)
                    shared = None
                with nullcontext(within) if within is not None else self.transaction() as cur:
                    stored, count, last = self._select_stored(cur, start + 1, size, self._read[lane])
            else:
                notifications = self.recorder.select_notifications(start + 1, size)
                count, last = len(notifications), notifications[-1].id if notifications else start
            if not count:
                break
            try:
                with self._step(within) as cur:
                    self._claim(cur, [lane], start, last)
                    if derive:
                        assert self.events_table is not None  # derive is only kept where there is one
                        for projection in self.lanes[lane]:
                            projection.process_stored(cur, stored, self.events_table)
                    else:
                        items = [(self.mapper.to_domain_event(n), n.id) for n in notifications]
                        for projection in self.lanes[lane]:
                            projection.process_batch(cur, items)
            except ViewsMoved:
                raise
            except Exception as error:
                if database_away(error):  # no event failed: the database went away under the batch
                    raise
                log.warning(
                    "views (%s): a batch from position %d failed (%s); applying it event by event",
                    lane,
                    start + 1,
                    _reason(error),
                )
                done = self._one_by_one(lane, start, last, within)
                applied += done - start
                if progress:
                    progress(done - start)
                start = done
                continue
            applied += count
            start = last
            if progress:
                progress(count)
            if count < size and (applied < ANALYZE_AFTER or not analyze):
                return applied  # a short batch: the ledger ended there when it was read
        if applied >= ANALYZE_AFTER and analyze:
            self.analyze(self.lanes[lane])
        return applied

    @contextmanager
    def _step(self, within: ViewCursor | None) -> Iterator[ViewCursor]:
        """A transaction of its own, or a savepoint of the caller's transaction ``within``."""
        if within is None:
            with self.transaction(write=True) as cur:
                yield cur
            return
        within.execute("SAVEPOINT views_step")
        try:
            yield within
        except BaseException:
            within.execute("ROLLBACK TO SAVEPOINT views_step")
            raise
        finally:
            within.execute("RELEASE SAVEPOINT views_step")

    def _one_by_one(self, lane: str, start: int, last: int, within: ViewCursor | None = None) -> int:
        """Apply ``start``+1..``last`` one event at a time, each committed on its own (or in a
        savepoint ``within`` the caller's transaction), through the views' handlers, with text a
        database cannot hold (NUL, lone surrogates) replaced; raise ViewsStopped at the first
        event that still fails. Returns ``last``."""
        for n in self.recorder.select_notifications(start + 1, last - start, stop=last):
            try:
                event = self.mapper.to_domain_event(n)
                with self._step(within) as raw:
                    cur: ViewCursor = CleaningCursor(raw.raw, raw.dialect)
                    self._claim(cur, [lane], start, n.id)
                    for projection in self.lanes[lane]:
                        projection.process_batch(cur, [(event, n.id)])
            except Exception as error:
                if database_away(error):
                    raise
                stop = ViewsStopped(n.id, lane, _reason(error))
                log.error("%s", stop)
                raise stop from error
            start = n.id
        if start < last:  # positions with no event at the end of the batch
            with self._step(within) as cur:
                self._claim(cur, [lane], start, last)
        return last

    def _claim(self, cur: ViewCursor, lanes: Sequence[str], start: int, last: int) -> None:
        """Move ``lanes`` from ``start`` to ``last`` in ``cur``'s transaction, all of them or, if
        one is not at ``start``, none: ViewsMoved then rolls the transaction back."""
        marks = ", ".join("?" * len(lanes))
        cur.execute(
            f"UPDATE view_positions SET position = ? WHERE name IN ({marks}) AND position = ?", (last, *lanes, start)
        )
        if cur.rowcount != len(lanes):
            raise ViewsMoved(f"views {', '.join(lanes)} were not at position {start}")

    def _select_stored(
        self, cur: ViewCursor, first: int, limit: int, names: Sequence[str]
    ) -> tuple[list[tuple[str, Any, int]], int, int]:
        """Up to ``limit`` events from ``first`` on, as ``(topic, event, position)`` items, how many
        events they stand for, and the last one's position. Where the event is none of ``names``
        (those a view of the lane applies in Python; every view derives it or ignores it), its
        state is not read (nor sent), and each run of such events between two read ones comes as
        the first and last position of each of its topics (the event None): all
        ``Projection.process_stored`` needs of them, instead of a row per event."""
        rows = cur.execute(
            "WITH b AS MATERIALIZED (SELECT notification_id AS position, originator_id, originator_version, topic,"
            " CASE WHEN event IS NULL OR event = ANY(?) THEN state END AS state"
            f" FROM {self.events_table} WHERE notification_id >= ? ORDER BY notification_id LIMIT ?),"
            # run: how many read events precede, so that each run of unread ones has a number of its own
            " g AS (SELECT position, topic, state IS NULL AS unread,"
            " count(state) OVER (ORDER BY position) AS run FROM b)"
            " SELECT position, position, 1, originator_id, originator_version, topic, state FROM b"
            " WHERE state IS NOT NULL UNION ALL SELECT min(position), max(position), count(*), NULL, NULL, topic, NULL"
            " FROM g WHERE unread GROUP BY run, topic",
            (list(names), first, limit),
        ).fetchall()
        items: list[tuple[str, Any, int]] = []
        count = last = 0
        for start, end, n, originator_id, version, topic, state in rows:
            count += n
            last = max(last, end)
            if state is not None:
                items.append(
                    (
                        topic,
                        self.mapper.to_domain_event(StoredEvent(originator_id, version, topic, bytes(state))),
                        start,
                    )
                )
            else:
                items.append((topic, None, start))
                if end != start:
                    items.append((topic, None, end))
        items.sort(key=lambda item: item[2])
        return items, count, last

    # ---- applying what a writer just recorded ---------------------------------------------
    def apply(self, recorded: Sequence[tuple[Any, int]], cur: ViewCursor, after: int | None = None) -> None:
        """Apply events just written in ``cur``'s transaction, as they are in memory; they must
        be the next positions after the views' (else ViewsMoved, and the transaction rolls back
        with the events). ``after``: where the views are, if not right before the events."""
        self.apply_stored([(self._topic(e), e, p) for e, p in recorded], cur, after)

    def apply_stored(self, items: Sequence[tuple[str, Any, int]], cur: ViewCursor, after: int | None = None) -> None:
        """``apply`` for ``(topic, event, position)`` items, where an event may be None if every
        view derives its topic from the stored event or ignores it (see ``derives``). ``after``:
        where the views are, if not right before the items (positions a rolled-back write used)."""
        if not items:
            return
        first, last = items[0][2], items[-1][2]
        if [p for _t, _e, p in items] != list(range(first, last + 1)):
            raise ViewsMoved(f"positions {first}..{last} are not consecutive")
        self._claim(cur, list(self.lanes), first - 1 if after is None else after, last)
        # A command's few rows: one round trip instead of one per table. A large batch (an
        # import's) goes without, as its rows may go by COPY, which a pipeline does not allow.
        with cur.pipeline() if len(items) <= FEW_ROWS else nullcontext():
            self._write_views(cur, items)

    def derives(self, topic: str) -> bool:
        """Whether the views need nothing but the stored events of ``topic``: they are read in SQL
        here, and every view derives them there or ignores them."""
        return self.events_table is not None and all(
            route_of(type(p), topic) != HANDLED  # type: ignore[arg-type]  # a class is hashable; mypy#20409
            for p in self.projections
        )

    def apply_at(self, cur: ViewCursor, recorded: Sequence[tuple[Any, int]], position: int) -> None:
        """Apply events just written in ``cur``'s transaction (PostgreSQL, in a pipeline), the
        views being at ``position``, read under the lock the caller still holds. Nothing waits
        for an answer: moving the position fails the transaction if it was not there."""
        lanes = list(self.lanes)
        cur.execute(
            f"WITH moved AS (UPDATE view_positions SET position = ? WHERE name IN ({self._in_lanes})"
            " AND position = ? RETURNING 1) SELECT 1 / (count(*) / ?) FROM moved",
            (recorded[-1][1], *lanes, position, len(lanes)),
        )
        cur.planned_once = PLANNED_ONCE
        try:
            self._write_views(cur, [(self._topic(e), e, p) for e, p in recorded])
        finally:
            cur.planned_once = False

    def _write_views(self, cur: ViewCursor, items: Sequence[tuple[str, Any, int]]) -> None:
        """Every view's rows for events stored in (or visible to) ``cur``'s transaction: where the
        events can be read in SQL, the derived ones' rows are derived there from the stored events."""
        if self.events_table is None:
            recorded = [(e, p) for _t, e, p in items]
            for projection in self.projections:
                projection.process_batch(cur, recorded)
            return
        for projection in self.projections:
            projection.process_stored(cur, items, self.events_table)

    def _topic(self, event: Any) -> str:
        topic = self._topics.get(type(event))
        if topic is None:
            topic = self._topics[type(event)] = get_topic(type(event))
        return topic

    # ---- statistics and indexes -------------------------------------------------------------
    def analyze(self, views: Sequence[Projection] | None = None) -> None:
        """Renew the query planner's statistics of every view (or of ``views``), as after a
        rebuild or a large import: a freshly filled table otherwise has none, and the planner may
        then scan it whole for a handful of rows."""
        with self.transaction(write=True) as cur:
            for projection in self.projections if views is None else views:
                for table in projection.tables:
                    cur.execute(f"ANALYZE {table}")

    def finish(self, views: Sequence[Projection], extra: Sequence[Sequence[str]] = ()) -> None:
        """After a bulk write into ``views``: build their missing indexes and renew their
        statistics, with the ``extra`` groups of statements, on two connections at once (where
        the views' tables are kept on a server), the largest groups first."""
        groups = sorted([*self._finishing(views), *map(list, extra)], key=len, reverse=True)
        if self.events_table is None:
            for statements in groups:
                self._finish_group(statements)
            return
        jobs: queue.SimpleQueue = queue.SimpleQueue()
        for statements in groups:
            jobs.put(statements)

        def finisher() -> None:
            while True:
                try:
                    statements = jobs.get_nowait()
                except queue.Empty:
                    return
                self._finish_group(statements)

        with in_threads([("views-finish", finisher)]):  # and this thread: two connections at once
            finisher()

    @staticmethod
    def _finishing(views: Sequence[Projection]) -> list[list[str]]:
        """For each table of ``views``: build its indexes (those missing, as after a rebuild),
        then renew its statistics. The statements of one table go together, as ANALYZE and
        CREATE INDEX on one table wait for each other."""
        statements: dict[str, list[str]] = {}
        for projection in views:
            for table in projection.tables:
                statements[table] = []
            for statement in projection.ddl:
                index = INDEX_ON.match(statement)
                if index:
                    statements[index.group(1)].append(statement)
            for added in projection.added_indexes:
                statements[added.table].append(added.ddl)
            for table in projection.tables:
                statements[table].append(f"ANALYZE {table}")
        return list(statements.values())

    def _finish_group(self, statements: Sequence[str]) -> None:
        with self.transaction(write=True) as cur:
            for statement in statements:
                cur.execute(statement)

    def _build_indexes(self, views: Sequence[Projection]) -> None:
        with self.transaction(write=True) as cur:
            for projection in views:
                projection.create(cur)

    @contextmanager
    def readers_indexes_deferred(self) -> Iterator[None]:
        """For a bulk write into views no reader sees yet: drop the indexes only readers use, and
        build them again after it, one sorted build each instead of an insert per row."""
        with self.transaction(write=True) as cur:
            for projection in self.projections:
                projection.drop_readers_indexes(cur)
        try:
            yield
        finally:
            with self.transaction(write=True) as cur:
                for projection in self.projections:
                    projection.create(cur)

    # ---- rebuilding (the caller holds the tenant lock) --------------------------------------
    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Build every view again from the whole ledger; returns the events applied. Readers
        keep the views as they were until the new ones are complete; then they see the new ones."""
        if self.schema is None:
            return self._rebuild_in_place(progress)
        return self._rebuild_beside(progress)

    def _rebuild_in_place(self, progress: Callable[[int], None] | None) -> int:
        """SQLite: empty the views and apply the ledger again in one transaction."""
        with self.transaction(write=True) as cur:
            for projection in self.projections:  # built once at the end, not row by row
                projection.drop_readers_indexes(cur)
            self._reset(cur)
            applied = 0
            for lane in self.lanes:
                done = self.catch_up(progress if lane == FOLLOWER else None, lane=lane, analyze=False, within=cur)
                applied = done if lane == FOLLOWER else applied
            for projection in self.projections:
                projection.create(cur)
        self.analyze()
        return applied

    def _rebuild_beside(self, progress: Callable[[int], None] | None) -> int:
        """PostgreSQL: build the views in a schema of their own (the lanes side by side, each on
        a connection of its own, the readers' indexes built at the end), then swap them in."""
        shadow = f"{self.schema}__views"
        with self.transaction(write=True) as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{shadow}" CASCADE')  # what a failed rebuild left
            cur.execute(f'CREATE SCHEMA "{shadow}"')
            rebuilds = cur.scalar("SELECT position FROM view_positions WHERE name = ?", (REBUILDS,)) or 0
        beside = self.beside(shadow)
        try:
            with beside.transaction(write=True) as cur:
                beside._create(cur, rebuilds + 1)
                for projection in beside.projections:
                    projection.drop_readers_indexes(cur)

            # the ledger read once for every lane, on a connection of its own, the next batch read
            # while the lanes apply the last
            others = [lane for lane in beside.lanes if lane != FOLLOWER]
            names = sorted({name for lane in beside.lanes for name in beside._read[lane]})
            shared = SharedReads(dict(beside.lanes), names)

            def follow_lane(lane: str, progress: Callable[[int], None] | None = None) -> int:
                try:
                    return beside.catch_up(progress, derive=True, lane=lane, analyze=False, shared=shared)
                except BaseException:
                    shared.close(failed=True)  # the other lanes and the reader stop too
                    raise
                finally:
                    shared.leave(lane)

            lanes = [(f"views-{lane}", functools.partial(follow_lane, lane)) for lane in others]
            with in_threads([("views-reader", functools.partial(beside.read_for, shared)), *lanes]):
                applied = follow_lane(FOLLOWER, progress)
            # every lane's indexes and statistics on two connections, once all are filled: the
            # connections a rebuild holds at once stay those of the lock, the reader, the lanes and
            # the tree (five: the tenant's pool by default)
            beside.finish(beside.projections)
            beside._merge_rebuild_lanes()
            self._swap(shadow)
        except BaseException:
            with self.transaction(write=True) as cur:
                cur.execute(f'DROP SCHEMA IF EXISTS "{shadow}" CASCADE')
            raise
        return applied

    def read_for(self, shared: SharedReads) -> None:
        """A rebuild's reader: read the ledger batch by batch from the lanes' start (a fresh
        rebuild's are all at one position) and hand each batch to ``shared``'s lanes, until the
        ledger ends or no lane takes batches any more."""
        size = DERIVING_BATCH
        start = self.position(FOLLOWER)
        try:
            while True:
                with self.transaction() as cur:
                    batch = self._select_stored(cur, start + 1, size, shared.names)
                if not shared.publish(start + 1, batch):
                    break
                _stored, count, start = batch
                if count < size:
                    break
        except BaseException:
            shared.close(failed=True)
            raise
        shared.close()

    def _merge_rebuild_lanes(self) -> None:
        """Before the swap: the positions of the lanes that exist only while rebuilding go, once
        each has reached the position of the views' own lane (a view keeps its ``lane``'s)."""
        kept = {p.lane for p in self.projections}
        extra = [lane for lane in self.lanes if lane not in kept]
        if not extra:
            return
        with self.transaction(write=True) as cur:
            rows = dict(
                cur.execute(
                    f"SELECT name, position FROM view_positions WHERE name IN ({self._in_lanes})", list(self.lanes)
                ).fetchall()
            )
            for lane in extra:
                owners = {p.lane for p in self.lanes[lane]}
                if any(rows[lane] != rows[owner] for owner in owners):
                    raise ViewsMoved(f"the rebuild's lane {lane} stopped at {rows[lane]}, not with {sorted(owners)}")
                cur.execute("DELETE FROM view_positions WHERE name = ?", (lane,))

    def beside(self, shadow: str) -> Projector:
        """This projector, writing a separate set of views in the schema ``shadow`` (the ledger
        still read from the tenant's), each view in its rebuild's lane."""
        search_path = f'"{shadow}", "{self.schema}"'
        transaction = functools.partial(self.transaction, search_path=search_path)
        return Projector(
            self.recorder,
            self.mapper,
            transaction,
            self.projections,
            self.batch_size,
            self.events_table,
            None,
            self.ledger_table,
            rebuilding=True,
        )

    def _swap(self, shadow: str) -> None:
        """Put the views built in ``shadow`` in place of the tenant's, in one transaction that
        waits for no reader long: past a moment it gives way and tries again."""
        tables = self.view_tables
        live = ", ".join(f'"{self.schema}".{t}' for t in tables)
        for attempt in range(SWAP_ATTEMPTS):
            try:
                with self.transaction(write=True) as cur:
                    cur.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                    cur.execute(f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
                    cur.execute(f"DROP TABLE {live}")
                    for table in tables:
                        cur.execute(f'ALTER TABLE "{shadow}".{table} SET SCHEMA "{self.schema}"')
                    cur.execute(f'DROP SCHEMA "{shadow}"')
                return
            except Exception as error:
                if getattr(error, "sqlstate", None) != "55P03" and "lock timeout" not in str(error):
                    raise
                time.sleep(min(0.05 * (attempt + 1), 1.0))
        raise TimeoutError("the rebuilt views could not be swapped in: readers held the views throughout")

    def reset(self) -> None:
        """Empty every view and rewind to the start of the ledger (one transaction)."""
        with self.transaction(write=True) as cur:
            self._reset(cur)

    def _reset(self, cur: ViewCursor) -> None:
        for projection in self.projections:
            projection.clear(cur)
        cur.execute(f"UPDATE view_positions SET position = 0 WHERE name IN ({self._in_lanes})", list(self.lanes))
        cur.execute("UPDATE view_positions SET position = position + 1 WHERE name = ?", (REBUILDS,))
        self._mark_intact(cur)

    @staticmethod
    def _mark_intact(cur: ViewCursor) -> bool:
        """Write the one row of ``views_intact``; True if it was missing."""
        cur.execute("INSERT INTO views_intact (intact) VALUES (?) ON CONFLICT DO NOTHING", (True,))
        return cur.rowcount == 1


class SharedReads:
    """A rebuild's one read of the ledger for all its lanes: a reader of its own (``Projector.read_for``)
    reads each batch (with the states of the events any lane applies in Python) and hands it to
    every lane, instead of each lane reading the whole ledger again on its own connection, and
    reads the next while the lanes apply it. Each lane gets only the items its views take (the
    events they apply, the ends of the runs they derive), so that one may fall far behind the
    reader, as the ledger's parts weigh on each lane unequally, without holding the reader back
    or much memory; only a lane with ``QUEUED_ITEMS`` items waiting holds the reader back. A lane
    that finds the reader gone reads for itself."""

    def __init__(self, lanes: dict[str, Sequence[Projection]], names: Sequence[str]):
        self.names = list(names)
        self._views = lanes
        self._routes: dict[tuple[str, str], set[int]] = {}
        self._queues: dict[str, queue.SimpleQueue] = {lane: queue.SimpleQueue() for lane in lanes}
        self._left: set[str] = set()  # lanes that stopped taking batches
        self._held = dict.fromkeys(lanes, 0)  # items waiting for each lane
        self._room = threading.Condition()
        self._closed = threading.Event()
        self.failed = False

    def publish(self, first: int, batch: tuple[list[tuple[str, Any, int]], int, int]) -> bool:
        """Hand the batch read from position ``first`` to every lane still taking them, once the
        lane has room for it (a batch alone always has); False if no lane takes batches any more
        (each left, or one failed)."""
        items, count, last = batch
        for lane, waiting in self._queues.items():
            if lane in self._left:
                continue
            taken = self._taken(lane, items)
            with self._room:
                self._room.wait_for(functools.partial(self._has_room, lane, len(taken)))
                if lane in self._left or self.failed:
                    continue
                self._held[lane] += len(taken)
            waiting.put((first, (taken, count, last)))
        with self._room:
            return not self.failed and len(self._left) < len(self._queues)

    def _has_room(self, lane: str, items: int) -> bool:
        held = self._held[lane]
        return self.failed or lane in self._left or not held or held + items <= QUEUED_ITEMS

    def _taken(self, lane: str, items: list[tuple[str, Any, int]]) -> list[tuple[str, Any, int]]:
        """The items some view of ``lane`` takes, each event kept only where one applies it."""
        taken = []
        for topic, event, position in items:
            routes = self._routes.get((lane, topic))
            if routes is None:
                views = self._views[lane]
                routes = self._routes[(lane, topic)] = {route_of(type(p), topic) for p in views}  # type: ignore[arg-type]
            if routes != {0}:
                taken.append((topic, event if HANDLED in routes else None, position))
        return taken

    def take(self, lane: str, first: int) -> tuple[list[tuple[str, Any, int]], int, int] | None:
        """The batch from position ``first`` on, once read; None if the reader stopped before it."""
        waiting = self._queues[lane]
        while not self.failed:
            try:
                at, batch = waiting.get(timeout=0.1)
            except queue.Empty:
                if self._closed.is_set() and waiting.empty():
                    return None
                continue
            with self._room:
                self._held[lane] -= len(batch[0])
                self._room.notify_all()
            return batch if at == first else None
        return None

    def leave(self, lane: str) -> None:
        """``lane`` takes no more batches (done or failed): the reader no longer waits for it."""
        with self._room:
            self._left.add(lane)
            self._room.notify_all()

    def close(self, failed: bool = False) -> None:
        """The reader reads no more: done, or ``failed`` (a lane or the reader; every other then stops)."""
        with self._room:
            self.failed = self.failed or failed
            self._room.notify_all()
        self._closed.set()


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]


@contextmanager
def in_threads(works: Sequence[tuple[str, Callable[[], object]]]) -> Iterator[None]:
    """Run each ``(name, work)`` in a thread of its own while the body runs; on leaving, wait for
    them all, then raise the first failure of one (in the caller's thread, not lost in its own)."""
    failures: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(work,), name=name) for name, work in works]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
