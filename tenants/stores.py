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
import gc
import hashlib
import logging
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, Recording, StoredEvent

from domain.errors import NotFound
from domain.imports import ERRORS_KEPT, ImportPlan, plan_import
from domain.ledger import ADMITTED_TOPIC, Ledger, personal_data
from domain.members import Member
from projections.audit import Audit
from projections.base import ViewCursor, micros
from projections.indicators import IndicatorCalculator
from projections.membership import Membership
from projections.plans import Reports, Targets
from projections.progress import Plans
from projections.queries import RegisterViews, admitted_member
from projections.runner import ANALYZE_AFTER, INTACT, Projector, ViewsStopped
from projections.structure import Structure
from persistence.files import private_file
from integrity.chain import CHAIN_DDL, CHAIN_TABLE, Chain, ChainBroken, genesis
from tenants.grouping import GroupCommit, Pending, Take
from persistence.recorders import insert_within
from tenants.settings import Settings, schema_name
from persistence.vault import KEYS_DDL, KEYS_TABLE, PersonalDataVault, new_key, seal_with


log = logging.getLogger(__name__)
MAPPER_TOPIC = "persistence.mapper:RegisterMapper"  # the library's mapper, flat events' JSON written directly
RETRY_AFTER = 5  # seconds a client is told to wait when the tenant is busy


def view_projections() -> list:
    """The views every tenant store keeps (also replayed offline from an export)."""
    return [Structure(), Membership(), Targets(), Reports(), Audit()]


class TenantBusy(Exception):
    """The tenant lock was not had in time: a long import or rebuild holds it. Try again later."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


class _CatchUpFirst(Exception):
    """The views or the chain are behind the ledger: catch them up before deciding commands."""


class TenantStore:
    """One tenant's ledger and views, and the lock that serialises its writers."""

    def __init__(self, tenant_id: str, settings: Settings, *, create: bool = False):
        self.tenant_id = tenant_id
        self.settings = settings
        self.backend = settings.backend
        self._thread_lock = threading.Lock()
        self.schema: str | None = None
        if self.backend == "postgres":
            self.schema = schema_name(tenant_id)
            env = {
                "PERSISTENCE_MODULE": "persistence.connections:TenantPostgresFactory",
                **settings.postgres(),
                "POSTGRES_APPLICATION_NAME": settings.application_name(tenant_id),
                "POSTGRES_CONNECT_TIMEOUT": str(settings.db_timeout),
                "POSTGRES_SCHEMA": self.schema,
                "POSTGRES_POOL_SIZE": str(settings.pool_size),
                "POSTGRES_MAX_OVERFLOW": str(settings.pool_overflow),
                "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
                "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
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
                "SQLITE_DBNAME": str(self.path),
                "SQLITE_LOCK_TIMEOUT": "30",
                "MAPPER_TOPIC": MAPPER_TOPIC,
                "CREATE_TABLE": "y" if create else "n",
            }
        self._on_schema: weakref.WeakSet = weakref.WeakSet()  # pooled connections whose search_path is set
        self.views = RegisterViews(self.transaction)
        self.indicators = IndicatorCalculator(self.transaction)
        self.plans = Plans(self.transaction, self.indicators)
        self.vault = PersonalDataVault(self.transaction)
        self.ledger = Ledger(env, queries=self.views, sealer=self.vault)
        self.datastore = self.ledger.factory.datastore
        mapper = self.ledger.mapper
        derivable = self.backend == "postgres" and mapper.cipher is None and mapper.compressor is None
        self.projector = Projector(self.ledger.recorder, mapper, self.transaction, view_projections(),
                                   events_table=self.ledger.recorder.events_table_name if derivable else None,
                                   schema=self.schema, ledger_table=self.ledger.recorder.events_table_name)
        self._view_tables = ", ".join(self.projector.view_tables)
        if create or not self._made():
            with self.lock():
                with self.transaction(write=True) as cur:
                    if create:
                        cur.execute(KEYS_DDL)
                    cur.execute(CHAIN_DDL)
                self.projector.create()
        self.chain = Chain(self)
        self._group = GroupCommit(self._commit)
        self.stopped: ViewsStopped | None = None  # where the views stopped, if an event failed them
        self._stopped_at = 0  # the ledger's last position when they stopped

    def _made(self) -> bool:
        """Whether the store's tables are there in their current definition (then opening it
        needs no lock, which a long import elsewhere may hold)."""
        lanes = list(self.projector.lanes)
        try:
            with self.transaction() as cur:
                checksum = cur.scalar("SELECT position FROM view_positions WHERE name = 'schema'")
                known = cur.scalar(f"SELECT count(*) FROM view_positions WHERE name IN ({', '.join('?' * len(lanes))})",
                                   lanes)
                cur.execute(f"SELECT 1 FROM {CHAIN_TABLE} LIMIT 1")
        except Exception:  # noqa: BLE001 - a table missing: made under the lock
            return False
        return checksum == self.projector.schema_checksum() and known == len(lanes)

    # ---- connections ---------------------------------------------------------
    @contextmanager
    def transaction(self, write: bool = False, snapshot: bool = False,
                    search_path: str | None = None) -> Iterator[ViewCursor]:
        """A cursor on the tenant's store. On PostgreSQL a read (``write=False``) runs its
        statements on their own, each seeing what was committed when it started (as it would in
        a READ COMMITTED transaction, without the round trips to open and close one);
        ``snapshot=True`` reads everything in one REPEATABLE READ snapshot instead, taken once
        no rebuild is swapping the views (their tables are locked first, in the one order every
        writer of them locks them). ``search_path`` names the schemas tables are found in."""
        if self.backend == "postgres":
            from psycopg.rows import tuple_row

            with self.datastore.get_connection() as conn:
                self._on_tenant(conn)
                if write or snapshot or search_path:
                    with conn.transaction(force_rollback=not write):
                        raw = conn.cursor(row_factory=tuple_row)
                        if snapshot:
                            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                            raw.execute(f"LOCK TABLE {self._view_tables} IN ACCESS SHARE MODE")
                        if search_path:
                            raw.execute(f"SET LOCAL search_path TO {search_path}")
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
    def _lock_key(self) -> int:
        return int.from_bytes(hashlib.sha256(self.schema.encode()).digest()[:8], "big", signed=True)

    @contextmanager
    def lock(self, wait: float | None = None) -> Iterator[None]:
        """Serialise this tenant's writers across threads and processes. With ``wait``, give up
        after that many seconds (TenantBusy); without, wait as long as it takes."""
        deadline = None if wait is None else time.monotonic() + wait
        with self._thread_locked(deadline), self._store_locked(deadline):
            yield

    @contextmanager
    def _thread_locked(self, deadline: float | None) -> Iterator[None]:
        if not self._thread_lock.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())):
            raise self._busy()
        try:
            yield
        finally:
            self._thread_lock.release()

    @contextmanager
    def _store_locked(self, deadline: float | None) -> Iterator[None]:
        """The lock between processes: an advisory lock (PostgreSQL) or a lock on a file (SQLite)."""
        if self.backend == "postgres":
            from psycopg.rows import tuple_row

            with self.datastore.get_connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                if deadline is None:
                    cur.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
                else:
                    _poll(lambda: cur.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_key,)).fetchone()[0],
                          deadline, self._busy)
                try:
                    yield
                finally:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
        else:
            with open(self._lock_path, "a+") as handle:
                if deadline is None:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                else:
                    _poll(lambda: _try_flock(handle), deadline, self._busy)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _busy(self) -> TenantBusy:
        return TenantBusy(f"tenant {self.tenant_id!r} is busy (an import or a rebuild of its views is running);"
                          " try again shortly")

    @property
    def _wait(self) -> float:
        return self.settings.lock_wait_seconds

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
        with self.lock(self._wait):
            try:
                self._follow()
            except ViewsStopped:
                if not self.projector.intact():
                    raise
        return self

    def _follow(self) -> None:
        """Catch the views and the chain up (the caller holds the lock); an event that stops
        the views is remembered, so that readers answer from what the views hold meanwhile."""
        try:
            self.projector.follow()
        except ViewsStopped as stop:
            self.stopped, self._stopped_at = stop, self.projector.ledger_position()
            raise
        self.stopped = None
        self._chain()

    # ---- commands ----------------------------------------------------------------
    def command(self, verb: str, *args: Any, **kwargs: Any) -> Any:
        """Run a ledger verb with the views current before (for rules) and after (read-your-writes)."""
        item = Pending(verb, "", args, kwargs)
        self._commit(lambda: [item], read_back=False)
        return item.outcome()

    # Commands that may share a group commit: each changes one member, and their rules read
    # only that member and unions, which none of them changes.
    GROUPED = ("admit_member", "transfer_member", "record_departure")

    def grouped(self, verb: str, key: str, *args: Any, **kwargs: Any) -> Any:
        """Like ``command``, but saved in one transaction with the commands queued beside it
        (see tenants.grouping); ``key`` is the member the command changes. Returns the member as
        the views show it afterwards, personal data opened (see ``_read_back``)."""
        if verb not in self.GROUPED:
            raise ValueError(f"{verb} is not a command that may be grouped")
        return self._group.submit(verb, key, *args, **kwargs)

    def _commit(self, take: Take, read_back: bool = True) -> None:
        """Under the lock: decide the commands ``take`` gives, save what they record in one
        transaction with the views and the chain; then, for grouped commands, read their members
        back as their results."""
        commit = self._commit_pipelined if self.backend == "postgres" else self._commit_stepwise
        decided, recorded = commit(take)
        if read_back:
            self._read_back([item for item in decided if item.verb in self.GROUPED and item.error is None], recorded)
        for item in decided:
            item.done = True

    def _commit_pipelined(self, take: Take) -> tuple[list[Pending], list[Recording]]:
        """PostgreSQL: the lock is the transaction's, taken with its first statement, and the
        statements go without waiting for answers where none is needed. The lock is held for
        three round trips and the aggregates' read: lock and where views and chain end; keys and
        events; views, chain and commit. Views or chain found behind (after a crash) are caught
        up first, under the lock between processes, and the commands decided after that."""
        from psycopg import errors
        from psycopg.rows import tuple_row

        deadline = time.monotonic() + self._wait
        with self._thread_locked(deadline):
            while True:
                decided: list[Pending] = []
                recordings: list[Recording] = []
                refused = behind = False
                try:
                    with self.datastore.get_connection() as conn:
                        self._on_tenant(conn)
                        cur = ViewCursor(conn.cursor(row_factory=tuple_row), "postgres")
                        with cur.pipeline(), conn.transaction():  # BEGIN and COMMIT go with the statements
                            wait = max(1, int((deadline - time.monotonic()) * 1000))
                            cur.execute("SELECT set_config('lock_timeout', ?, true)", (f"{wait}ms",))
                            cur.execute("SELECT pg_advisory_xact_lock(?)", (self._lock_key,))
                            views, top, chain_end = self._ends(cur)
                            if views < top or chain_end[0] < top:
                                raise _CatchUpFirst
                            decided, collected, keys = self._decide(take())
                            if collected:
                                recordings = self._write(cur, collected, keys)
                                ids = [r.notification.id for r in recordings]
                                behind = ids != list(range(top + 1, top + 1 + len(ids)))
                                if not behind:  # else positions a rolled-back write used: caught up after
                                    self.projector.apply_at(cur, [(r.domain_event, r.notification.id)
                                                                  for r in recordings], top)
                                    self.chain.link_at(cur, recordings, chain_end)
                except _CatchUpFirst:
                    with self._store_locked(deadline):
                        self._follow()
                    continue
                except errors.LockNotAvailable:
                    raise self._busy() from None
                except IntegrityError:  # unexpected, as the lock was held
                    refused = True
                if refused or behind:
                    with self._store_locked(deadline):
                        if refused:
                            self._one_by_one(decided)
                        self._follow()
                return decided, [] if refused else recordings

    def _one_by_one(self, decided: list[Pending]) -> None:
        """Decide and save each command on its own, through the library (the caller holds the lock)."""
        for item in decided:
            try:
                item.result = getattr(self.ledger, item.verb)(*item.args, **item.kwargs)
            except Exception as error:
                item.error = error

    def _ends(self, cur: ViewCursor) -> tuple[int, int, tuple[int, bytes]]:
        """Where the views (the lane furthest behind; 0 if a crash emptied them), the ledger and the
        chain end (the last link with the chain's end)."""
        row = cur.execute(
            f"SELECT (SELECT min(position) FROM view_positions WHERE name = ANY(?) AND {INTACT}),"
            f" (SELECT max(notification_id) FROM {self.ledger.recorder.events_table_name}), c.position, c.link"
            " FROM (SELECT 1) one LEFT JOIN LATERAL"
            " (SELECT position, link FROM ledger_chain ORDER BY position DESC LIMIT 1) c ON true",
            (list(self.projector.lanes),)).fetchone()
        chain_end = (row[2], bytes.fromhex(row[3])) if row[2] is not None else (0, genesis(self.tenant_id))
        return row[0] or 0, row[1] or 0, chain_end

    def _commit_stepwise(self, take: Take) -> tuple[list[Pending], list[Recording]]:
        """SQLite: one statement at a time (the write transaction is the lock between processes)."""
        with self.lock(self._wait):
            self._follow()
            decided, collected, keys = self._decide(take())
            recordings: list[Recording] = []
            if collected:
                try:
                    recordings = self._record(collected, keys)
                except IntegrityError:  # unexpected, as the lock is held
                    self._one_by_one(decided)
                    self._follow()
                    return decided, []
        return decided, recordings

    def _read_back(self, items: list[Pending], recorded: Sequence[Recording] = ()) -> None:
        """A grouped command's result: its member as the views show it, with the personal data
        opened (``personal_data``; None once erased), read for the whole group at once. An
        admission among the ``recorded`` events needs no reading: the member is what the event
        makes and the personal data what the command was given."""
        admissions = {r.domain_event.member_id: r.domain_event for r in recorded
                      if isinstance(r.domain_event, Member.MemberAdmitted)}
        for item in items:
            event = admissions.get(item.key) if item.verb == "admit_member" else None
            if event is not None:
                member, given = admitted_member(event), item.kwargs
                member.pop("personal")
                item.result = {**member, "personal_data": personal_data(
                    given["full_name"], given.get("birth_date"), given.get("id_number"))}
        items = [item for item in items if isinstance(item.result, Member)]
        if not items:
            return
        rows = self.views.members([item.key for item in items])
        opened = self.vault.unseal_many((m, row["personal"]) for m, row in rows.items())
        for item in items:
            row = dict(rows[item.key])
            row.pop("personal")
            item.result = {**row, "personal_data": opened.get(item.key)}

    def _record(self, aggregates: list, keys: dict[str, bytes]) -> list[Recording]:
        """Save the aggregates' new events with the new members' keys, the views and the hash
        chain, in one transaction (the caller holds the lock and has caught the views up)."""
        with self.transaction(write=True) as cur:
            recordings = self._write(cur, aggregates, keys)
            self.projector.apply([(r.domain_event, r.notification.id) for r in recordings], cur)
            end = self._chain_end(cur)
            if end[0] == recordings[0].notification.id - 1:
                self.chain.link_at(cur, recordings, end)
        if end[0] != recordings[0].notification.id - 1:
            self._chain()  # the chain was behind: for extension to link, or to report broken
        return recordings

    def _chain_end(self, cur: ViewCursor) -> tuple[int, bytes]:
        row = cur.execute(f"SELECT position, link FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1").fetchone()
        return (row[0], bytes.fromhex(row[1])) if row else (0, genesis(self.tenant_id))

    def _write(self, cur: ViewCursor, aggregates: list, keys: dict[str, bytes]) -> list[Recording]:
        """Save the aggregates' new events, and the new members' keys, in ``cur``'s transaction."""
        events = [e for aggregate in aggregates for e in aggregate.collect_events()]
        stored = [self.ledger.mapper.to_stored_event(e) for e in events]
        with cur.pipeline():  # keys, table lock and events in one round trip
            self.vault.keep(cur, keys)
            ids = insert_within(self.ledger.recorder, cur, stored)
        return [Recording(e, Notification(id=i, originator_id=s.originator_id, topic=s.topic,
                                          originator_version=s.originator_version, state=s.state))
                for e, s, i in zip(events, stored, ids)]

    def _decide(self, group: list[Pending]) -> tuple[list[Pending], list, dict[str, bytes]]:
        """Run each command without saving; a refused command is done with its error. Returns
        the commands decided, the aggregates to save and the new members' keys to store."""
        decided: list[Pending] = []
        sealer = _GroupSealer(self.vault)
        vault, self.ledger.sealer = self.ledger.sealer, sealer
        try:
            with self.ledger.preloaded(self._load(group)), self.ledger.collecting() as collected:
                for item in group:
                    mark = len(collected)
                    try:
                        item.result = getattr(self.ledger, item.verb)(*item.args, **item.kwargs)
                        decided.append(item)
                    except Exception as error:  # this command only
                        del collected[mark:]
                        item.error, item.done = error, True
                return decided, list(collected), sealer.keys_of(decided)
        finally:
            self.ledger.sealer = vault

    def _load(self, group: list[Pending]) -> dict[UUID, Any]:
        """Every aggregate the group's commands read, from one query (None where there is none)."""
        ids = list(dict.fromkeys(i for p in group if p.verb in self.GROUPED
                                 for i in self.ledger.reads(p.verb, *p.args, **p.kwargs)))
        if not ids:
            return {}
        table = self.ledger.recorder.events_table_name
        with self.transaction() as cur:
            if cur.dialect == "postgres":
                cur.execute(f"SELECT originator_id, originator_version, topic, state FROM {table}"
                            " WHERE originator_id = ANY(?) ORDER BY originator_id, originator_version", (ids,))
            else:
                cur.execute(f"SELECT originator_id, originator_version, topic, state FROM {table}"
                            f" WHERE originator_id IN ({', '.join('?' * len(ids))})"
                            " ORDER BY originator_id, originator_version", [i.hex for i in ids])
            rows = cur.fetchall()
        events: dict[UUID, list] = {i: [] for i in ids}
        for originator_id, version, topic, state in rows:
            originator_id = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            events[originator_id].append(self.ledger.mapper.to_domain_event(
                StoredEvent(originator_id, version, topic, bytes(state))))
        return {i: _project(e) if e else None for i, e in events.items()}

    def _chain(self) -> None:
        """Link new events into the hash chain; a broken chain is for verify and the digest to report."""
        try:
            self.chain.extend_locked()
        except ChainBroken as error:
            log.warning("tenant %s: %s", self.tenant_id, error.message)

    # ---- imports -------------------------------------------------------------------
    def import_rows(self, sheets: dict, actor: str, progress: Callable[[int], None] | None = None,
                    wait: float | None = None, errors_kept: int = ERRORS_KEPT) -> ImportPlan:
        """Validate every row, then (only if none is wrong) record them all in one transaction
        with their views, keys and chain links: readers see the register before the import or
        after it, and a crash leaves every row or none. ``wait``: how long to wait for the lock;
        ``errors_kept``: how many bad rows the plan lists (all are counted)."""
        with self.lock(wait), _collector_paused():
            self._follow()
            plan = plan_import(sheets, _ImportFacts(self), self.ledger.today(), errors_kept)
            if plan.errors:
                return plan
            written = self._write_import(plan, actor, progress)
        if written >= ANALYZE_AFTER:
            self.analyze()
        return plan

    def _write_import(self, plan: ImportPlan, actor: str, progress: Callable[[int], None] | None) -> int:
        """Every event the plan records, in chunks, all in one transaction (the caller holds the
        lock and has caught views and chain up). Where the views derive admissions from the
        ledger (PostgreSQL), they are stored without making their event objects."""
        events = not self.projector.derives(ADMITTED_TOPIC)
        written = 0
        with self.transaction(write=True) as cur:
            views, end = self.projector._position(cur), self._chain_end(cur)
            for _kind, built, keys in self.ledger.import_events(plan, actor=actor, events=events):
                self.vault.keep(cur, keys)
                positions = insert_within(self.ledger.recorder, cur, [stored for stored, _e, _t in built])
                self.projector.apply_stored([(stored.topic, event, position) for (stored, event, _t), position
                                             in zip(built, positions)], cur, after=views)
                views = positions[-1]
                if end[0] == positions[0] - 1:  # else positions a rolled-back write used: extension links them
                    end = self.chain.link_stored(cur, [(position, stored, micros(at)) for (stored, _e, at), position
                                                       in zip(built, positions)], end)
                written += len(built)
                if progress:
                    progress(len(built))
        self._chain()
        return written

    @property
    def _ledger_tables(self) -> tuple[str, ...]:
        return self.ledger.recorder.events_table_name, CHAIN_TABLE, KEYS_TABLE

    def analyze(self) -> None:
        """Renew the planner's statistics of the ledger's tables and of every view, as after a
        large import: without them PostgreSQL misjudges a freshly filled table."""
        with self.transaction(write=True) as cur:
            for table in self._ledger_tables:
                cur.execute(f"ANALYZE {table}")
        self.projector.analyze()

    # ---- verification, rebuild -------------------------------------------------------
    def verify_report(self, report_id: str, actor: str) -> dict:
        """Verify a report against the ledger and record the result (ReportVerified)."""
        with self.lock(self._wait):
            self._follow()
            report = self.plans.report(report_id)
            if report is None:
                raise NotFound(f"report {report_id!r} does not exist", field="id")
            result = self.plans.verify(report)
            summary = [{**{k: v for k, v in line.items() if k != "late_events"},
                        "late_event_positions": [e["position"] for e in line["late_events"]]}
                       for line in result["lines"]]
            try:
                self.ledger.record_verification(report_id, verdict=result["verdict"], lines=summary, actor=actor)
            finally:
                self._follow()
        return result

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

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Build the views again from the ledger; readers keep the old ones until the new are complete."""
        with self.lock():
            applied = self.projector.rebuild(progress)
            self.stopped = None
            self._chain()
            return applied

    def close(self) -> None:
        self.ledger.close()


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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during an import: the file's rows and the plan made of them,
    up to millions of objects, live until it ends, and every full collection meanwhile would walk
    them all. What the import makes is freed as it goes by reference counting; cycles made
    meanwhile (by any thread) are collected once it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _project(events: list) -> Any:
    """The aggregate the events make (the library's project_aggregate, less a costly protocol check)."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class _GroupSealer:
    """Seals the personal data of a group's admissions with keys made in memory. Only the keys
    of admissions that are decided are stored, in the transaction that records them; so a
    refused admission leaves no key behind, and the group needs no transaction of its own."""

    def __init__(self, vault: PersonalDataVault):
        self.vault = vault
        self.made: dict[str, bytes] = {}

    def seal(self, member_id: str, data: dict[str, Any]) -> str:
        key = self.made[member_id] = new_key()
        return seal_with(key, member_id, data)

    def seal_new(self, items: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], dict[str, bytes]]:
        return self.vault.seal_new(items)

    def keys_of(self, decided: list[Pending]) -> dict[str, bytes]:
        """The keys of the decided admissions (the only command that seals for a new member)."""
        return {p.kwargs["id"]: self.made[p.kwargs["id"]] for p in decided
                if p.verb == "admit_member" and p.kwargs.get("id") in self.made}


class _ImportFacts:
    """The register as an import sees it: views, with members' personal data opened for comparison."""

    def __init__(self, store: TenantStore):
        self.views, self.vault = store.views, store.vault

    def created(self, kind: str, ids: list[str]) -> dict[str, dict]:
        entity_type = kind[:-1]
        found = self.views.creations(entity_type, ids)
        key = {"workplace": "workplace_id", "union": "union_id", "member": "member_id"}[entity_type]
        for data in found.values():
            data["id"] = data.pop(key)
        if entity_type == "member" and found:
            opened = self.vault.unseal_many([(m, d.pop("personal", None)) for m, d in found.items()])
            for member_id, data in found.items():
                data.update(opened.get(member_id) or {})
        return found

    def units(self, ids: list[str]):
        return self.views.unit_facts(ids)

    def workplaces(self, ids: list[str]):
        return self.views.workplace_registrations(ids)

    def unions(self, ids: list[str]):
        return self.views.union_facts(ids)

    def unions_at_workplaces(self, ids: list[str]):
        return self.views.unions_at_workplaces(ids)


class TenantStores:
    """The open tenant stores of this process, least recently used closed first."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._open: OrderedDict[str, TenantStore] = OrderedDict()
        self._users: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def use(self, tenant_id: str, *, create: bool = False) -> Iterator[TenantStore]:
        with self._lock:
            store = self._open.get(tenant_id)
            if store is None:
                store = TenantStore(tenant_id, self.settings, create=create)
                self._open[tenant_id] = store
                if self.settings.warm_columns:
                    log.info("tenant %s: opened; reading its indicator columns ahead", tenant_id)
                    threading.Thread(target=store.warm, name=f"warm-{tenant_id}", daemon=True).start()
            self._open.move_to_end(tenant_id)
            self._users[tenant_id] = self._users.get(tenant_id, 0) + 1
            self._evict()
        try:
            yield store
        finally:
            with self._lock:
                self._users[tenant_id] -= 1

    def _evict(self) -> None:
        for tenant_id in list(self._open):
            if len(self._open) <= self.settings.max_open_tenants:
                return
            if not self._users.get(tenant_id):
                self._open.pop(tenant_id).close()
                self._users.pop(tenant_id, None)

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            store = self._open.pop(tenant_id, None)
            if store is not None:
                store.close()

    def close(self) -> None:
        with self._lock:
            for store in self._open.values():
                store.close()
            self._open.clear()


def sqlite_path(settings: Settings, tenant_id: str) -> Path:
    return settings.data_dir / "tenants" / f"{tenant_id}.sqlite"
