"""What projections share: the cursor they write through and how values are stored.

Business dates are stored as proleptic ordinals (``date.toordinal()``) and recorded
instants as microseconds since the epoch, so both stores compare them as integers.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, overload

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FOREVER = 2**62  # a "known at" later than anything recorded
IN_CHUNK, ARRAY_CHUNK = 500, 10_000  # ids per statement, as parameters (SQLite) or one array (PostgreSQL)
FEW_ROWS = 64  # up to this many rows, one INSERT costs PostgreSQL less than a COPY
META_FIELDS = ("timestamp", "originator_topic", "originator_id", "originator_version", "actor")
DERIVED, HANDLED = 1, 2  # how a view takes an event: derived in SQL, or by its handler in Python
INDEX_NAMED = re.compile(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+) ON")


@overload
def day(value: date) -> int: ...
@overload
def day(value: date | None) -> int | None: ...
def day(value: date | None) -> int | None:
    return value.toordinal() if value is not None else None


@overload
def from_day(value: int) -> date: ...
@overload
def from_day(value: int | None) -> date | None: ...
def from_day(value: int | None) -> date | None:
    return date.fromordinal(value) if value is not None else None


def micros(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    seconds, us = divmod(value, 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=us)


def event_name(event: object) -> str:
    return type(event).__name__


def event_data(event: object) -> dict[str, Any]:
    """The event's own fields, JSON-ready, without the metadata kept in columns."""
    out = {}
    for key, value in vars(event).items():
        if key in META_FIELDS:
            continue
        out[key] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return out


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def jsonb_text(data: Any) -> str:
    """JSON written as PostgreSQL writes a jsonb value (keys shortest first, then by their bytes;
    ", " and ": " between items), so that rows derived in SQL and in Python read the same."""
    return json.dumps(_jsonb_order(data), ensure_ascii=False)


def _jsonb_order(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _jsonb_order(v) for k, v in sorted(value.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
        }
    if isinstance(value, list):
        return [_jsonb_order(v) for v in value]
    return value


def name_of_topic(topic: str) -> str:
    """The event's class name (``event_name``) from its stored topic, ``module:Owner.EventName``."""
    return topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


# SQL (PostgreSQL) for the values above, from a stored event's state read as jsonb ``j``: an
# instant or a date is stored as {"_type_": ..., "_data_": ISO text}.
def sql_micros(field: str, j: str = "j") -> str:
    return f"(extract(epoch FROM ({j}->'{field}'->>'_data_')::timestamptz) * 1000000)::bigint"


def sql_day(field: str, j: str = "j") -> str:
    return f"(({j}->'{field}'->>'_data_')::date - DATE '0001-01-01' + 1)"


def unlogged(statement: str) -> str:
    """A view's table as PostgreSQL keeps it: UNLOGGED, written without the write-ahead log, as
    imports and rebuilds write them in bulk. A crash of the server empties such tables; the views
    then say so (``views_intact``, see projections.runner) and are rebuilt from the ledger,
    which is logged."""
    return re.sub(r"^CREATE TABLE\b", "CREATE UNLOGGED TABLE", statement)


@dataclass(frozen=True)
class StoredRun:
    """Stored events ``first``..``last`` of the given topics (others in between are left out),
    for a view to derive its rows from in one SQL statement."""

    table: str
    first: int
    last: int
    topics: tuple[str, ...]

    def select(
        self, topic: str | None = None, state: bool = True, business: str | None = None, entity: str = "member_id"
    ) -> tuple[str, list]:
        """A query of ``position``, ``originator_id``, ``version``, ``topic``, ``entity_id`` (the
        attribute ``entity``), ``at`` (the instant in microseconds), ``on_day`` (the business day,
        attribute ``business``) and, with ``state``, ``j`` (the state as jsonb) of the run's events
        (of one ``topic`` of them), and its parameters. The entity, instant and day are the trail's
        columns the recorder wrote beside each event; an event stored without them (as a builder
        process's admissions are, until the store is next opened) has them read from its JSON."""
        # OFFSET 0 keeps the planner from copying the jsonb parse into every expression that uses j;
        # it also keeps out any filter of the outer query, so a topic is chosen here, before the parse.
        topics = [topic] if topic is not None else list(self.topics)
        parsed = "convert_from(state, 'UTF8')::jsonb"
        day_of = f"coalesce(business_date, {sql_day(business, parsed)})" if business else "business_date"
        j = f", {parsed} AS j" if state else ""
        return (
            f"SELECT notification_id AS position, originator_id, originator_version AS version, topic,"
            f" coalesce(entity_id, {parsed}->>'{entity}') AS entity_id,"
            f" coalesce(recorded_at, {sql_micros('timestamp', parsed)}) AS at, {day_of} AS on_day{j}"
            f" FROM {self.table} WHERE notification_id BETWEEN ? AND ? AND topic = ANY(?) OFFSET 0",
            [self.first, self.last, topics],
        )


class ViewCursor:
    """A DB-API cursor that takes ``?`` placeholders on SQLite and PostgreSQL alike."""

    def __init__(self, raw: Any, dialect: str, one_trip: bool = False):
        self.raw = raw
        self.dialect = dialect
        # ``raw`` writes each statement's values into its text and sends the statements together
        # (persistence.one_trip): pipelined, as no COPY fits in that text.
        self.one_trip = one_trip
        self.pipelined = one_trip
        self.planned_once = False  # a group commit's views: statements the schema keeps as functions

    def execute(self, sql: str, params: Sequence[Any] = ()) -> ViewCursor:
        if self.dialect == "postgres":
            sql = sql.replace("?", "%s")
        self.raw.execute(sql, tuple(params))
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        if self.dialect == "postgres":
            sql = sql.replace("?", "%s")
        self.raw.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows at once: on PostgreSQL one INSERT for a few rows and COPY for more,
        on SQLite one prepared statement."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect == "postgres" and (len(rows) <= FEW_ROWS or self.pipelined):  # no COPY in a pipeline
            for i in range(0, len(rows), FEW_ROWS):
                chunk = rows[i : i + FEW_ROWS]
                values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
                self.raw.execute(f"INSERT INTO {table} ({names}) VALUES {values}", [v for row in chunk for v in row])
        elif self.dialect == "postgres":
            with self.raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)

    def rows_for(self, sql: str, ids: Sequence[Any]) -> list[tuple]:
        """Every row ``sql`` selects for ``ids``, which it names as ``IN ({ids})``: on PostgreSQL
        as one array parameter per 10,000 ids (``= ANY``; a million ids are 100 statements, not
        2,000 of 500 parameters each, built, sent and planned), on SQLite 500 at a time."""
        rows: list[tuple] = []
        if self.dialect == "postgres":
            sql = sql.replace(" IN ({ids})", " = ANY(?)")
            for i in range(0, len(ids), ARRAY_CHUNK):
                rows += self.execute(sql, (list(ids[i : i + ARRAY_CHUNK]),)).fetchall()
            return rows
        for i in range(0, len(ids), IN_CHUNK):
            chunk = ids[i : i + IN_CHUNK]
            rows += self.execute(sql.format(ids=", ".join("?" * len(chunk))), chunk).fetchall()
        return rows

    def update_rows(self, sql: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
        """An UPDATE for each of many rows, ``sql`` naming a row's values ``v.<name>`` and marking
        with ``{rows}`` where PostgreSQL takes them (``columns``: each value's name and PostgreSQL
        type, in the rows' order). On PostgreSQL one statement (the rows as ``unnest`` of typed
        arrays), so no target row may match two of them; on SQLite one prepared statement per row."""
        if not rows:
            return
        names = [name for name, _type in columns]
        if self.dialect == "postgres":
            arrays = ", ".join(f"%s::{kind}[]" for _name, kind in columns)
            self.raw.execute(
                sql.format(rows=f"FROM unnest({arrays}) AS v({', '.join(names)})"),
                [list(values) for values in zip(*rows)],
            )
        else:
            named = re.sub(r"\bv\.(\w+)", r":\1", sql.format(rows=""))
            self.raw.executemany(named, [dict(zip(names, row)) for row in rows])

    @property
    def binary_mark(self) -> str:
        """The placeholder (PostgreSQL, ``raw``'s own) of a value psycopg is to send in binary, as a
        text array is dumped several times quicker so: ``%s`` where ``raw`` writes it as text anyway."""
        return "%s" if self.one_trip else "%b"

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """On PostgreSQL, send the statements of the block without waiting for each answer (a
        read inside waits for what was sent before it; many rows go as INSERTs, as COPY is not
        allowed there); on SQLite, nothing changes."""
        if self.dialect != "postgres" or self.pipelined:
            yield
            return
        with self.raw.connection.pipeline():
            self.pipelined = True
            try:
                yield
            finally:
                self.pipelined = False

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self.raw.fetchall()]

    def fetchone(self) -> tuple | None:
        row = self.raw.fetchone()
        return tuple(row) if row is not None else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount


_UNHOLDABLE = re.compile("[\x00\ud800-\udfff]")


def holdable(value: Any) -> Any:
    """``value`` with the text a database cannot hold (NUL, lone surrogates) replaced by U+FFFD,
    inside tuples and lists too. For events recorded before such text was refused at the door."""
    if isinstance(value, str):
        return _UNHOLDABLE.sub("\ufffd", value)
    if isinstance(value, (list, tuple)):
        return type(value)(holdable(v) for v in value)
    return value


class CleaningCursor(ViewCursor):
    """A ViewCursor that writes every text parameter as ``holdable`` makes it: what a view falls
    back to for an event whose text the database refused."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> ViewCursor:
        return super().execute(sql, holdable(tuple(params)))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        super().executemany(sql, [holdable(tuple(r)) for r in rows])

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        super().insert_rows(table, columns, [holdable(tuple(r)) for r in rows])

    def update_rows(self, sql: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
        super().update_rows(sql, columns, [holdable(tuple(r)) for r in rows])


class Transaction(Protocol):
    """Opens a view transaction; ``write=True`` commits, otherwise it only reads, and
    ``snapshot=True`` reads everything as of one instant. ``search_path`` (PostgreSQL) names the
    schemas its tables are found in, for a transaction on views built beside the tenant's."""

    def __call__(
        self, write: bool = False, snapshot: bool = False, search_path: str | None = None
    ) -> AbstractContextManager[ViewCursor]: ...


MAIN_LANE = "views"


@dataclass(frozen=True)
class AddedIndex:
    """An index added to a view's table after the table was defined, named apart from its
    definition: a store's opening looks for it by name."""

    name: str
    table: str
    definition: str  # what follows ``ON table``: the columns, and a predicate if any

    @property
    def ddl(self) -> str:
        return f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table} {self.definition}"


@dataclass(frozen=True)
class DroppedIndex:
    """An index a view's table no longer has, named apart from its definition: a store's opening
    drops it where it is still there, and the views are kept, not rebuilt."""

    name: str
    table: str  # the table it was on

    @property
    def ddl(self) -> str:
        return f"DROP INDEX IF EXISTS {self.name}"


class Projection:
    """A view: its tables, and one handler per event it cares about (``on_<EventName>``)."""

    name = ""
    tables: tuple[str, ...] = ()
    ddl: tuple[str, ...] = ()
    bulk_groups: dict[str, str] = {}  # event name -> the bulk handler that takes it along with others
    # Indexes (named in ``ddl``) that only readers use, none of this view's handlers: a rebuild
    # drops them and builds each once at the end, cheaper than inserting every row into them.
    readers_indexes: tuple[str, ...] = ()
    # Indexes added after the view's tables were defined: created where missing when the views are
    # opened (kept out of the schema's checksum, so adding one rebuilds nothing).
    added_indexes: tuple[AddedIndex, ...] = ()
    # Indexes removed from the view's tables: dropped where still there when the views are opened.
    # A removed index's statement stays in ``ddl``, not run (``statements``): the views' checksum
    # reads ``ddl``, so naming an index here rebuilds nothing, where taking it out of ``ddl`` would.
    dropped_indexes: tuple[DroppedIndex, ...] = ()
    # PostgreSQL storage parameters of some of the view's tables ("fillfactor=50"): set where
    # missing when the views are opened (kept out of the schema's checksum, so setting one rebuilds
    # nothing; they apply to the pages written from then on, a rebuild's from the first).
    storage: dict[str, str] = {}
    # Events whose rows follow from the event alone: on PostgreSQL a rebuild or an import derives
    # them from the stored events in SQL (``derive``), a run at a time, without reading them into Python.
    derived: frozenset[str] = frozenset()
    # The position this view is kept at (a row of view_positions). Views with positions of their
    # own can be caught up side by side, on connections of their own (see Projector.rebuild).
    lane = MAIN_LANE
    # A lane of its own during a rebuild only (None: the view's ``lane``), for a view none of whose
    # handlers reads another view's tables and whose tables no other view's handlers read: built in
    # a schema no reader sees, it can follow the ledger on a connection of its own beside the others.
    rebuild_lane: str | None = None

    @classmethod
    def handles(cls, name: str) -> bool:
        return hasattr(cls, "on_" + name) or hasattr(cls, "bulk_" + cls.bulk_groups.get(name, name))

    @classmethod
    def handled_names(cls) -> frozenset[str]:
        """The events this view applies in Python (by a handler, not ``derived``): a rebuild on
        PostgreSQL reads the state of these only."""
        names = {a.split("_", 1)[1] for a in dir(cls) if a.startswith(("on_", "bulk_")) and a != "bulk_groups"}
        names = (names - set(cls.bulk_groups.values())) | set(cls.bulk_groups)
        return frozenset(n for n in names if cls.handles(n) and n not in cls.derived)

    def derive(self, cur: ViewCursor, run: StoredRun) -> None:
        """Write the rows of the ``derived`` events in ``run``, as their handlers would."""
        raise NotImplementedError

    def statements(self) -> tuple[str, ...]:
        """``ddl`` without the indexes named in ``dropped_indexes``: what the view's tables are made with."""
        dropped = {index.name for index in self.dropped_indexes}
        return tuple(s for s in self.ddl if not ((named := INDEX_NAMED.match(s)) and named.group(1) in dropped))

    def create(self, cur: ViewCursor) -> None:
        for statement in self.statements():
            cur.execute(unlogged(statement) if cur.dialect == "postgres" else statement)
        for index in self.added_indexes:
            cur.execute(index.ddl)
        for dropped in self.dropped_indexes:
            cur.execute(dropped.ddl)
        if cur.dialect == "postgres":
            for table, parameter in self.storage.items():
                options = cur.scalar("SELECT reloptions FROM pg_class WHERE oid = to_regclass(?)", (table,))
                if parameter not in (options or ()):
                    cur.execute(f"ALTER TABLE {table} SET ({parameter})")

    def drop_readers_indexes(self, cur: ViewCursor) -> None:
        for index in self.readers_indexes:
            cur.execute(f"DROP INDEX IF EXISTS {index}")

    def clear(self, cur: ViewCursor) -> None:
        # PostgreSQL: TRUNCATE (transactional there) leaves no dead rows for a rebuild to double
        # the tables with and autovacuum to clean up afterwards; SQLite empties a table fast anyway.
        # TRUNCATE is not MVCC-safe: a reader whose snapshot is older sees the table empty. The
        # indicator columns, which read in such snapshots, start again when the rebuild count moves.
        for table in self.tables:
            cur.execute(f"TRUNCATE {table}" if cur.dialect == "postgres" else f"DELETE FROM {table}")

    def process_event(self, cur: ViewCursor, event: object, position: int) -> None:
        handler = getattr(self, "on_" + event_name(event), None)
        if handler is not None:
            handler(cur, event, position)

    def process_batch(self, cur: ViewCursor, items: Sequence[tuple[object, int]]) -> None:
        """Apply a batch in order; a run of events with a ``bulk_<EventName>`` handler (or one
        handler for several events, named in ``bulk_groups``) goes in one call. Events this view
        has no handler for do not break a run."""
        run: list[tuple[object, int]] = []
        run_key = ""  # the bulk handler the run goes to
        for event, position in items:
            name = event_name(event)
            key = self.bulk_groups.get(name, name)
            bulk = hasattr(self, "bulk_" + key)
            if not bulk and not hasattr(self, "on_" + name):
                continue
            if run and key != run_key:
                getattr(self, "bulk_" + run_key)(cur, run)
                run = []
            if bulk:
                run.append((event, position))
                run_key = key
            else:
                self.process_event(cur, event, position)
        if run:
            getattr(self, "bulk_" + run_key)(cur, run)

    def process_stored(self, cur: ViewCursor, items: Sequence[tuple[str, object | None, int]], table: str) -> None:
        """Apply ``(topic, event, position)`` items in order, where each run of ``derived`` events
        (the event may then be None) goes to ``derive`` as one statement and the rest to
        ``process_batch``."""
        batch: list[tuple[object, int]] = []
        run: list[tuple[str, int]] = []
        for topic, event, position in items:
            route = route_of(type(self), topic)  # type: ignore[arg-type]  # a class is hashable; mypy#20409
            if route == DERIVED:
                if batch:
                    self.process_batch(cur, batch)
                    batch = []
                run.append((topic, position))
            elif route == HANDLED:
                if run:
                    self._derive_run(cur, table, run)
                    run = []
                batch.append((event, position))
        if batch:
            self.process_batch(cur, batch)
        if run:
            self._derive_run(cur, table, run)

    def _derive_run(self, cur: ViewCursor, table: str, run: list[tuple[str, int]]) -> None:
        self.derive(cur, StoredRun(table, run[0][1], run[-1][1], tuple(sorted({t for t, _ in run}))))


@functools.cache
def route_of(view: type[Projection], topic: str) -> int:
    """How a kind of view takes the events of a topic: DERIVED, HANDLED, or not at all (0)."""
    name = name_of_topic(topic)
    return DERIVED if name in view.derived else HANDLED if view.handles(name) else 0
