"""A bulk import: every row checked against the register and the rows before it, then, only if
none is wrong, everything it creates recorded in one transaction with its views, keys and chain
links: readers see the register before the import or after it, and a crash leaves every row or none.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import queue
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from json.encoder import encode_basestring
from multiprocessing.connection import wait
from typing import Any

from eventsourcing.utils import get_topic

from application.scope import Scope
from application.unit_of_work import preload
from domain.base import BUSINESS_DATE, RegisterAggregate, aggregate_id_parts
from domain.imports import ERRORS_KEPT, ImportPlan, plan_import, union_of_row, workplace_of_row
from domain.members import Member, personal_data
from integrity.chain import canonical_after
from persistence.fresh import FreshTables
from persistence.mapper import EntryStoredEvent, RegisterMapper
from persistence.recorders import EVENT_COLUMNS, copy_binary_field, copy_binary_row, insert_copy_binary, insert_within
from persistence.vault import Sealing, index_rows, seal_new_with
from projections.audit import entity_type_of, entry_of
from projections.base import micros
from projections.runner import ANALYZE_AFTER

CHUNK = 5000  # aggregates built and written at a time (the transaction holds them all)
# A member sheet of this many rows or more is sealed and encoded in BUILDERS processes of their own
# (where admissions are stored from their state), AHEAD chunks ahead of the one being written: as
# many as there are cores beside the importing process and its database backend: on two cores a
# builder's CPU is taken from the backend and the writer, and the import was no faster.
ELSEWHERE_FROM = 20_000
BUILDERS = max(0, min(4, (os.cpu_count() or 1) - 2))
AHEAD = 2
# A member sheet of this many rows or more, imported where no member is recorded yet, is written
# into tables without indexes, indexed at the end (persistence.fresh): a sort each, not an entry a row.
FRESH_FROM = 20_000
BUILDERS_NICE = 10  # the builders give way to the writing and the database
# While an import writes, the interpreter lock is handed on after this many seconds (Python's
# default is 0.005): the writer, back from each statement, waits that long for it from the thread
# building the next chunk, while the database has nothing to do. None: the interpreter's default.
WRITE_SWITCH_INTERVAL: float | None = 0.0005
Built = list[tuple[Any, Any, datetime]]  # each stored event with its event (or None) and when it is recorded


def import_rows(
    store: Any,
    sheets: dict,
    actor: str,
    progress: Callable[[int], None] | None = None,
    wait: float | None = None,
    errors_kept: int = ERRORS_KEPT,
    scope: Scope | None = None,
) -> ImportPlan:
    """Validate every row, then (only if none is wrong) record them all. ``wait``: how long to wait
    for the tenant lock; ``errors_kept``: how many bad rows the plan lists (all are counted);
    ``scope``: a scoped importer's, outside which a row is wrong (rule ``scope``)."""
    with store.lock(wait), _collector_paused():
        store.catch_up_locked()
        plan = plan_import(sheets, _ImportFacts(store, scope), store.today(), errors_kept, actor)
        if plan.errors:
            return plan
        written = _write(store, plan, actor, progress)
    if written >= ANALYZE_AFTER:
        store.analyze()
    return plan


def _write(store: Any, plan: ImportPlan, actor: str, progress: Callable[[int], None] | None) -> int:
    """Every event the plan records, in chunks, in one transaction (the caller holds the lock and
    has caught views and chain up). Where the views derive admissions from the ledger
    (PostgreSQL), they are stored without making their event objects."""
    events = not store.projector.derives(ADMITTED_TOPIC)
    written = 0
    store.vault.index_key()  # read (or made) before the transaction: on SQLite it would wait for it
    # A chunk's chain links and tree nodes are hashed in a thread of their own while the connection
    # writes its views: the hashing needs the chunk's positions, and nothing the views write.
    with (
        store.transaction(write=True) as cur,
        ThreadPoolExecutor(1, thread_name_prefix="import-chain") as hashing,
        _lock_handed_on_quickly(),
    ):
        views, end = store.projector.position_in(cur), store.chain.end(cur)
        edge = store.chain.tree.edge(cur, end[0])  # the tree's right edge, grown in memory from here
        fresh = None
        if len(plan.creates["members"]) >= FRESH_FROM:
            fresh = FreshTables.start(cur, getattr(store, "schema", None))
        admitted = False
        for built, sealing in _ahead(import_events(store, plan, actor, events)):
            copied = isinstance(built, Copied)
            if fresh is not None and built:
                if (built.topic if copied else built[0][0].topic) == ADMITTED_TOPIC:
                    admitted = True
                elif admitted:  # what comes after the admissions finds members by their indexes
                    fresh.build_indexes()
            store.vault.keep(cur, sealing, fresh=fresh is not None)
            recorder = store.event_store.recorder
            if copied:
                positions = insert_copy_binary(recorder, cur, built.rows, len(built))
            else:
                positions = insert_within(recorder, cur, [stored for stored, _e, _t in built])
            hashed = None
            if end[0] == positions[0] - 1:  # else positions a rolled-back write used: extension links them
                if copied:
                    hashed = hashing.submit(
                        store.chain.hashed_canonical, positions[0], built.canonicals, built.recorded_at, end, edge
                    )
                else:
                    recorded = [(position, stored, micros(at)) for (stored, _e, at), position in zip(built, positions)]
                    hashed = hashing.submit(store.chain.hashed, recorded, end, edge)
            store.projector.apply_stored(
                [(built.topic, None, position) for position in positions]
                if copied
                else [(stored.topic, event, position) for (stored, event, _t), position in zip(built, positions)],
                cur,
                after=views,
            )
            views = positions[-1]
            if hashed is not None:
                end = store.chain.store_hashed(cur, hashed.result())
            written += len(built)
            if progress:
                progress(len(built))
        if fresh is not None:
            fresh.swap()
    store.extend_chain_locked()
    return written


def import_events(
    store: Any, plan: ImportPlan, actor: str, events: bool = True, chunk: int = CHUNK
) -> Iterator[tuple[Built | Copied, Sealing]]:
    """What a validated plan records, ``chunk`` aggregates at a time: the stored events, each with
    its event and the instant it records, and the new members' keys and index tokens, to store with
    the events. The events are the ones the single commands record. Without ``events`` the
    admissions are stored straight from their state, the bytes their events would be stored as."""
    for kind in ("workplaces", "unions", "members"):
        rows = plan.creates[kind]
        if kind == "members" and not events and _builds_elsewhere(store, len(rows)):
            yield from _admissions_elsewhere(store, rows, actor, chunk)
            continue
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            if kind == "members":
                yield _admissions(store, part, actor, events)
            else:
                yield _created(store, kind, part, actor), Sealing()
    mapper = store.event_store.mapper
    for start in range(0, len(plan.records), chunk):  # the plans' other records, decided by the plan
        built: Built = [
            (mapper.to_stored_event(e), e, e.timestamp)
            for aggregate in plan.records[start : start + chunk]
            for e in aggregate.collect_events()
        ]
        if built:
            yield built, Sealing()


def _created(store: Any, kind: str, rows: list[dict], actor: str) -> Built:
    make = workplace_of_row if kind == "workplaces" else union_of_row
    created = [make(r, actor) for r in rows]
    mapper = store.event_store.mapper
    return [(mapper.to_stored_event(e), e, e.timestamp) for aggregate in created for e in aggregate.collect_events()]


def _admissions(store: Any, rows: list[dict], actor: str, events: bool) -> tuple[Built | Copied, Sealing]:
    if not events and _encodes_as(store.event_store.mapper):  # PostgreSQL: as a builder process makes them
        return _copied_admissions(
            [
                (r["id"], r["union_id"], r["admitted_on"], r["gender"], r["full_name"], r["birth_date"], r["id_number"])
                for r in rows
            ],
            actor,
            store.vault.seal_new,
        )
    sealed, sealing = store.vault.seal_new(
        [(r["id"], personal_data(r["full_name"], r["birth_date"], r["id_number"])) for r in rows]
    )
    mapper = store.event_store.mapper
    stored_state = None if events else getattr(mapper, "stored_state", None)
    encoded = _admission_encoder(actor) if stored_state is not None and _encodes_as(mapper) else None
    built: Built = []
    for r, personal in zip(rows, sealed):
        if encoded is not None:
            timestamp = ADMITTED.create_timestamp()
            made = encoded(r["id"], r["union_id"], r["admitted_on"], r["gender"], personal, timestamp)
            if made is not None:
                built.append(
                    (EntryStoredEvent(made[0], Member.INITIAL_VERSION, ADMITTED_TOPIC, *made[1:]), None, timestamp)
                )
                continue
        if stored_state is not None:
            timestamp = ADMITTED.create_timestamp()  # each attribute made as the event would make it
            stored = stored_state(
                ADMITTED_TOPIC,
                Member.create_id(r["id"]),
                Member.INITIAL_VERSION,
                Member.admission_state(
                    member_id=r["id"],
                    union_id=r["union_id"],
                    admitted_on=r["admitted_on"],
                    gender=r["gender"],
                    personal=personal,
                    actor=actor,
                    timestamp=timestamp,
                ),
            )
            if stored is not None:
                built.append((stored, None, timestamp))
                continue
        event = Member.admission(
            member_id=r["id"],
            union_id=r["union_id"],
            admitted_on=r["admitted_on"],
            gender=r["gender"],
            personal=personal,
            actor=actor,
        )
        built.append((mapper.to_stored_event(event), event, event.timestamp))
    if not events:  # PostgreSQL: the index rows go by COPY as they are
        sealing.index_rows = index_rows(sealing.tokens)
    return built, sealing


def _encodes_as(mapper: Any) -> bool:
    """Whether the ledger's mapper writes admissions as ``_admission_encoder`` does (JSON joined
    directly, stored as is)."""
    return type(mapper) is RegisterMapper and mapper.direct and mapper.compressor is None and mapper.cipher is None


def _builds_elsewhere(store: Any, members: int) -> bool:
    """Whether a member sheet is large enough to seal and encode elsewhere, and the ledger's
    mapper writes admissions as ``_build_admissions`` does."""
    return BUILDERS > 0 and members >= ELSEWHERE_FROM and _encodes_as(store.event_store.mapper)


Encoded = tuple[Any, bytes, tuple]  # an admission's originator, stored state and trail columns


def _admission_encoder(
    actor: str, originator: Callable[[str], Any] = Member.create_id
) -> Callable[[str, str, date, str, str, datetime], Encoded | None]:
    """An admission's stored state and trail columns as ``RegisterMapper.stored_state`` writes
    them for ``Member.admission_state``, from a template made once: the generic encoder's test
    of each attribute's type, repeated for every member, was most of an admission's encoding.
    ``originator`` makes the originator from the member id (its UUID unless given). None for a
    value of another type than the sheet's (the caller encodes it generically)."""
    topic = encode_basestring(get_topic(Member))
    acted = encode_basestring(actor)
    name, kind = ADMITTED.__name__, entity_type_of(ADMITTED)
    if BUSINESS_DATE.get(name) != "admitted_on":  # the trail's business day is another attribute's
        return lambda *_values: None

    def encoded(
        member_id: str, union_id: str, admitted_on: date, gender: str, personal: str, timestamp: datetime
    ) -> Encoded | None:
        if not (
            type(member_id) is str
            and type(union_id) is str
            and type(admitted_on) is date
            and type(gender) is str
            and type(personal) is str
            and type(timestamp) is datetime
            and member_id
        ):
            return None
        data = (
            f'{{"timestamp":{{"_type_":"datetime_iso","_data_":"{timestamp.isoformat()}"}},"originator_topic":{topic}'
            f',"member_id":{encode_basestring(member_id)},"union_id":{encode_basestring(union_id)}'
            f',"admitted_on":{{"_type_":"date_iso","_data_":"{admitted_on.isoformat()}"}}'
            f',"gender":{encode_basestring(gender)},"personal":{encode_basestring(personal)},"actor":{acted}}}'
        ).encode()
        entry = (micros(timestamp), actor, name, kind, member_id, admitted_on.toordinal())
        return originator(member_id), data, entry

    return encoded


def _admissions_elsewhere(
    store: Any, rows: list[dict], actor: str, chunk: int
) -> Iterator[tuple[Built | Copied, Sealing]]:
    """``_admissions`` of every ``chunk`` of ``rows`` (stored from their state), built by the
    builder processes while this one writes: the sealing, the index tokens and the JSON, most of
    an import's Python, no longer share this process's interpreter lock with the writing. If the
    builders die, this process builds what they have not."""
    pool: ProcessPoolExecutor | None = _builder_pool()
    key = store.vault.index_key()
    pending: deque[tuple[list[dict], Future | None]] = deque()
    try:
        for start in range(0, len(rows), chunk):
            part, future = rows[start : start + chunk], None
            if pool is not None:
                # Days go as their ordinals: a date object is pickled by a call of its own.
                compact = [
                    (
                        r["id"],
                        r["union_id"],
                        a.toordinal() if type(a := r["admitted_on"]) is date else a,
                        r["gender"],
                        r["full_name"],
                        b.toordinal() if type(b := r["birth_date"]) is date else b,
                        r["id_number"],
                    )
                    for r in part
                ]
                try:
                    future = pool.submit(_build_admissions, compact, actor, key)
                except BrokenProcessPool:
                    _builder_pool_broken(pool)
                    pool = None
            pending.append((part, future))
            while len(pending) > (AHEAD if future is not None else 0):
                yield _received(store, actor, *pending.popleft())
        while pending:
            yield _received(store, actor, *pending.popleft())
    finally:
        for _part, future in pending:  # the writer stopped early
            if future is not None:
                future.cancel()


def _received(store: Any, actor: str, part: list[dict], future: Future | None) -> tuple[Built | Copied, Sealing]:
    """A chunk as a builder process made it, or as this process makes it without one."""
    if future is None:
        return _admissions(store, part, actor, events=False)
    try:
        return future.result()
    except BrokenProcessPool:
        _builder_pool_broken(None)
        return _admissions(store, part, actor, events=False)


@dataclass
class Copied:
    """Events of one topic encoded where they are built (a builder process or a thread of the
    importing one), for the writer to pass on whole: the rows of the ledger's COPY
    (``EVENT_COLUMNS`` as COPY's binary tuples), and each event's canonical bytes after its position
    and its recorded instant (micros), from which the chain is hashed."""

    topic: str
    rows: bytes
    canonicals: list[bytes]
    recorded_at: list[int]

    def __len__(self) -> int:
        return len(self.canonicals)


def _build_admissions(
    rows: list[tuple[str, str, Any, str, str, Any, str | None]], actor: str, index_key: bytes
) -> tuple[Copied, Sealing]:
    """``_copied_admissions`` in a builder process, of rows whose days come as their ordinals."""
    return _copied_admissions(
        [
            (i, u, date.fromordinal(a) if type(a) is int else a, g, n, date.fromordinal(b) if type(b) is int else b, d)
            for i, u, a, g, n, b, d in rows
        ],
        actor,
        functools.partial(seal_new_with, index_key),
    )


def _copied_admissions(
    rows: list[tuple[str, str, date, str, str, date | None, str | None]],
    actor: str,
    seal_new: Callable[[list[tuple[str, dict]]], tuple[list[str], Sealing]],
) -> tuple[Copied, Sealing]:
    """New members' personal data sealed, their keys, the index rows of their tokens, and their
    admissions as the ledger's COPY rows (each stored state and trail columns as
    ``RegisterMapper.stored_state`` writes them) with their chain's bytes."""
    sealed, sealing = seal_new([(r[0], personal_data(r[4], r[5], r[6])) for r in rows])
    lines, canonicals, recorded_at = [], [], []
    encoded = _admission_encoder(actor, functools.partial(aggregate_id_parts, Member.KIND))  # bytes and text
    # The COPY tuple of an admission encoded from the template: its constant fields around the state.
    version = Member.INITIAL_VERSION
    head = struct.pack(">hi", len(EVENT_COLUMNS), 16)  # the count of fields, the id's length
    between = copy_binary_field(version, "bigint") + copy_binary_field(ADMITTED_TOPIC, "text")
    trail = b"".join(copy_binary_field(v, "text") for v in (actor, ADMITTED.__name__, entity_type_of(ADMITTED)))
    length, bigint, integer = struct.Struct(">i").pack, struct.Struct(">iq").pack, struct.Struct(">ii").pack
    # The chain's canonical bytes (``canonical_after``) around the id's text (36 characters) and the state.
    canonical_head = canonical_after(" " * 36, version, ADMITTED_TOPIC, b"")[:12]
    canonical_topic = canonical_after("", version, ADMITTED_TOPIC, b"")[12:-4]
    for (member_id, union_id, admitted_on, gender, _name, _birth, _number), personal in zip(rows, sealed):
        timestamp = ADMITTED.create_timestamp()
        quick = encoded(member_id, union_id, admitted_on, gender, personal, timestamp)
        if quick is None:  # a value of another type than the sheet's: encoded generically
            state = Member.admission_state(
                member_id=member_id,
                union_id=union_id,
                admitted_on=admitted_on,
                gender=gender,
                personal=personal,
                actor=actor,
                timestamp=timestamp,
            )
            flat = RegisterMapper.flat_json(state.items())
            if flat is None:
                raise ValueError(f"the admission of {member_id} is not flat")
            originator = Member.create_id(member_id)
            lines.append(
                copy_binary_row((originator, version, ADMITTED_TOPIC, flat, *entry_of(ADMITTED, originator, state)))
            )
            canonicals.append(canonical_after(str(originator), version, ADMITTED_TOPIC, flat))  # the id as its text
            recorded_at.append(micros(timestamp))
            continue
        (raw_id, text_id), data, entry = quick
        at, entity, size = entry[0], member_id.encode(), length(len(data))
        lines.append(
            b"".join((head, raw_id, between, size, data, bigint(8, at), trail,
                      length(len(entity)), entity, integer(4, entry[5])))
        )  # fmt: skip
        canonicals.append(b"".join((canonical_head, text_id.encode(), canonical_topic, size, data)))
        recorded_at.append(at)
    copied = Copied(ADMITTED_TOPIC, b"".join(lines), canonicals, recorded_at)
    return copied, Sealing(sealing.keys, index_rows=index_rows(sealing.tokens))


_builders: ProcessPoolExecutor | None = None
_builders_lock = threading.Lock()


def _builder_pool() -> ProcessPoolExecutor:
    """The builder processes, started by the first large import (from a fork server: a serving
    process has threads and connections that a plain fork would copy) and kept for the next."""
    global _builders
    with _builders_lock:
        if _builders is None or getattr(_builders, "_broken", False):  # a builder died since
            _builders = ProcessPoolExecutor(
                max_workers=max(1, BUILDERS),
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_builder_started,
            )
        return _builders


def _builder_started() -> None:
    """In a builder process: end with the process that started it. A pool's worker waits for work
    on a pipe it holds both ends of, so it would outlive an importing process killed mid-import
    (and keep the fork server alive), holding the memory of both."""
    os.nice(BUILDERS_NICE)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(target=_ended_with, args=(parent.sentinel,), name="builder-parent", daemon=True).start()


def _ended_with(sentinel: int) -> None:
    wait([sentinel])
    os._exit(0)


def _builder_pool_broken(pool: ProcessPoolExecutor | None) -> None:
    """A builder process died: the pool is started again by the next import (this one goes on
    without it)."""
    global _builders
    with _builders_lock:
        if pool is None or _builders is pool:
            _builders = None


def _ahead(chunks: Iterator[Any]) -> Iterator[Any]:
    """The chunks, each built by a thread of its own while the one before is written: Python
    seals and encodes the next chunk while the database takes the last one."""
    made: queue.Queue = queue.Queue(maxsize=1)
    done, stop = object(), threading.Event()

    def build() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                made.put(chunk)
            made.put(done)
        except BaseException as error:  # noqa: BLE001 - raised in the writing thread
            made.put(error)

    builder = threading.Thread(target=build, name="import-build", daemon=True)
    builder.start()
    try:
        while (chunk := made.get()) is not done:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
    finally:
        stop.set()
        while builder.is_alive():  # a writer that stopped early: the builder stops at its next chunk
            with suppress(queue.Empty):
                made.get(timeout=0.1)
        builder.join()


ADMITTED = Member.MemberAdmitted
ADMITTED_TOPIC = get_topic(ADMITTED)


_switching = threading.Lock()
_writing = 0  # imports of this process writing now
_interval_before = 0.0


@contextmanager
def _lock_handed_on_quickly() -> Iterator[None]:
    """``WRITE_SWITCH_INTERVAL`` for the process while any import in it writes (the interval is
    the interpreter's, not a thread's), the interval before restored when the last one ends."""
    global _writing, _interval_before
    if WRITE_SWITCH_INTERVAL is None:
        yield
        return
    with _switching:
        if _writing == 0:
            _interval_before = sys.getswitchinterval()
            sys.setswitchinterval(WRITE_SWITCH_INTERVAL)
        _writing += 1
    try:
        yield
    finally:
        with _switching:
            _writing -= 1
            if _writing == 0:
                sys.setswitchinterval(_interval_before)


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


class _ImportFacts:
    """The register as an import sees it: views, with members' personal data opened for comparison."""

    def __init__(self, store: Any, scope: Scope | None = None):
        self.store, self.views, self.vault, self.scope = store, store.views, store.vault, scope

    def aggregates(self, cls: type[RegisterAggregate], ids: list[str]) -> dict[str, RegisterAggregate]:
        found: dict[str, RegisterAggregate] = {}
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            loaded = preload(self.store, [cls.storage_id(i) for i in part])
            for client_id in part:
                aggregate = loaded.get(cls.storage_id(client_id))
                if isinstance(aggregate, cls):
                    found[client_id] = aggregate
        return found

    def within(self, asked: list[tuple[str, str, date]]) -> list[bool] | None:
        return None if self.scope is None else self.scope.holds_many(list(asked))

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
