"""Each tenant's store: its ledger, its views and its lock, opened on demand and pooled.

On PostgreSQL a tenant is a schema holding its events, views and tracking; on
SQLite it is a file. At most ``max_open_tenants`` stores are open per process;
the least recently used idle one is closed to open another, so connections are
bounded by max_open_tenants x (pool_size + pool_overflow) per process.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import logging
import queue
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, Recording, StoredEvent

from domain.errors import NotFound
from tenants.chain import CHAIN_TABLE, Chain, ChainBroken, genesis
from domain.imports import ImportPlan, plan_import
from domain.ledger import ADMITTED_TOPIC, Ledger, personal_data
from domain.members import Member
from projections.audit import Audit
from projections.base import ViewCursor
from projections.indicators import IndicatorCalculator
from projections.membership import Membership
from projections.plans import Reports, Targets
from projections.progress import Plans
from projections.queries import RegisterViews, admitted_member
from projections.runner import ANALYZE_AFTER, INTACT, Projector
from projections.structure import Structure
from tenants.grouping import GroupCommit, Pending, Take
from tenants.recorders import insert_within
from tenants.settings import Settings, schema_name
from tenants.vault import KEYS_TABLE, PersonalDataVault, new_key, seal_with


log = logging.getLogger(__name__)
MAPPER_TOPIC = "tenants.mapper:RegisterMapper"  # the library's mapper, flat events' JSON written directly


def view_projections() -> list:
    """The views every tenant store keeps (also replayed offline from an export)."""
    return [Structure(), Membership(), Targets(), Reports(), Audit()]


class TenantStore:
    """One tenant's ledger and views, and the lock that serialises its commands."""

    def __init__(self, tenant_id: str, settings: Settings, *, create: bool = False):
        self.tenant_id = tenant_id
        self.settings = settings
        self.backend = settings.backend
        self._thread_lock = threading.Lock()
        if self.backend == "postgres":
            self.schema = schema_name(tenant_id)
            env = {
                "PERSISTENCE_MODULE": "tenants.connections:TenantPostgresFactory",
                **settings.postgres(),
                "POSTGRES_APPLICATION_NAME": settings.application_name(tenant_id),
                "POSTGRES_CONNECT_TIMEOUT": str(settings.db_timeout),
                "POSTGRES_SCHEMA": self.schema,
                "POSTGRES_POOL_SIZE": str(settings.pool_size),
                "POSTGRES_MAX_OVERFLOW": str(settings.pool_overflow),
                "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
                "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
                "APPLICATION_RECORDER_TOPIC": "tenants.recorders:CopyingPostgresApplicationRecorder",
                "MAPPER_TOPIC": MAPPER_TOPIC,
                "CREATE_TABLE": "y" if create else "n",
            }
        else:
            folder = settings.data_dir / "tenants"
            folder.mkdir(parents=True, exist_ok=True)
            self.path = sqlite_path(settings, tenant_id)
            self._lock_path = folder / f"{tenant_id}.lock"
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
        self.vault = PersonalDataVault(self.transaction, keys_behind=self.backend == "postgres")
        self.ledger = Ledger(env, queries=self.views, sealer=self.vault)
        self.datastore = self.ledger.factory.datastore
        mapper = self.ledger.mapper
        derivable = self.backend == "postgres" and mapper.cipher is None and mapper.compressor is None
        self.projector = Projector(self.ledger.recorder, mapper, self.transaction, view_projections(),
                                   events_table=self.ledger.recorder.events_table_name if derivable else None)
        if create:
            self.vault.create()
        with self.lock():
            self.projector.create()
        self.chain = Chain(self)
        self._group = GroupCommit(self._commit)

    # ---- connections ---------------------------------------------------------
    @contextmanager
    def transaction(self, write: bool = False, snapshot: bool = False) -> Iterator[ViewCursor]:
        """A cursor on the tenant's store. On PostgreSQL a read (``write=False``) runs its
        statements on their own, each seeing what was committed when it started (as it would in
        a READ COMMITTED transaction, without the round trips to open and close one);
        ``snapshot=True`` reads everything in one REPEATABLE READ snapshot instead."""
        if self.backend == "postgres":
            from psycopg.rows import tuple_row

            with self.datastore.get_connection() as conn:
                self._on_tenant(conn)
                if write or snapshot:
                    with conn.transaction(force_rollback=not write):
                        raw = conn.cursor(row_factory=tuple_row)
                        if snapshot:
                            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
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

    @property
    def _lock_key(self) -> int:
        return int.from_bytes(hashlib.sha256(self.schema.encode()).digest()[:8], "big", signed=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise this tenant's commands across threads and processes."""
        with self._thread_lock:
            if self.backend == "postgres":
                with self.datastore.get_connection() as conn:
                    conn.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
                    try:
                        yield
                    finally:
                        conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
            else:
                with open(self._lock_path, "a+") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                    try:
                        yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- use -------------------------------------------------------------------
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
        transaction, apply it to the views and link it into the chain (from memory); then, for
        grouped commands, read their members back as their results."""
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
        events; views, chain and commit. Each round trip costs the leader the GIL again, which
        the threads reading requests hold meanwhile."""
        from psycopg.rows import tuple_row

        decided: list[Pending] = []
        recordings: list[Recording] = []
        behind = refused = False
        with self._thread_lock, self.datastore.get_connection() as conn:
            self._on_tenant(conn)
            cur = ViewCursor(conn.cursor(row_factory=tuple_row), "postgres")
            try:
                with cur.pipeline(), conn.transaction():  # BEGIN and COMMIT go with the statements
                    cur.execute("SELECT pg_advisory_xact_lock(?)", (self._lock_key,))
                    views, top, chain_end = self._ends(cur)
                    if views < top or chain_end[0] < top:  # a crash left them behind: they catch up first
                        self.projector.follow()
                        self._chain()
                        views, top, chain_end = self._ends(cur)
                    decided, collected, keys = self._decide(take())
                    if collected:
                        recordings = self._write(cur, collected, keys)
                        ids = [r.notification.id for r in recordings]
                        behind = ids != list(range(top + 1, top + 1 + len(ids))) or views != top
                        if not behind:
                            self.projector.apply_at(cur, [(r.domain_event, r.notification.id) for r in recordings],
                                                    top)
                        if not behind and chain_end[0] == top:
                            self.chain.link_at(cur, recordings, chain_end)
                        else:
                            behind = True  # a gap in the ids, or a broken chain (for _chain to report)
            except IntegrityError:  # unexpected, as the lock was held
                refused = True
        if refused:
            with self.lock():
                self._one_by_one(decided)
                self.projector.follow()
                self._chain()
        elif behind:  # the views and the chain catch up from the ledger
            with self.lock():
                self.projector.follow()
                self._chain(recordings)
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
        with self.lock():
            self.projector.follow()
            group = take()
            decided, collected, keys = self._decide(group)
            recordings, written = [], False
            try:
                if collected:
                    recordings, written = self._record(collected, keys)
            except IntegrityError:  # unexpected, as the lock is held
                recordings = None
                self._one_by_one(decided)
            finally:
                if not written:  # the views and the chain catch up (from memory where they can)
                    try:
                        if recordings is None or not self.projector.apply(
                                [(r.domain_event, r.notification.id) for r in recordings]):
                            self.projector.follow()
                    finally:
                        self._chain(recordings or ())
        return decided, recordings or []

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

    def _record(self, aggregates: list, keys: dict[str, bytes]) -> tuple[list[Recording], bool]:
        """Save the aggregates' new events with the new members' keys, and update the views and
        the hash chain in the same transaction, so that they commit together; returns the
        recordings and whether views and chain were updated (not if they were not where these
        events start: the caller then brings them up to date)."""
        with self.transaction(write=True) as cur:
            recordings = self._write(cur, aggregates, keys)
            written = self.projector.apply([(r.domain_event, r.notification.id) for r in recordings], cur) \
                and self.chain.link(cur, recordings)
        return recordings, written

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

    def _chain(self, recorded: Sequence[Any] = ()) -> None:
        """Link new events into the hash chain; a broken chain is for verify and the digest to report."""
        try:
            self.chain.extend_locked(recorded)
        except ChainBroken as error:
            log.warning("tenant %s: %s", self.tenant_id, error.message)

    def import_rows(self, sheets: dict, actor: str, progress: Callable[[int], None] | None = None) -> ImportPlan:
        """Validate every row, then (only if none is wrong) record them; views are current on return."""
        with self.lock(), _collector_paused():
            self.projector.follow()
            plan = plan_import(sheets, _ImportFacts(self), self.ledger.today())
            if plan.errors:
                return plan

            def saved(recorded: list[tuple[str, Any, int]]) -> None:
                # The chunk's events are still in memory: apply them as they are, unless
                # the views are not exactly where the chunk starts (then read the ledger).
                if not self.projector.apply_stored(recorded):
                    self.projector.follow(derive=True)
                if progress:
                    progress(len(recorded))

            # An import at least as large as the register (a province joining with its lists)
            # fills the views the way a rebuild does, readers' indexes built at the end.
            rows = sum(len(created) for created in plan.creates.values())
            bulk = rows >= max(ANALYZE_AFTER, self.projector.position())
            with self.projector.readers_indexes_deferred() if bulk else nullcontext():
                try:
                    # On PostgreSQL the views take each chunk while the next one is built and written.
                    with _Behind(saved) if self.projector.events_table else _InStep(saved) as applier:
                        # Where the views derive admissions from the ledger (PostgreSQL), an import
                        # stores them without making their event objects.
                        written = self.ledger.execute_import(plan, actor=actor, saved=applier.saved,
                                                             events=not self.projector.derives(ADMITTED_TOPIC))
                finally:
                    self.projector.follow()
                if bulk:  # the readers' indexes and every table's statistics, on two connections
                    self.projector.finish(self.projector.projections,
                                          extra=[[f"ANALYZE {table}"] for table in self._ledger_tables])
            if not bulk and sum(written.values()) >= ANALYZE_AFTER:
                self.analyze()
        return plan

    @property
    def _ledger_tables(self) -> tuple[str, ...]:
        return self.ledger.recorder.events_table_name, CHAIN_TABLE, KEYS_TABLE

    def analyze(self) -> None:
        """Renew the planner's statistics of the ledger's tables and of every view, as after a
        large import. Without them PostgreSQL misjudges a freshly filled table: at a million
        events it read a group's few members with a parallel scan compiled by JIT, and single
        admissions ran at a third of the speed they reach once the table is analyzed."""
        with self.transaction(write=True) as cur:
            for table in self._ledger_tables:
                cur.execute(f"ANALYZE {table}")
        self.projector.analyze()

    def verify_report(self, report_id: str, actor: str) -> dict:
        """Verify a report against the ledger and record the result (ReportVerified)."""
        with self.lock():
            self.projector.follow()
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
                self.projector.follow()
                self._chain()
        return result

    def fresh(self) -> TenantStore:
        """Bring the views up to date with the ledger before a read."""
        self.projector.follow()
        return self

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
        with self.lock():
            return self.projector.rebuild(progress)

    def close(self) -> None:
        self.ledger.close()


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

    def seal_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        return self.vault.seal_many(items)

    def settle(self) -> None:
        self.vault.settle()

    def keys_of(self, decided: list[Pending]) -> dict[str, bytes]:
        """The keys of the decided admissions (the only command that seals for a new member)."""
        return {p.kwargs["id"]: self.made[p.kwargs["id"]] for p in decided
                if p.verb == "admit_member" and p.kwargs.get("id") in self.made}


class _InStep:
    """Applies each chunk an import saved, ``(topic, event, position)`` items, as soon as it is saved."""

    def __init__(self, apply: Callable[[list[tuple[str, Any, int]]], None]):
        self.apply = apply

    def __enter__(self) -> _InStep:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def saved(self, _kind: str, recorded: list[tuple[str, Any, int]]) -> None:
        self.apply(recorded)


class _Behind(_InStep):
    """Applies each chunk an import saved in a thread of its own, in order, while the import goes
    on with the next chunk: PostgreSQL writes one chunk's view rows while Python builds the next
    chunk's events. On leaving, the views have taken every chunk; a failure there stops the import
    at its next chunk and is raised."""

    def __init__(self, apply: Callable[[list[tuple[str, Any, int]]], None]):
        super().__init__(apply)
        self.chunks: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="import-views", daemon=True)

    def __enter__(self) -> _Behind:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.chunks.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error

    def saved(self, _kind: str, recorded: list[tuple[str, Any, int]]) -> None:
        if self.error is not None:
            raise self.error
        self.chunks.put(recorded)

    def _run(self) -> None:
        while (recorded := self.chunks.get()) is not None:
            if self.error is None:
                try:
                    self.apply(recorded)
                except BaseException as error:  # noqa: BLE001 - handed to the importing thread
                    self.error = error


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
