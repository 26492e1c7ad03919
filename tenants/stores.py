"""Each tenant's store: its ledger, its views and its lock, opened on demand and pooled.

On PostgreSQL a tenant is a schema holding its events, views and tracking; on
SQLite it is a file. At most ``max_open_tenants`` stores are open per process;
the least recently used idle one is closed to open another, so connections are
bounded by max_open_tenants x (pool_size + pool_overflow) per process.

Every writer of the tenant (a command, an import, a catch-up of the views, a rebuild) holds
the tenant lock, and writes events, views and hash chain in one transaction: a reader never
needs the lock unless the views are behind the ledger, which only a crash leaves them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from domain.base import BUSINESS_DATE
from domain.clock import vietnam_today
from domain.members import Member
from integrity.chain import CHAIN_DDL, CHAIN_TABLE, VOIDS_DDL, Chain, ChainBroken
from integrity.ends import ends_function
from integrity.tree import KEYS_TABLE as SIGNING_KEYS_TABLE
from integrity.tree import TREE_TABLE, tree_ddl
from persistence.event_store import EventStore
from persistence.files import private_file
from persistence.recorders import add_entry_columns, entry_ddl, group_write_function
from persistence.vault import (
    INDEXED,
    INDEXED_PAIRS,
    KEYS_DDL,
    KEYS_TABLE,
    OLD_INDEX_TABLE,
    PersonalDataVault,
    index_ddl,
    tokens_text,
)
from projections.audit import entity_type_of, entry
from projections.base import ViewCursor, sql_micros
from projections.indicators import IndicatorCalculator
from projections.ledger import Ledger
from projections.membership import Membership, admitted_function
from projections.placement import KnownPlacements
from projections.plan_records import PlanRecords
from projections.plans import Reports, Targets
from projections.progress import Plans
from projections.queries import RegisterViews
from projections.runner import Projector, ViewsStopped, in_threads
from projections.structure import Structure
from tenants.settings import NATIONAL_STORE, Settings, store_schema

log = logging.getLogger(__name__)
MAPPER_TOPIC = "persistence.mapper:RegisterMapper"  # the library's mapper, flat events' JSON written directly
RETRY_AFTER = 5  # seconds a client is told to wait when the tenant is busy
PLACEMENT_RECHECK_SECONDS = 1.0  # how soon a process notices a tenant moved to another server


def view_projections() -> list:
    """The views every tenant store keeps (also replayed offline from an export)."""
    return [Structure(), Membership(), PlanRecords(), Targets(), Reports()]


class TenantBusy(Exception):
    """The tenant lock was not had in time: a long import or rebuild holds it. Try again later."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


class TenantStore:
    """One tenant's ledger, views, vault and hash chain, its connections and the lock that
    serialises its writers. The use cases that run on it are in application/."""

    def __init__(
        self,
        tenant_id: str,
        settings: Settings,
        *,
        create: bool = False,
        today: Callable[[], date] = vietnam_today,
        server: str | None = None,
    ):
        self.tenant_id = tenant_id
        self.server = server or settings.default_server  # the PostgreSQL server it lives on
        self.settings = settings
        self.backend = settings.backend
        self.today = today
        self._thread_lock = threading.Lock()
        self.schema: str | None = None
        if self.backend == "postgres":
            self.schema = store_schema(settings, tenant_id)
            env = {
                "PERSISTENCE_MODULE": "persistence.connections:TenantPostgresFactory",
                **settings.postgres(self.server),
                "POSTGRES_APPLICATION_NAME": settings.application_name(tenant_id),
                "POSTGRES_CONNECT_TIMEOUT": str(settings.db_timeout),
                "POSTGRES_SCHEMA": self.schema,
                "POSTGRES_POOL_SIZE": str(settings.pool_size),
                "POSTGRES_MAX_OVERFLOW": str(settings.pool_overflow),
                "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
                "POSTGRES_NO_PREPARE": "y" if settings.pooled else "n",
                # through a pooler the library's SET would stay on whichever server connection it ran
                # on, and the tenant lock's transaction idles while an import runs: the pooler's own
                # idle_transaction_timeout bounds idle transactions there (docs/pgbouncer.md)
                "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "0" if settings.pooled else "60",
                "APPLICATION_RECORDER_TOPIC": "persistence.recorders:CopyingPostgresApplicationRecorder",
                "MAPPER_TOPIC": MAPPER_TOPIC,
                "CREATE_TABLE": "y" if create else "n",
            }
        else:
            # 0600 before SQLite opens it: its -wal and -shm files take the same mode
            self.path = private_file(sqlite_path(settings, tenant_id))
            self._lock_path = private_file(self.path.with_suffix(".lock"))
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "APPLICATION_RECORDER_TOPIC": "persistence.recorders:EntrySQLiteApplicationRecorder",
                "SQLITE_DBNAME": str(self.path),
                "SQLITE_LOCK_TIMEOUT": "30",
                "MAPPER_TOPIC": MAPPER_TOPIC,
                "CREATE_TABLE": "y" if create else "n",
            }
        self._on_schema: weakref.WeakSet = weakref.WeakSet()  # pooled connections whose search_path is set
        self.views = RegisterViews(self.transaction)
        self.known_placements = KnownPlacements(self.transaction)  # for scoped principals' checks
        self.indicators = IndicatorCalculator(self.transaction)
        self.plans = Plans(self.transaction, self.indicators)
        self.vault = PersonalDataVault(self.transaction)
        self.event_store = EventStore(env)
        self.datastore = self.event_store.datastore
        mapper = self.event_store.mapper
        events_table = self.event_store.events_table
        self.views.ledger = self.plans.ledger = Ledger(mapper, events_table)
        derivable = self.backend == "postgres" and mapper.cipher is None and mapper.compressor is None
        self.projector = Projector(
            self.event_store.recorder,
            mapper,
            self.transaction,
            view_projections(),
            events_table=events_table if derivable else None,
            schema=self.schema,
            ledger_table=events_table,
        )
        self._view_tables = ", ".join(self.projector.view_tables)
        if create or not self._made():
            with self.lock():
                with self.transaction(write=True) as cur:
                    if create:
                        cur.execute(KEYS_DDL)
                    cur.execute(CHAIN_DDL)
                    for statement in tree_ddl(cur.dialect):
                        cur.execute(statement)
                    for statement in index_ddl(cur.dialect):
                        cur.execute(statement)
                    if self.backend == "postgres":
                        cur.execute(ends_function(events_table)[1])
                        cur.execute(admitted_function(events_table)[1])
                        cur.execute(self._group_write()[1])
                self.projector.create()
                self._index_members_locked()
        self._list_ledger()
        self.chain = Chain(self)
        self.stopped: ViewsStopped | None = None  # where the views stopped, if an event failed them
        self._stopped_at = 0  # the ledger's last position when they stopped

    def _made(self) -> bool:
        """Whether the store's tables are there in their current definition (then opening it
        needs no lock, which a long import elsewhere may hold)."""
        lanes = list(self.projector.lanes)
        try:
            with self.transaction() as cur:
                checksum = cur.scalar("SELECT position FROM view_positions WHERE name = 'schema'")
                known = cur.scalar(
                    f"SELECT count(*) FROM view_positions WHERE name IN ({', '.join('?' * len(lanes))})", lanes
                )
                # the ledger's tables are there (LIMIT 0 reads none of their rows: a join of them
                # with LIMIT 1 read all of the tree's while the keys' table was empty)
                cur.execute(f"SELECT 1 FROM {CHAIN_TABLE}, {TREE_TABLE}, {SIGNING_KEYS_TABLE} LIMIT 0")
                indexed = cur.scalar("SELECT count(*) FROM index_keys WHERE name = ?", (INDEXED,))
                indexes = self._indexes_as_declared(cur)
                table = self.event_store.events_table
                ends = self.backend != "postgres" or cur.scalar(
                    "SELECT to_regprocedure(?) IS NOT NULL AND to_regprocedure(?) IS NOT NULL"
                    " AND to_regprocedure(?) IS NOT NULL",
                    (
                        f"{ends_function(table)[0]}(text[])",
                        f"{admitted_function(table)[0]}(bigint, bigint, text[])",
                        self._group_write()[2],
                    ),
                )
        except Exception:  # noqa: BLE001 - a table missing: made under the lock
            return False
        made = checksum == self.projector.schema_checksum() and known == len(lanes) and indexed == 1 and indexes
        return made and ends

    def _group_write(self) -> tuple[str, str, str]:
        """The group commit's ledger write function (persistence.recorders): name, DDL, signature."""
        recorder: Any = self.event_store.recorder
        return group_write_function(self.event_store.events_table, recorder.datastore.lock_timeout)

    def _indexes_as_declared(self, cur: Any) -> bool:
        """Whether every index the views gained after their tables were defined is built and every
        index they lost is gone (else opening the store builds or drops them, under the lock, and
        rebuilds nothing)."""
        projections = self.projector.projections
        added = [index.name for p in projections for index in p.added_indexes]
        dropped = [index.name for p in projections for index in p.dropped_indexes]
        names = [*added, *dropped]
        if not names:
            return True
        marks = ", ".join("?" * len(names))
        if cur.dialect == "postgres":
            kept = f"pg_indexes WHERE schemaname = ? AND indexname IN ({marks})"
            found = cur.execute(f"SELECT indexname FROM {kept}", (self.schema, *names)).fetchall()
        else:
            kept = f"sqlite_master WHERE type = 'index' AND name IN ({marks})"
            found = cur.execute(f"SELECT name FROM {kept}", names).fetchall()
        return {name for (name,) in found} == set(added)

    def _list_ledger(self) -> None:
        """Give the events recorded before the ledger kept the audit trail's columns theirs, read
        from each event's state (once per store, under the lock, before the store serves: the trail
        of a store this opened is never half filled)."""
        table = self.event_store.events_table
        key = "notification_id" if self.backend == "postgres" else "rowid"
        try:
            with self.transaction() as cur:
                cur.execute("SELECT 1 FROM ledger_voids LIMIT 1")
                if self._ledger_listed(cur, table, key):
                    return
        except Exception:  # noqa: BLE001 - the columns are missing: added under the lock
            pass
        with self.lock():
            with self.transaction(write=True) as cur:
                cur.execute(VOIDS_DDL)
                cur.execute("DROP TABLE IF EXISTS audit_entries")  # the trail's copy kept before
                if cur.dialect == "sqlite":
                    add_entry_columns(cur.raw, table)
                ddl = entry_ddl(table, cur.dialect)
                # the indexes are built once the columns are filled (a bulk build, not an entry per
                # update), the one of the events still to fill last (_ledger_listed)
                indexes = [s for s in ddl if s.startswith("CREATE INDEX")]
                for statement in ddl:
                    if statement not in indexes:
                        cur.execute(statement)
            if self.projector.events_table is not None:  # the state is plain JSON that PostgreSQL reads
                self._list_ledger_in_sql(table)
            self._list_ledger_in_python(table, key)
            with self.transaction(write=True) as cur:
                for statement in indexes:
                    cur.execute(statement)

    def _ledger_listed(self, cur: Any, table: str, key: str) -> bool:
        """Whether every event carries the trail's columns and their indexes are built: the index
        of the events still to fill is built last, and makes the rest one index probe."""
        index = table.replace('"', "").split(".")[-1] + "_unlisted"
        if cur.dialect == "postgres":
            built = cur.scalar("SELECT to_regclass(?) IS NOT NULL", (f'"{self.schema}".{index}',))
        else:
            built = cur.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", (index,))
        return bool(built) and cur.execute(f"SELECT {key} FROM {table} WHERE event IS NULL LIMIT 1").fetchone() is None

    def _list_ledger_in_sql(self, table: str) -> None:
        """The trail's columns of every event of a known topic, computed by PostgreSQL from the
        stored JSON as ``projections.audit.entry_of`` computes them from the decoded event (no event
        travels to Python), in committed ranges of positions."""
        with self.transaction() as cur:
            topics = [r[0] for r in cur.execute(f"SELECT DISTINCT topic FROM {table} WHERE event IS NULL").fetchall()]
            low = cur.scalar(f"SELECT min(notification_id) FROM {table} WHERE event IS NULL")
            high = cur.scalar(f"SELECT max(notification_id) FROM {table} WHERE event IS NULL")
        known = []
        for topic in topics:
            try:
                event_class = resolve_topic(topic)
            except TopicError:  # left to the decoding path, which says which topic it is
                continue
            kind = entity_type_of(event_class)
            known.append((topic, event_class.__name__, kind, f"{kind}_id", BUSINESS_DATE.get(event_class.__name__)))
        if not known or low is None:
            return
        columns = [list(c) for c in zip(*known)]
        statement = (
            f"UPDATE {table} AS e SET recorded_at = {sql_micros('timestamp')},"
            " actor = CASE WHEN j->'actor' IS NULL THEN '' ELSE j->>'actor' END, event = m.name, entity_type = m.kind,"
            " entity_id = coalesce(nullif(j->>m.id_key, ''), e.originator_id::text),"
            " business_date = ((j->m.business->>'_data_')::date - DATE '0001-01-01' + 1)"
            f" FROM (SELECT notification_id, topic, convert_from(state, 'UTF8')::jsonb AS j FROM {table}"
            "  WHERE notification_id BETWEEN ? AND ? AND event IS NULL OFFSET 0) AS s"
            " JOIN unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])"
            "  AS m(topic, name, kind, id_key, business)"
            " ON m.topic = s.topic WHERE e.notification_id = s.notification_id"
        )
        step = 200_000
        for first in range(low, high + 1, step):
            with self.transaction(write=True) as cur:
                cur.execute(statement, (first, first + step - 1, *columns))

    def _list_ledger_in_python(self, table: str, key: str) -> None:
        """The trail's columns of the events still without them, from each event decoded."""
        after, batch, mapper = 0, 5000, self.event_store.mapper
        while True:
            with self.transaction() as cur:
                rows = cur.execute(
                    f"SELECT {key}, originator_id, originator_version, topic, state FROM {table}"
                    f" WHERE event IS NULL AND {key} > ? ORDER BY {key} LIMIT ?",
                    (after, batch),
                ).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            entries = [
                (p, *entry(mapper.to_domain_event(StoredEvent(UUID(str(o)), v, t, bytes(s))))) for p, o, v, t, s in rows
            ]
            with self.transaction(write=True) as cur:
                cur.update_rows(
                    f"UPDATE {table} SET recorded_at = v.recorded_at, actor = v.actor, event = v.event,"
                    " entity_type = v.entity_type, entity_id = v.entity_id, business_date = v.business_date"
                    f" {{rows}} WHERE {key} = v.position",
                    (
                        ("position", "bigint"),
                        ("recorded_at", "bigint"),
                        ("actor", "text"),
                        ("event", "text"),
                        ("entity_type", "text"),
                        ("entity_id", "text"),
                        ("business_date", "integer"),
                    ),
                    entries,
                )

    def _index_members_locked(self) -> None:
        """Enter in the blind index the members recorded before it existed, or before its current
        shape (once per store, under the lock). Tokens kept a row each are carried over as they are,
        nothing decrypted; a store without the pairs of words has each admission's sealed data opened
        with the member's key (erased members have none)."""
        with self.transaction() as cur:
            if cur.scalar("SELECT count(*) FROM index_keys WHERE name = ?", (INDEXED,)):
                return
            carried = cur.scalar("SELECT count(*) FROM index_keys WHERE name = ?", (INDEXED_PAIRS,))
            old = self._old_index(cur)
        if carried and old:
            self._carry_old_index()
        else:
            self._index_from_ledger()
        with self.transaction(write=True) as cur:
            if old:
                cur.execute(f"DROP TABLE IF EXISTS {OLD_INDEX_TABLE}")
            cur.execute("INSERT INTO index_keys (name, key) VALUES (?, '') ON CONFLICT (name) DO NOTHING", (INDEXED,))

    def _old_index(self, cur: Any) -> bool:
        """Whether the store still has the index of a row per token and member."""
        if cur.dialect == "postgres":
            return cur.scalar("SELECT to_regclass(?) IS NOT NULL", (f'"{self.schema}".{OLD_INDEX_TABLE}',))
        return bool(
            cur.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (OLD_INDEX_TABLE,))
        )

    def _carry_old_index(self) -> None:
        """The tokens of the index of a row per token (32 hex digits each) as arrays of their first
        16 digits read as signed 64-bit integers: today's tokens, without opening any member's data."""
        with self.transaction(write=True) as cur:
            cur.execute("DELETE FROM member_tokens")
            if cur.dialect == "postgres":
                cur.execute(
                    "INSERT INTO member_tokens (member_id, tokens) SELECT member_id,"
                    f" array_agg(('x' || left(token, 16))::bit(64)::bigint) FROM {OLD_INDEX_TABLE} GROUP BY member_id"
                )
                return
            held: dict[str, list[int]] = {}
            for token, member_id in cur.execute(f"SELECT token, member_id FROM {OLD_INDEX_TABLE}").fetchall():
                held.setdefault(member_id, []).append(int.from_bytes(bytes.fromhex(token[:16]), "big", signed=True))
            cur.insert_rows("member_tokens", ("member_id", "tokens"), [(m, tokens_text(t)) for m, t in held.items()])

    def _index_from_ledger(self) -> None:
        """Every admitted member's tokens from the admission's sealed data, opened with their key."""
        table, topic = self.event_store.events_table, get_topic(Member.MemberAdmitted)
        after, batch = 0, 5000
        while True:
            with self.transaction() as cur:
                column = "notification_id" if cur.dialect == "postgres" else "rowid"
                rows = cur.execute(
                    f"SELECT {column}, state FROM {table} WHERE topic = ? AND {column} > ? ORDER BY {column} LIMIT ?",
                    (topic, after, batch),
                ).fetchall()
            if not rows:
                break
            after = rows[-1][0]
            sealed = [(state["member_id"], state["personal"]) for state in (json.loads(bytes(s)) for _p, s in rows)]
            opened = self.vault.unseal_many(sealed)
            held = [(m, tokens_text(tokens)) for m, data in opened.items() if (tokens := self.vault.tokens(data))]
            with self.transaction(write=True) as cur:  # the index key made before: SQLite has one writer
                cur.execute(
                    f"DELETE FROM member_tokens WHERE member_id IN ({', '.join('?' * len(sealed))})",
                    [m for m, _s in sealed],
                )
                if cur.dialect == "postgres":
                    held = [(m, "{" + text[1:-1] + "}") for m, text in held]
                cur.insert_rows("member_tokens", ("member_id", "tokens"), held)

    # ---- connections ---------------------------------------------------------
    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled PostgreSQL connection on the tenant's schema (through a transaction pooler,
        a transaction on it sets the schema itself: ``on_schema``)."""
        with self.datastore.get_connection() as conn:
            if not self.pooled:
                self._on_tenant(conn)
            yield conn

    @property
    def pooled(self) -> bool:
        return self.settings.pooled

    def on_schema(self, cur: Any, search_path: str | None = None) -> None:
        """At the start of a transaction through a transaction pooler: the tables it names are the
        tenant's (or those of ``search_path``), for this transaction alone."""
        cur.execute(f"SET LOCAL search_path TO {search_path or self._schema_path}")

    @property
    def _schema_path(self) -> str:
        return f'"{self.schema}"'

    @contextmanager
    def transaction(
        self, write: bool = False, snapshot: bool = False, search_path: str | None = None
    ) -> Iterator[ViewCursor]:
        """A cursor on the tenant's store. On PostgreSQL a read (``write=False``) runs its
        statements on their own, each seeing what was committed when it started (as it would in
        a READ COMMITTED transaction, without the round trips to open and close one);
        ``snapshot=True`` reads everything in one REPEATABLE READ snapshot instead, taken once
        no rebuild is swapping the views (their tables are locked first, in the one order every
        writer of them locks them). ``search_path`` names the schemas tables are found in."""
        if self.backend == "postgres":
            from psycopg.rows import tuple_row

            with self.connection() as conn:
                if write or snapshot or search_path or self.pooled:
                    # through a pooler a read's BEGIN and SET LOCAL go with its first statement, as
                    # do a snapshot's BEGIN, isolation and lock: one round trip for the four
                    lead = conn.pipeline() if (self.pooled or snapshot) and not write else nullcontext()
                    with lead, conn.transaction(force_rollback=not write):
                        raw = conn.cursor(row_factory=tuple_row)
                        if snapshot:
                            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        if search_path or self.pooled:
                            self.on_schema(raw, search_path)
                        if snapshot:
                            raw.execute(f"LOCK TABLE {self._view_tables} IN ACCESS SHARE MODE")
                        yield ViewCursor(raw, "postgres")
                else:
                    yield ViewCursor(conn.cursor(row_factory=tuple_row), "postgres")
        else:
            with self.datastore.transaction(commit=write) as raw:
                yield ViewCursor(raw.sqlite_cursor, "sqlite")

    def _on_tenant(self, conn: Any) -> None:
        if conn not in self._on_schema:  # the pool's connections serve this tenant only
            conn.execute(f'SET search_path TO "{self.schema}"')
            self._on_schema.add(conn)

    # ---- the tenant lock -------------------------------------------------------
    @property
    def lock_key(self) -> int:
        """The tenant's advisory lock (PostgreSQL)."""
        assert self.schema is not None  # the tenant's schema: the lock is PostgreSQL's
        return int.from_bytes(hashlib.sha256(self.schema.encode()).digest()[:8], "big", signed=True)

    @property
    def lock_wait(self) -> float:
        """How long a request waits for the lock before it is answered 503."""
        return self.settings.lock_wait_seconds

    @contextmanager
    def lock(self, wait: float | None = None) -> Iterator[None]:
        """Serialise this tenant's writers across threads and processes. With ``wait``, give up
        after that many seconds (TenantBusy); without, wait as long as it takes."""
        deadline = None if wait is None else time.monotonic() + wait
        with self.thread_locked(deadline), self.store_locked(deadline):
            yield

    @contextmanager
    def thread_locked(self, deadline: float | None) -> Iterator[None]:
        """The lock between this process's threads."""
        if not self._thread_lock.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())):
            raise self.busy()
        try:
            yield
        finally:
            self._thread_lock.release()

    @contextmanager
    def store_locked(self, deadline: float | None) -> Iterator[None]:
        """The lock between processes: an advisory lock (PostgreSQL) or a lock on a file (SQLite)."""
        if self.backend == "postgres":
            from psycopg.rows import tuple_row

            if self.pooled:  # a lock of the session would stay with a server connection the pooler reuses
                with self._transaction_locked(deadline):
                    yield
                return
            with self.datastore.get_connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                if deadline is None:
                    cur.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
                else:
                    _poll(
                        lambda: cur.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()[0],
                        deadline,
                        self.busy,
                    )
                try:
                    yield
                finally:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))
        else:
            with open(self._lock_path, "a+") as handle:
                if deadline is None:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                else:
                    _poll(lambda: _try_flock(handle), deadline, self.busy)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def _transaction_locked(self, deadline: float | None) -> Iterator[None]:
        """The lock between processes through a transaction pooler: the same advisory lock, taken
        by a transaction kept open while the lock is held (the pooler keeps its server connection
        to it until it ends), so that it ends with the transaction whatever happens."""
        from psycopg.rows import tuple_row

        with self.datastore.get_connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=tuple_row)
            if deadline is None:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
            else:
                _poll(
                    lambda: cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (self.lock_key,)).fetchone()[0],
                    deadline,
                    self.busy,
                )
            yield

    def busy(self) -> TenantBusy:
        return TenantBusy(
            f"tenant {self.tenant_id!r} is busy (an import or a rebuild of its views is running); try again shortly"
        )

    # ---- keeping the views current -------------------------------------------
    def fresh(self) -> TenantStore:
        """Before a read: the views hold everything the ledger does, or this waits for them to
        catch up (a crash left them behind). Where an event stopped the views, the read is
        answered from the last consistent state they hold."""
        state = self.projector.state()
        if state.current:
            return self
        if self.stopped is not None and state.intact and state.ledger == self._stopped_at:
            return self
        with self.lock(self.lock_wait):
            try:
                self.catch_up_locked()
            except ViewsStopped:
                if not self.projector.intact():
                    raise
        return self

    def catch_up_locked(self) -> None:
        """Catch the views and the chain up (the caller holds the lock); an event that stops
        the views is remembered, so that readers answer from what the views hold meanwhile."""
        try:
            self.projector.follow()
        except ViewsStopped as stop:
            self.stopped, self._stopped_at = stop, self.projector.ledger_position()
            raise
        self.stopped = None
        self.extend_chain_locked()

    def extend_chain_locked(self) -> None:
        """Link new events into the hash chain; a broken chain is for verify and the digest to report."""
        try:
            self.chain.extend_locked()
        except ChainBroken as error:
            log.warning("tenant %s: %s", self.tenant_id, error.message)

    # ---- maintenance -----------------------------------------------------------------
    @property
    def _ledger_tables(self) -> tuple[str, ...]:
        return self.event_store.events_table, CHAIN_TABLE, KEYS_TABLE, TREE_TABLE

    def analyze(self) -> None:
        """Renew the planner's statistics of the ledger's tables and of every view, as after a
        large import: without them PostgreSQL misjudges a freshly filled table. On PostgreSQL the
        ledger's tables are analysed on a connection of their own beside the views, the two about
        even."""

        def ledger() -> None:
            with self.transaction(write=True) as cur:
                for table in self._ledger_tables:
                    cur.execute(f"ANALYZE {table}")

        beside = self.backend == "postgres"
        with in_threads([("ledger-analyze", ledger)] if beside else []):
            self.projector.analyze()
        if not beside:
            ledger()

    def warm(self) -> None:
        """Read the indicator columns ahead of the first question (at a million members, seconds
        that question would otherwise wait); a failure only leaves that question to read them."""
        started = time.perf_counter()
        try:
            self.indicators.warm()
        except Exception as error:  # noqa: BLE001 - the store may be closed or the database away
            log.info("tenant %s: indicator columns not read ahead: %s", self.tenant_id, error)
            return
        log.info("tenant %s: indicator columns read ahead in %.1f s", self.tenant_id, time.perf_counter() - started)

    def rebuild(self, progress: Callable[[int], None] | None = None, *, tree: bool = False) -> int:
        """Build the views again from the ledger; readers keep the old views until the new are complete.

        The Merkle tree is the ledger's, not a view: written with its events and kept through a
        crash, it is made again only when asked (``tree``, after its rows were changed) or when it
        lost rows of its right edge: a routine rebuild never hashes a changed ledger into a new tree."""
        with self.lock():
            tree = tree or not self.chain.tree.whole()
            # On PostgreSQL the server hashes the tree's leaves: made again, it goes on a
            # connection (and a core) of its own, beside the views.
            beside = tree and self.backend == "postgres"

            def remake_tree() -> None:
                self.chain.tree.rebuild_locked()

            with in_threads([("tree-rebuild", remake_tree)] if beside else []):
                applied = self.projector.rebuild(progress)
            self.stopped = None
            if tree and not beside:
                self.chain.tree.rebuild_locked()
            self.extend_chain_locked()
            return applied

    def close(self) -> None:
        self.event_store.close()


def _poll(attempt: Callable[[], bool], deadline: float, busy: Callable[[], Exception]) -> None:
    """Try ``attempt`` until it succeeds or ``deadline`` passes (then raise ``busy()``)."""
    pause = 0.01
    while not attempt():
        if time.monotonic() >= deadline:
            raise busy()
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.2)


def _try_flock(handle: Any) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class TenantStores:
    """The open tenant stores of this process, least recently used closed first. ``placement``
    names the server a tenant lives on (the registry's record; None: the control store's).

    A tenant moved to another server (tenants/moving.py) is noticed within
    ``PLACEMENT_RECHECK_SECONDS``: its store here is retired (closed once no request uses it) and
    the next use opens it where the registry says. Until then its writes are refused on the old
    server, which the move fenced, and its reads miss nothing: the move keeps the new server's
    writes waiting that long (tenants/moving.py)."""

    def __init__(self, settings: Settings, placement: Callable[[str], str | None] | None = None):
        self.settings = settings
        self.placement = placement or (lambda _tenant_id: None)
        self._open: OrderedDict[str, TenantStore] = OrderedDict()
        self._users: dict[TenantStore, int] = {}
        self._retired: set[TenantStore] = set()
        self._checked: dict[str, float] = {}  # when each open tenant's placement was last read
        self._openings: dict[str, threading.Lock] = {}  # one opening of a tenant's store at a time
        self._lock = threading.Lock()

    @contextmanager
    def use(self, tenant_id: str, *, create: bool = False, server: str | None = None) -> Iterator[TenantStore]:
        """The tenant's store, opened if it is not; ``server`` where it is being made (its
        provisioning), else the server the registry records."""
        self._recheck(tenant_id, server)
        store = self._acquire(tenant_id)
        if store is None:
            # Opened outside the stores' lock, one opening per tenant at a time: a store whose server
            # is away fails after UNIONLEDGER_DB_TIMEOUT_SECONDS without holding up the other tenants.
            with self._opening(tenant_id):
                store = self._acquire(tenant_id)
                if store is None:
                    where = server or (None if tenant_id == NATIONAL_STORE else self.placement(tenant_id))
                    store = TenantStore(tenant_id, self.settings, create=create, server=where)
                    with self._lock:
                        self._open[tenant_id] = store
                        self._checked[tenant_id] = time.monotonic()
                        self._users[store] = 1
                        self._evict()
                    if self.settings.warm_columns:
                        log.info("tenant %s: opened; reading its indicator columns ahead", tenant_id)
                        threading.Thread(target=store.warm, name=f"warm-{tenant_id}", daemon=True).start()
        try:
            yield store
        finally:
            with self._lock:
                left = self._users.get(store, 1) - 1  # a store forgotten meanwhile counts no users
                if left > 0:
                    self._users[store] = left
                else:
                    self._users.pop(store, None)
                    if store in self._retired:
                        self._retired.discard(store)
                        store.close()

    def _acquire(self, tenant_id: str) -> TenantStore | None:
        """The tenant's open store, counted as used; None if it is not open."""
        with self._lock:
            store = self._open.get(tenant_id)
            if store is not None:
                self._open.move_to_end(tenant_id)
                self._users[store] = self._users.get(store, 0) + 1
                self._evict()
            return store

    def _opening(self, tenant_id: str) -> threading.Lock:
        with self._lock:
            return self._openings.setdefault(tenant_id, threading.Lock())

    def _recheck(self, tenant_id: str, server: str | None) -> None:
        """Where an open tenant's placement was read long enough ago, read it again (outside the
        lock: a control store query) and retire the store if the tenant has moved."""
        if self.settings.backend != "postgres" or server is not None or tenant_id == NATIONAL_STORE:
            return
        with self._lock:
            store = self._open.get(tenant_id)
            now = time.monotonic()
            if store is None or now - self._checked.get(tenant_id, 0.0) < PLACEMENT_RECHECK_SECONDS:
                return
            self._checked[tenant_id] = now
        try:
            where = self.placement(tenant_id)
        except Exception as error:  # noqa: BLE001 - the control store away: the store stays as it is
            log.info("tenant %s: placement not read again (%s)", tenant_id, type(error).__name__)
            return
        if where is not None and where != store.server:
            log.info("tenant %s: moved from server %s to %s; its store is opened there", tenant_id, store.server, where)
            self.retire(tenant_id)

    def retire(self, tenant_id: str) -> None:
        """Stop handing out this process's store of the tenant (its next use opens it afresh,
        where the registry says); it is closed once no request uses it."""
        with self._lock:
            store = self._open.pop(tenant_id, None)
            self._checked.pop(tenant_id, None)
            if store is None:
                return
            if self._users.get(store):
                self._retired.add(store)
            else:
                self._users.pop(store, None)
                store.close()

    def _evict(self) -> None:
        for tenant_id, store in list(self._open.items()):
            if len(self._open) <= self.settings.max_open_tenants:
                return
            if not self._users.get(store):
                self._open.pop(tenant_id).close()
                self._users.pop(store, None)
                self._checked.pop(tenant_id, None)

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            store = self._open.pop(tenant_id, None)
            self._checked.pop(tenant_id, None)
            if store is not None:
                self._users.pop(store, None)
                store.close()

    def pool_use(self) -> dict[str, dict[str, int]]:
        """The connections of this process's open stores, per server: held, in use, and requests waiting."""
        use: dict[str, dict[str, int]] = {}
        with self._lock:
            stores = list(self._open.values())
        for store in stores:
            pool = getattr(store.datastore, "pool", None)
            if pool is None or not hasattr(pool, "get_stats"):
                continue
            stats = pool.get_stats()
            mine = use.setdefault(store.server, {"size": 0, "in_use": 0, "waiting": 0})
            mine["size"] += stats.get("pool_size", 0)
            mine["in_use"] += stats.get("pool_size", 0) - stats.get("pool_available", 0)
            mine["waiting"] += stats.get("requests_waiting", 0)
        return use

    def close(self) -> None:
        with self._lock:
            for store in self._open.values():
                store.close()
            self._open.clear()


def sqlite_path(settings: Settings, tenant_id: str) -> Path:
    return settings.data_dir / "tenants" / f"{tenant_id}.sqlite"
