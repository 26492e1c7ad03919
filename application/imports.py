"""A bulk import: every row checked against the register and the rows before it, then, only if
none is wrong, everything it creates recorded in one transaction with its views, keys and chain
links: readers see the register before the import or after it, and a crash leaves every row or none.
"""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from typing import Any

from eventsourcing.utils import get_topic

from application.scope import Scope
from application.unit_of_work import preload
from domain.base import RegisterAggregate
from domain.imports import ERRORS_KEPT, ImportPlan, plan_import
from domain.members import Member, personal_data
from domain.unions import Union
from domain.workplaces import Workplace
from persistence.recorders import insert_within
from persistence.vault import Sealing
from projections.base import micros
from projections.runner import ANALYZE_AFTER

CHUNK = 5000  # aggregates built and written at a time (the transaction holds them all)
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
    with store.transaction(write=True) as cur:
        views, end = store.projector.position_in(cur), store.chain.end(cur)
        for built, sealing in _ahead(import_events(store, plan, actor, events)):
            store.vault.keep(cur, sealing)
            positions = insert_within(store.event_store.recorder, cur, [stored for stored, _e, _t in built])
            store.projector.apply_stored(
                [(stored.topic, event, position) for (stored, event, _t), position in zip(built, positions)],
                cur,
                after=views,
            )
            views = positions[-1]
            if end[0] == positions[0] - 1:  # else positions a rolled-back write used: extension links them
                end = store.chain.link_stored(
                    cur, [(position, stored, micros(at)) for (stored, _e, at), position in zip(built, positions)], end
                )
            written += len(built)
            if progress:
                progress(len(built))
    store.extend_chain_locked()
    return written


def import_events(
    store: Any, plan: ImportPlan, actor: str, events: bool = True, chunk: int = CHUNK
) -> Iterator[tuple[Built, Sealing]]:
    """What a validated plan records, ``chunk`` aggregates at a time: the stored events, each with
    its event and the instant it records, and the new members' keys and index tokens, to store with
    the events. The events are the ones the single commands record. Without ``events`` the
    admissions are stored straight from their state, the bytes their events would be stored as."""
    for kind in ("workplaces", "unions", "members"):
        rows = plan.creates[kind]
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
    created: list[Workplace] | list[Union]
    if kind == "workplaces":
        created = [
            Workplace(
                workplace_id=r["id"],
                name=r["name"],
                sector=r["sector"],
                unit_id=r["unit_id"],
                workers=r["workers"],
                female_workers=r["female_workers"],
                as_of=r["as_of"],
                actor=actor,
            )
            for r in rows
        ]
    else:
        created = [
            Union(
                union_id=r["id"],
                name=r["name"],
                workplace_id=r["workplace_id"],
                unit_id=r["unit_id"],
                founded_on=r["founded_on"],
                decision_no=r["decision_no"],
                actor=actor,
            )
            for r in rows
        ]
    mapper = store.event_store.mapper
    return [(mapper.to_stored_event(e), e, e.timestamp) for aggregate in created for e in aggregate.collect_events()]


def _admissions(store: Any, rows: list[dict], actor: str, events: bool) -> tuple[Built, Sealing]:
    sealed, sealing = store.vault.seal_new(
        [(r["id"], personal_data(r["full_name"], r["birth_date"], r["id_number"])) for r in rows]
    )
    mapper = store.event_store.mapper
    stored_state = None if events else getattr(mapper, "stored_state", None)
    built: Built = []
    for r, personal in zip(rows, sealed):
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
    return built, sealing


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
