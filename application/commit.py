"""Committing a unit of work: under the tenant lock, with the views caught up first (the rules
read them), decide the commands, then write their events, the new members' keys, the view rows
and the hash chain links in one transaction, so that all of it or none of it is stored.

On PostgreSQL the lock is the transaction's own (``pg_advisory_xact_lock``) and its statements
go as three texts (persistence.one_trip), each one round trip and one wait on the socket: the
lock and where views, ledger and chain end; the group's aggregates; then keys, events (at
positions known from the ledger's end: nothing is read back), view rows, chain links, tree leaves
and COMMIT. The group is taken once the lock is had, so that the commands queued while it was
waited for join it: one round trip more under the lock, for fewer and larger groups. On SQLite
the write transaction is the lock between processes, and the statements go one at a time.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError, Notification, Recording

from application.grouping import Pending, Take
from application.handlers import handle
from application.scope import command_reaches
from application.unit_of_work import STORED_EVENTS, UnitOfWork, aggregates, preload
from domain.errors import AlreadyExists
from integrity.ends import ends_function, ends_select
from integrity.tree import edge_of
from persistence.one_trip import OneTrip
from persistence.recorders import TenantMoved, fenced, insert_within
from persistence.vault import Sealing
from projections.base import ViewCursor


class _CatchUpFirst(Exception):
    """The views or the chain are behind the ledger: catch them up before deciding commands."""


def commit(store: Any, take: Take) -> tuple[list[Pending], list[Recording]]:
    """Decide the commands ``take`` gives (called once, under the lock) and save what they record;
    returns the commands decided (the others are done with their error) and the recordings."""
    return _pipelined(store, take) if store.backend == "postgres" else _stepwise(store, take)


def decide(
    store: Any,
    group: list[Pending],
    cur: ViewCursor | None = None,
    placements: int | None = None,
    preloaded: dict | None = None,
) -> tuple[list[Pending], UnitOfWork]:
    """Run each command's handler in one unit of work (the group's aggregates loaded in one query,
    in ``cur``'s transaction if given, unless ``preloaded``); a refused command is done with its
    error and leaves nothing in the unit of work. ``placements``: their version, read under the
    lock (else read here)."""
    if preloaded is None:
        preloaded = preload(store, _loads(group), cur)
    uow = unit_of_work(store, preloaded)
    outside = _outside_scopes(store, group, uow, placements)
    decided: list[Pending] = []
    for item in group:
        if id(item) in outside:
            item.error, item.done = outside[id(item)], True
            continue
        mark = uow.mark()
        uow.sealed_ahead = item.sealed
        try:
            item.result = handle(item.command, uow)
            decided.append(item)
        except Exception as error:  # noqa: BLE001 - this command's answer, refusal or failure alone
            uow.undo(mark)
            item.error, item.done = error, True
        finally:
            uow.sealed_ahead = None
    return decided, uow


class ConsultedUnions:
    """The unions a tenant's grouped commands consulted (``Command.consults``), as read under the
    tenant lock at one version of the placements. Their answer to those commands (founded when,
    dissolved or not) changes only with a placement, which moves that version: while it holds, a
    group whose loads are all these unions or aggregates its commands create needs no read under
    the lock. A member assumed new that exists fails the group's insert on the ledger's unique
    position per aggregate, and the group is then decided again on what it reads."""

    LIMIT = 50_000  # unions kept at one version; past it the group reads them as before

    def __init__(self) -> None:
        self.version: int | None = None
        self.unions: dict[Any, Any] = {}

    def at(self, placements: int) -> dict[Any, Any]:
        if placements != self.version:
            self.version, self.unions = placements, {}
        return self.unions


_consulted: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per open tenant store


@dataclass
class GroupReads:
    """How a group's aggregates are had: ``trust_kept`` lets the consulted unions and the members
    taken as new stand in for reads; ``assumed`` says whether they did."""

    trust_kept: bool
    assumed: bool = False


def _known_or_read(store: Any, group: list[Pending], cur: ViewCursor, placements: int, reads: GroupReads) -> dict:
    """The group's aggregates: from the unions consulted at this placements' version and none
    for those its commands create, when that covers every load; else read in the lock's
    transaction (and the unions among them kept)."""
    loads = _loads(group)
    known = _consulted.setdefault(store, ConsultedUnions()).at(placements) if KEEP_CONSULTED else {}
    commands = [item.command for item in group if item.command.grouped]
    created = {i for command in commands for i in command.creates()}
    if reads.trust_kept and all(i in created or i in known for i in loads):
        reads.assumed = bool(created)
        return {i: None if i in created else known[i] for i in loads}
    preloaded = preload(store, loads, cur)
    if KEEP_CONSULTED and len(known) < ConsultedUnions.LIMIT:
        for command in commands:
            for i in command.consults():
                if preloaded.get(i) is not None:
                    known[i] = preloaded[i]
    return preloaded


def _loads(group: list[Pending]) -> list:
    """The storage ids of the aggregates a group's commands load, each once."""
    return list(dict.fromkeys(i for item in group if item.command.grouped for i in item.command.loads()))


def _outside_scopes(store: Any, group: list[Pending], uow: UnitOfWork, placements: int | None) -> dict[int, Exception]:
    """The refusal of each scoped command that reaches outside its scope, by id of its item. A
    member command was checked in its request's thread before it queued (Register.execute), on
    the units' and unions' placements as the process knew them: checked again here from those, it
    costs the lock no query, unless they changed since (their version, read under the lock, is
    another), when they are read again; one that units' and unions' spans alone decided is not
    checked again while that version holds (``settled``). Another command's placements are read
    here."""
    refusals: dict[int, Exception] = {}
    for item in group:
        if item.scope is None:
            continue
        if placements is None:
            placements = store.known_placements.read_version()
        if item.settled is not None and item.settled == placements:
            continue
        item.scope.renew(placements)
        try:
            item.scope.require(command_reaches(item.command, uow))
        except Exception as error:  # noqa: BLE001 - this command's answer alone (say, a report that does not exist)
            refusals[id(item)] = error
    return refusals


def unit_of_work(store: Any, preloaded: dict | None = None) -> UnitOfWork:
    return UnitOfWork(store.event_store.repository, store.views, store.today, preloaded, store.vault)


ONE_TRIP = True  # a group's statements as texts (persistence.one_trip); else in a pipeline (bench variants)
TAKE_EARLY = False  # a group taken as the lock is asked for, read with the ends (else once it is had)
ENDS_FUNCTION = True  # the ends read through the schema's function (integrity.ends); else planned each time
WRITE_FUNCTION = True  # keys, tokens and events through the schema's function (persistence.recorders)
KEEP_CONSULTED = True  # unions consulted kept while the placements hold (else read for every group)


def _pipelined(store: Any, take: Take) -> tuple[list[Pending], list[Recording]]:
    import psycopg
    from psycopg import errors
    from psycopg.rows import tuple_row

    deadline = time.monotonic() + store.lock_wait
    taken: list[Pending] | None = None

    def take_once() -> list[Pending]:  # the same group again after catching up
        nonlocal taken
        if taken is None:
            taken = take()
        return taken

    # After a save that failed on a member taken as new (it exists), the group is decided again
    # on every aggregate read under the lock, in a transaction of its own on the same connection.
    reads = GroupReads(trust_kept=True)
    with store.thread_locked(deadline):
        while True:
            decided: list[Pending] = []
            recordings: list[Recording] = []
            refused = behind = False
            try:
                with store.connection() as conn:
                    if ONE_TRIP:
                        trip = OneTrip(conn)
                        cur = ViewCursor(trip, "postgres", one_trip=True)
                        try:
                            recordings, behind = _decide_and_write(store, cur, take_once, deadline, decided, reads)
                        except BaseException:
                            trip.rollback()
                            raise
                    else:
                        cur = ViewCursor(conn.cursor(row_factory=tuple_row), "postgres")
                        with cur.pipeline(), conn.transaction():  # BEGIN and COMMIT go with the statements
                            recordings, behind = _decide_and_write(store, cur, take_once, deadline, decided, reads)
            except _CatchUpFirst:
                with store.store_locked(deadline):
                    store.catch_up_locked()
                continue
            except errors.LockNotAvailable:
                raise store.busy() from None
            except (IntegrityError, psycopg.IntegrityError) as error:
                # unexpected, as the lock was held: a writer that does not take it
                if fenced(error):  # the tenant has moved to another server (tenants/moving.py)
                    raise TenantMoved(store.tenant_id) from error
                if reads.assumed:
                    reads = GroupReads(trust_kept=False)
                    for item in taken or ():
                        item.result, item.error, item.done = None, None, False
                    continue
                refused = True
            if refused or behind:
                with store.store_locked(deadline):
                    if refused:
                        _one_by_one(store, decided)
                    store.catch_up_locked()
            return decided, [] if refused else recordings


def _decide_and_write(
    store: Any, cur: ViewCursor, take: Take, deadline: float, decided: list[Pending], reads: GroupReads
) -> tuple[list[Recording], bool]:
    """The group's transaction: the lock, where views, ledger and chain end and the group's
    aggregates; then keys, events (at the ledger's next positions, known from its end), view
    rows, chain links, tree leaves and COMMIT together (as one text each; the lock is held for
    two round trips, or one with ``TAKE_EARLY``; in a pipeline, one more).
    ``decided`` gets the commands decided (also when the save then fails); returns the
    recordings and whether the views and the chain are left to catch up over a gap."""
    if ONE_TRIP:
        cur.execute("BEGIN")
    if store.pooled:
        store.on_schema(cur)
    wait = max(1, int((deadline - time.monotonic()) * 1000))
    cur.execute("SELECT set_config('lock_timeout', ?, true)", (f"{wait}ms",))
    cur.execute("SELECT pg_advisory_xact_lock(?)", (store.lock_key,))
    preloaded = None
    if isinstance(cur.raw, OneTrip) and TAKE_EARLY:
        # The group is taken as the lock is asked for, and its aggregates are read with the
        # ledger's end once it is had: the lock is held for two round trips, not three.
        group = take()
        loads = _loads(group)
        cur.execute(*_ends_query(store))
        at_ends = cur.raw.ticket()
        if loads:
            cur.execute(STORED_EVENTS.format(table=store.event_store.events_table), (loads,))
            at_loads = cur.raw.ticket()
        ends = _ends_of(store, cur.raw.rows(at_ends)[0])
        preloaded = aggregates(store, loads, cur.raw.rows(at_loads)) if loads else {}
    else:
        ends = _ends(store, cur)
    if ends.views < ends.top or ends.chain_end[0] < ends.top:
        raise _CatchUpFirst
    group = take()
    if preloaded is None:
        preloaded = _known_or_read(store, group, cur, ends.placements, reads)
    chosen, uow = decide(store, group, cur, ends.placements, preloaded)
    decided.extend(chosen)
    events = uow.collect_events()
    if events and ends.next_position != ends.top + 1:  # positions a rolled-back write used up hold no event
        cur.execute(
            "INSERT INTO ledger_voids (position) SELECT generate_series(?, ?) ON CONFLICT DO NOTHING",
            (ends.top + 1, ends.next_position - 1),
        )
    recordings = _write(store, cur, events, uow.sealing, ends.next_position) if events else []
    # Positions a rolled-back write used up lie before these: the views and the chain go over
    # them once the group is stored (the caller catches up), as they do for any gap.
    if recordings and ends.next_position == ends.top + 1:
        store.projector.apply_at(cur, [(r.domain_event, r.notification.id) for r in recordings], ends.top)
        store.chain.link_at(cur, recordings, ends.chain_end, ends.edge)
    if ONE_TRIP:
        cur.execute("COMMIT")
        cur.raw.send()
    return recordings, bool(recordings) and ends.next_position != ends.top + 1


@dataclass(frozen=True)
class Ends:
    """What a group's transaction reads first, under the lock: where the views are (the lane
    furthest behind; 0 if a crash emptied them), where the ledger ends, the ledger's next
    position (past any a rolled-back write used up), the chain's last position and link, and
    the Merkle tree's right edge where it ends with the chain (integrity.tree)."""

    views: int
    top: int
    next_position: int
    chain_end: tuple[int, bytes]
    edge: list[tuple[int, bytes]] | None
    placements: int  # the units' and unions' placements' version (projections.placement)


def _ends(store: Any, cur: ViewCursor) -> Ends:
    """The group's ``Ends``, in one statement."""
    row = cur.execute(*_ends_query(store)).fetchone()
    assert row is not None  # a SELECT FROM (SELECT 1) LEFT JOIN returns one row
    return _ends_of(store, row)


def _ends_query(store: Any) -> tuple[str, tuple]:
    """The ends' statement: the schema's function (integrity.ends), whose plan the session keeps."""
    lanes = list(store.projector.lanes)
    if not ENDS_FUNCTION:
        return ends_select(store.event_store.events_table, "?"), (lanes,)
    return f"SELECT * FROM {ends_function(store.event_store.events_table)[0]}(?)", (lanes,)


def _ends_of(store: Any, row: tuple) -> Ends:
    views, top, numbered, chained, link, edge_rows, placements = row
    chain_end = (chained, bytes.fromhex(link)) if chained is not None else store.chain.start()
    top = top or 0
    next_position = max(numbered or 0, top) + 1
    return Ends(views or 0, top, next_position, chain_end, edge_of(chain_end[0], edge_rows), placements or 0)


def _stepwise(store: Any, take: Take) -> tuple[list[Pending], list[Recording]]:
    with store.lock(store.lock_wait):
        store.catch_up_locked()
        decided, uow = decide(store, take())
        try:
            return decided, record(store, uow)
        except IntegrityError:  # unexpected, as the lock is held: a writer that does not take it
            _one_by_one(store, decided)
            store.catch_up_locked()
            return decided, []


def record(store: Any, uow: UnitOfWork) -> list[Recording]:
    """Save what ``uow`` decided, with the keys, the views and the chain, in one transaction (the
    caller holds the lock and has caught the views up)."""
    events = uow.collect_events()
    if not events:
        return []
    with store.transaction(write=True) as cur:
        views = store.projector.position_in(cur)  # a rolled-back write may have used the positions between
        recordings = _write(store, cur, events, uow.sealing)
        store.projector.apply([(r.domain_event, r.notification.id) for r in recordings], cur, after=views)
        end = store.chain.end(cur)
        linked = end[0] == recordings[0].notification.id - 1
        if linked:
            store.chain.link_at(cur, recordings, end)
    if not linked:
        store.extend_chain_locked()  # the chain was behind: extension links it, or reports it broken
    return recordings


def _recordings(events: list[Any], stored: list[Any], ids: list[int]) -> list[Recording]:
    return [
        Recording(
            e,
            Notification(
                id=i,
                originator_id=s.originator_id,
                topic=s.topic,
                originator_version=s.originator_version,
                state=s.state,
            ),
        )
        for e, s, i in zip(events, stored, ids)
    ]


def _write(
    store: Any, cur: ViewCursor, events: list[Any], sealing: Sealing, first: int | None = None
) -> list[Recording]:
    """Save ``events`` and the new members' keys and index tokens in ``cur``'s transaction: at
    positions ``first``... if given (the ledger's next ones, read under the lock the caller
    holds), reading nothing back; else numbered by the ledger, which answers their positions."""
    mapper = store.event_store.mapper
    stored = [mapper.to_stored_event(e) for e in events]
    if first is not None:
        recorder = store.event_store.recorder
        if WRITE_FUNCTION and isinstance(cur.raw, OneTrip):
            ids = recorder.write_numbered(cur.raw, stored, first, store.vault.key_rows(sealing))
        else:
            store.vault.keep(cur, sealing)
            ids = recorder.insert_numbered(cur.raw, stored, first)
        return _recordings(events, stored, ids)
    with cur.pipeline():  # keys, table lock and events in one round trip
        store.vault.keep(cur, sealing)
        ids = insert_within(store.event_store.recorder, cur, stored)
    return _recordings(events, stored, ids)


def _one_by_one(store: Any, items: list[Pending]) -> None:
    """Decide and save each command on its own (the caller holds the lock): after a group met a
    duplicate that another writer stored meanwhile."""
    for item in items:
        store.catch_up_locked()
        uow = unit_of_work(store)
        try:
            item.result = handle(item.command, uow)
            record(store, uow)
        except IntegrityError as error:
            if fenced(error):
                raise TenantMoved(store.tenant_id) from error
            item.result, item.error = (
                None,
                AlreadyExists("the entity was written concurrently; nothing was changed", rule="unique_id"),
            )
        except Exception as error:  # noqa: BLE001 - this command's answer, refusal or failure alone
            item.result, item.error = None, error
