"""Keeps the views in step with the ledger, exactly once and in ledger order.

Each view belongs to a lane: a row of ``view_positions`` holding how far its views
have applied the ledger. Each batch of events is applied to a lane's views in one
transaction that first claims the batch by advancing the lane's position from the
value it read; a concurrent follower that read the same position updates no row and
rolls back. So a crash between writing events and updating views only leaves the
views behind, and the next catch-up (on the next command or read) brings them up to
date. A command moves every lane in the transaction that writes its events.

On PostgreSQL the views' tables are UNLOGGED (the positions, like the ledger, are not): a
crash of the server empties them, and with them the one row of ``views_intact``. Finding
that row gone, the next catch-up rewinds every lane to the start and rebuilds the views
from the ledger, as ``rebuild`` does.
"""

from __future__ import annotations

import functools
import logging
import queue
import re
import threading
import zlib
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterator, Sequence

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from projections.base import FEW_ROWS, HANDLED, MAIN_LANE, Projection, Transaction, ViewCursor, route_of, unlogged

log = logging.getLogger(__name__)

POSITIONS_DDL = "CREATE TABLE IF NOT EXISTS view_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
FOLLOWER = MAIN_LANE  # the lane of every view without one of its own
REBUILDS = "rebuilds"  # its position counts the times the views were emptied to be rebuilt
ANALYZE_AFTER = 10_000  # events applied in one go, after which the planner's statistics are renewed
DERIVING_BATCH = 10_000  # events per view transaction when runs of them are derived in SQL
SCHEMA = "schema"  # its position holds a checksum of every view's DDL
# One row while the views hold what their positions say; unlogged with them, so a crash of the
# server that empties them empties it too.
INTACT_DDL = "CREATE TABLE IF NOT EXISTS views_intact (intact BOOLEAN PRIMARY KEY)"
INTACT = "EXISTS (SELECT 1 FROM views_intact)"
INDEX_ON = re.compile(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS \w+ ON (\w+)")


class Projector:
    """Pulls notifications from the ledger's recorder and applies them to every projection."""

    def __init__(self, recorder: Any, mapper: Any, transaction: Transaction,
                 projections: Sequence[Projection], batch_size: int = 2000, events_table: str | None = None):
        self.recorder = recorder
        self.mapper = mapper
        self.transaction = transaction
        self.projections = list(projections)
        self.batch_size = batch_size
        # Where the stored events can be read in SQL (PostgreSQL, states in plain JSON), large
        # catch-ups and imports derive the ``derived`` events' rows there (Projection.derive).
        self.events_table = events_table
        self._topics: dict[type, str] = {}
        self.lanes: dict[str, list[Projection]] = {FOLLOWER: []}
        for projection in self.projections:
            self.lanes.setdefault(projection.lane, []).append(projection)
        # Per lane, the events its every view derives or ignores: a catch-up that derives does
        # not read their state.
        self._unread = {lane: sorted({name for p in views for name in p.derived
                                      if all(name in q.derived or not q.handles(name) for q in views)})
                        for lane, views in self.lanes.items()}
        # The same as patterns of the stored topics (``module:Owner.EventName``): a suffix compared
        # costs PostgreSQL less than a regular expression per event.
        self._unread_topics = {lane: [f"%{sep}{name}".replace("_", r"\_") for name in names for sep in ".:"]
                               for lane, names in self._unread.items()}

    def schema_checksum(self) -> int:
        # "unlogged": kept logged before, the views are dropped and rebuilt once as unlogged tables.
        ddl = "\n".join(stmt for p in self.projections for stmt in (p.name, *p.ddl))
        return zlib.crc32(("unlogged\n" + ddl).encode())

    def create(self) -> None:
        """Create the views; where their definition changed, drop them so they rebuild from the ledger."""
        with self.transaction(write=True) as cur:
            cur.execute(POSITIONS_DDL)
            stored = cur.scalar("SELECT position FROM view_positions WHERE name = ?", (SCHEMA,))
            checksum = self.schema_checksum()
            if stored != checksum:
                for projection in self.projections:
                    for table in projection.tables:
                        cur.execute(f"DROP TABLE IF EXISTS {table}")
                cur.execute("DELETE FROM view_positions WHERE name <> ?", (REBUILDS,))
                cur.execute("UPDATE view_positions SET position = position + 1 WHERE name = ?", (REBUILDS,))
            for projection in self.projections:
                projection.create(cur)
            cur.execute(unlogged(INTACT_DDL) if cur.dialect == "postgres" else INTACT_DDL)
            for name, position in ((FOLLOWER, 0), (SCHEMA, checksum), (REBUILDS, 0)):
                cur.execute(
                    "INSERT INTO view_positions (name, position) SELECT ?, ? WHERE NOT EXISTS"
                    " (SELECT 1 FROM view_positions WHERE name = ?)", (name, position, name))
            for lane in self.lanes:  # a new lane's views were kept with the main lane's until now
                cur.execute(
                    "INSERT INTO view_positions (name, position) SELECT ?, (SELECT position FROM view_positions"
                    " WHERE name = ?) WHERE NOT EXISTS (SELECT 1 FROM view_positions WHERE name = ?)",
                    (lane, FOLLOWER, lane))
            self._recover(cur)

    def _recover(self, cur: ViewCursor) -> bool:
        """Mark the views intact; if they were not (a crash of the server emptied them), rewind
        every lane to the start, as a rebuild does, and return True. A second follower waits
        here for the first one's transaction, then finds the row and changes nothing."""
        if not self._mark_intact(cur):
            return False
        cur.execute(f"UPDATE view_positions SET position = 0 WHERE name IN ({self._in_lanes}) AND position <> 0",
                    list(self.lanes))
        if cur.rowcount:
            for projection in self.projections:
                projection.clear(cur)
            cur.execute("UPDATE view_positions SET position = position + 1 WHERE name = ?", (REBUILDS,))
            return True
        return False

    def position(self, lane: str | None = None) -> int:
        """How far every view (or the views of ``lane``) has applied the ledger."""
        with self.transaction() as cur:  # views emptied by a crash hold nothing, whatever the positions say
            if lane is not None:
                return cur.scalar(f"SELECT position FROM view_positions WHERE name = ? AND {INTACT}", (lane,)) or 0
            return cur.scalar(f"SELECT min(position) FROM view_positions WHERE name IN ({self._in_lanes})"
                              f" AND {INTACT}", list(self.lanes)) or 0

    @property
    def _in_lanes(self) -> str:
        return ", ".join("?" * len(self.lanes))

    def ledger_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def is_behind(self) -> bool:
        return self.position() < self.ledger_position()

    def catch_up(self, progress: Callable[[int], None] | None = None, derive: bool = False,
                 lane: str = FOLLOWER, analyze: bool = True) -> int:
        """Apply to the views of ``lane`` every event not yet in them; returns how many were
        applied. With ``derive`` (where the events can be read in SQL), runs of derived events
        are applied there. Many applied, the planner's statistics are renewed (unless not to
        ``analyze``: the caller will)."""
        derive = derive and self.events_table is not None
        size = DERIVING_BATCH if derive else self.batch_size
        views = self.lanes[lane]
        applied = 0
        start = self.position(lane)
        while True:
            if derive:
                with self.transaction() as cur:
                    stored, count, last = self._select_stored(cur, start + 1, size, lane)
            else:
                stored = self.recorder.select_notifications(start + 1, size)
                count, last = len(stored), stored[-1].id if stored else start
            if not count:
                if applied >= ANALYZE_AFTER and analyze:
                    self.analyze(views)
                return applied
            with self.transaction(write=True) as cur:
                cur.execute("UPDATE view_positions SET position = ? WHERE name = ? AND position = ?",
                            (last, lane, start))
                if cur.rowcount != 1:
                    raise _Overtaken()
                if derive:
                    for projection in views:
                        projection.process_stored(cur, stored, self.events_table)
                else:
                    items = [(self.mapper.to_domain_event(n), n.id) for n in stored]
                    for projection in views:
                        projection.process_batch(cur, items)
            applied += count
            start = last
            if progress:
                progress(count)
            if count < size and (applied < ANALYZE_AFTER or not analyze):
                return applied  # a short batch: the ledger ended there when it was read

    def _select_stored(self, cur: ViewCursor, first: int, limit: int,
                       lane: str) -> tuple[list[tuple[str, Any, int]], int, int]:
        """Up to ``limit`` events from ``first`` on, as ``(topic, event, position)`` items, how many
        events they stand for, and the last one's position. Where every view of ``lane`` derives
        or ignores an event, its state is not read, and each run of such events between two read
        ones comes as the first and last position of each of its topics (the event None): all
        ``Projection.process_stored`` needs of them, instead of a row per event."""
        rows = cur.execute(
            "WITH b AS MATERIALIZED (SELECT notification_id AS position, originator_id, originator_version, topic,"
            " CASE WHEN topic LIKE ANY(?) THEN NULL ELSE state END AS state"
            f" FROM {self.events_table} WHERE notification_id >= ? ORDER BY notification_id LIMIT ?),"
            # run: how many read events precede, so that each run of unread ones has a number of its own
            " g AS (SELECT position, topic, state IS NULL AS unread, count(state) OVER (ORDER BY position) AS run FROM b)"
            " SELECT position, position, 1, originator_id, originator_version, topic, state FROM b"
            " WHERE state IS NOT NULL UNION ALL SELECT min(position), max(position), count(*), NULL, NULL, topic, NULL"
            " FROM g WHERE unread GROUP BY run, topic",
            (self._unread_topics[lane], first, limit)).fetchall()
        items: list[tuple[str, Any, int]] = []
        count = last = 0
        for start, end, n, originator_id, version, topic, state in rows:
            count += n
            last = max(last, end)
            if state is not None:
                items.append((topic, self.mapper.to_domain_event(
                    StoredEvent(originator_id, version, topic, bytes(state))), start))
            else:
                items.append((topic, None, start))
                if end != start:
                    items.append((topic, None, end))
        items.sort(key=lambda item: item[2])
        return items, count, last

    def analyze(self, views: Sequence[Projection] | None = None) -> None:
        """Renew the query planner's statistics of every view (or of ``views``), as after a
        rebuild or a large import: a freshly filled table otherwise has none, and the planner may
        then scan it whole for a handful of rows."""
        with self.transaction(write=True) as cur:
            for projection in self.projections if views is None else views:
                for table in projection.tables:
                    cur.execute(f"ANALYZE {table}")

    def apply(self, recorded: Sequence[tuple[Any, int]], cur: ViewCursor | None = None) -> bool:
        """Apply events just written, as they are in memory, if they are exactly the next
        positions after the views'; returns False (changing nothing) otherwise. With ``cur``,
        in the caller's transaction (the one that wrote them)."""
        return self.apply_stored([(self._topic(e), e, p) for e, p in recorded], cur)

    def apply_stored(self, items: Sequence[tuple[str, Any, int]], cur: ViewCursor | None = None) -> bool:
        """``apply`` for ``(topic, event, position)`` items, where an event may be None if every
        view derives its topic from the stored event or ignores it (see ``derives``)."""
        if not items:
            return True
        first, last = items[0][2], items[-1][2]
        if [p for _t, _e, p in items] != list(range(first, last + 1)):
            return False
        if cur is None:
            with self.transaction(write=True) as cur:
                return self._apply(cur, items, first, last)
        return self._apply(cur, items, first, last)

    def derives(self, topic: str) -> bool:
        """Whether the views need nothing but the stored events of ``topic``: they are read in SQL
        here, and every view derives them there or ignores them."""
        return self.events_table is not None and all(route_of(type(p), topic) != HANDLED for p in self.projections)

    def _apply(self, cur: ViewCursor, items: Sequence[tuple[str, Any, int]], first: int, last: int) -> bool:
        # Every lane moves, or none does (a lane behind: the caller catches them up).
        lanes = list(self.lanes)
        cur.execute(f"UPDATE view_positions SET position = ? WHERE name IN ({self._in_lanes}) AND position = ?"
                    f" AND (SELECT count(*) FROM view_positions WHERE name IN ({self._in_lanes}) AND position = ?) = ?",
                    (last, *lanes, first - 1, *lanes, first - 1, len(lanes)))
        if cur.rowcount != len(lanes):
            return False
        # A command's few rows: one round trip instead of one per table. A large batch (an
        # import's) goes without, as its rows may go by COPY, which a pipeline does not allow.
        with cur.pipeline() if len(items) <= FEW_ROWS else nullcontext():
            self._write_views(cur, items)
        return True

    def apply_at(self, cur: ViewCursor, recorded: Sequence[tuple[Any, int]], position: int) -> None:
        """Apply events just written in ``cur``'s transaction (PostgreSQL, in a pipeline), the
        views being at ``position``, read under the lock the caller still holds. Nothing waits
        for an answer: moving the position fails the transaction if it was not there."""
        lanes = list(self.lanes)
        cur.execute(f"WITH moved AS (UPDATE view_positions SET position = ? WHERE name IN ({self._in_lanes})"
                    " AND position = ? RETURNING 1) SELECT 1 / (count(*) / ?) FROM moved",
                    (recorded[-1][1], *lanes, position, len(lanes)))
        self._write_views(cur, [(self._topic(e), e, p) for e, p in recorded])

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

    def follow(self, progress: Callable[[int], None] | None = None, derive: bool = False) -> int:
        """Catch every lane up, each yielding to another follower that got there first; returns
        the events the main lane applied (``progress`` hears of those)."""
        behind = self.ledger_position() - self.position()  # two single reads, cheaper than a batch
        if behind <= 0:
            return 0
        with self.transaction(write=True) as cur:
            if self._recover(cur):
                log.warning("the views were emptied by a crash of the database: rebuilding them from the ledger")
        behind = self.ledger_position() - self.position()
        # Far behind (views dropped for a new definition, or left behind by a long outage): the
        # runs the views derive go in SQL where they can, as in a rebuild.
        derive = derive or behind >= DERIVING_BATCH
        for lane in self.lanes:
            if lane != FOLLOWER:
                self._follow_lane(lane, derive=derive)
        return self._follow_lane(FOLLOWER, progress, derive)

    def _side_by_side(self, progress: Callable[[int], None] | None) -> int:
        """Catch up, deriving in SQL, every lane but the main one in a thread (and a connection) of
        its own, which then builds its views' readers' indexes while the main lane goes on; then
        finish the main lane's tables on two connections."""
        def follow_lane(lane: str) -> None:
            self._follow_lane(lane, derive=True)
            self._build_indexes(self.lanes[lane])

        with _in_threads([(f"views-{lane}", functools.partial(follow_lane, lane))
                          for lane in self.lanes if lane != FOLLOWER]):
            applied = self._follow_lane(FOLLOWER, progress, derive=True, analyze=False)
            self.finish(self.lanes[FOLLOWER])
        return applied

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

        with _in_threads([("views-finish", finisher)]):  # and this thread: two connections at once
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

    def _follow_lane(self, lane: str, progress: Callable[[int], None] | None = None, derive: bool = False,
                     analyze: bool = True) -> int:
        try:
            return self.catch_up(progress, derive, lane, analyze)
        except _Overtaken:
            return self.catch_up(progress, derive, lane, analyze) if self.position(lane) < self.ledger_position() else 0

    @contextmanager
    def readers_indexes_deferred(self) -> Iterator[None]:
        """For a bulk write into the views: drop the indexes only readers use, and build them
        again after it, one sorted build each instead of an insert per row (also after a failure;
        failing that, the next opening of the store builds them)."""
        with self.transaction(write=True) as cur:
            for projection in self.projections:
                projection.drop_readers_indexes(cur)
        try:
            yield
        finally:
            with self.transaction(write=True) as cur:
                for projection in self.projections:
                    projection.create(cur)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Empty every view and apply the whole ledger again; returns the events applied. Where
        views are derived in SQL (PostgreSQL), the lanes are rebuilt side by side, so that the
        database works on as many cores as there are lanes."""
        with self.readers_indexes_deferred():
            self.reset()
            if self.events_table is None or len(self.lanes) == 1:
                return self.follow(progress, derive=True)
            return self._side_by_side(progress)

    def reset(self) -> None:
        """Empty every view and rewind to the start of the ledger (one transaction). The count of
        rebuilds goes up, so that copies of the views kept elsewhere know to read them again."""
        with self.transaction(write=True) as cur:
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


@contextmanager
def _in_threads(works: Sequence[tuple[str, Callable[[], None]]]) -> Iterator[None]:
    """Run each ``(name, work)`` in a thread of its own while the body runs; on leaving, wait for
    them all, then raise the first failure of one (in the caller's thread, not lost in its own)."""
    failures: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
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


class _Overtaken(Exception):
    """Another follower applied this batch first; this transaction is rolled back."""
