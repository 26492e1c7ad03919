"""Moving a tenant to another PostgreSQL server while it keeps serving.

1. **A snapshot, without pausing.** The tenant's schema is made on the target (as a provisioning
   makes it), every table made there in this version's definition, then every table of the source's
   schema is streamed over with binary COPY inside one REPEATABLE READ transaction of the source,
   taken as a reader of the views takes its snapshot (after their tables' ACCESS SHARE lock, which
   keeps a rebuild's swap out).
2. **Catching up, without pausing.** The events recorded since are copied in batches; the target's
   views apply them and its chain links them itself. The members' keys and blind-index rows are
   written in their events' transaction, so each batch re-copies those of the members its events
   name: a later change to them comes with a later event naming the member again.
3. **The switch, with writes paused.** Under the tenant lock of the source (every worker's writers
   wait on it), the last events are copied and applied, the target's chain head is compared with the
   source's digest, the source's ledger and key tables are fenced (a constraint no new row passes: a
   worker that still has the source open cannot write there), the key tables are copied again (a
   signing or index key made on the source since the snapshot is carried over, never made anew on
   the target), and the registry names the target. The target's tenant lock is held from the last
   batch until every process has read the new placement (``SWITCH_SETTLE_SECONDS``): a process that
   has not yet read it still serves reads from the old copy's views, which must not miss a write the
   target has acknowledged. Only this step pauses writes; its length is that of the last batch plus
   that wait.

Anything failing before the registry names the target leaves the tenant on its source, with nothing
lost: the fence is in the same source transaction, rolled back with it. The old copy stays, fenced,
until ``drop_source``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from domain.errors import Conflict, InvalidValue, NotFound
from integrity.chain import CHAIN_TABLE
from integrity.tree import KEYS_TABLE as LEDGER_KEYS_TABLE
from integrity.tree import TREE_TABLE
from persistence.recorders import EVENT_COLUMNS, FENCE
from persistence.vault import INDEX_TABLE, KEYS_TABLE
from tenants.provisioning import _create_schema, deployment_mark
from tenants.settings import Settings, schema_name
from tenants.stores import PLACEMENT_RECHECK_SECONDS, TenantStore

log = logging.getLogger(__name__)
BATCH = 20_000  # events copied per catch-up round
# What a catch-up round may leave for the switch, which copies and applies it with writes paused: a
# count, not a share of the tenant, so the pause does not grow with what was written during the snapshot.
SWITCH_EVENTS = 500
MEMBER_TABLES = (KEYS_TABLE, INDEX_TABLE)  # rows by member, written with the events
# Written once, at the store's creation or its first checkpoint or search, not under the tenant lock:
# copied with the snapshot and again at the switch, once fenced.
SIDE_TABLES = ("index_keys", LEDGER_KEYS_TABLE, "ledger_voids")
LEDGER_TABLES = (CHAIN_TABLE, TREE_TABLE)  # kept by the ledger's own catch-up on the copy
# How long the switch keeps the target's writes waiting after the registry names it: every process
# reads a moved tenant's placement again within PLACEMENT_RECHECK_SECONDS (tenants/stores.py).
SWITCH_SETTLE_SECONDS = PLACEMENT_RECHECK_SECONDS + 0.25
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Moved:
    tenant_id: str
    source: str
    target: str
    events: int
    seconds: float
    pause_seconds: float


def move_tenant(platform: Any, tenant_id: str, target: str, progress: Progress | None = None) -> Moved:
    """Copy the tenant to ``target``, switch it there, and fence its old copy (see the module's text)."""
    settings: Settings = platform.settings
    tell = progress or (lambda _stage, _done, _total: None)
    if settings.backend != "postgres":
        raise InvalidValue("the embedded store has no servers to move between", field="to")
    tenant = platform.registry.tenant(tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant")
    source = tenant["server"]
    if target not in settings.server_urls:
        raise InvalidValue(f"no server {target!r} is configured", field="to")
    if target == source:
        raise Conflict(f"tenant {tenant_id!r} lives on {target} already", rule="same_server")
    started = time.monotonic()
    schema = schema_name(tenant_id)
    _make_target(settings, tenant_id, target)
    with platform.stores.use(tenant_id) as src, _connect(settings, source) as read, _connect(settings, target) as write:
        tables = _tables(read, schema)
        expected = {
            *src.projector.view_tables,
            src.event_store.events_table,
            *LEDGER_TABLES,
            *MEMBER_TABLES,
            *SIDE_TABLES,
        }
        unknown = tables - expected
        if unknown:
            raise Conflict(f"the tenant's schema holds tables a move does not know: {', '.join(sorted(unknown))}")
        copied = _snapshot(read, write, schema, src, sorted(tables), tell)
        target_store = TenantStore(tenant_id, settings, server=target)
        try:
            with target_store.lock():
                target_store.catch_up_locked()
            while True:  # catch up without the lock until a round finds little left
                top = src.projector.ledger_position()
                tell("catching up", copied, top)
                if top - copied <= SWITCH_EVENTS:
                    break
                copied = _copy_events(read, write, schema, src, copied, top)
                with target_store.lock():
                    target_store.catch_up_locked()
            paused = time.monotonic()
            with src.lock(), target_store.lock():
                top = src.projector.ledger_position()
                copied = _copy_events(read, write, schema, src, copied, top)
                target_store.catch_up_locked()
                head, copy_head = src.chain.head(), target_store.chain.head()
                if (head["position"], head["hash"]) != (copy_head["position"], copy_head["hash"]) or copied != top:
                    raise Conflict(
                        f"the copy's chain ends at {copy_head['hash']}@{copy_head['position']}, the source's digest"
                        f" is {head['hash']}@{head['position']}: the tenant stays on {source}"
                    )
                with read.transaction():
                    for table in (src.event_store.events_table, *SIDE_TABLES):
                        _fence(read, schema, table)
                    _copy_side(read, write, schema)
                    platform.registry.place(tenant_id, target)
                    switched = time.monotonic()
                # Writes on the target wait until every process has read the new placement: a write
                # acknowledged there is never followed by a read of the old copy's views.
                time.sleep(max(0.0, switched + SWITCH_SETTLE_SECONDS - time.monotonic()))
            pause = time.monotonic() - paused
        finally:
            target_store.close()
    platform.stores.retire(tenant_id)
    tell("moved", copied, copied)
    log.info("tenant %s moved from %s to %s: %d events, writes paused %.2f s", tenant_id, source, target, copied, pause)
    return Moved(tenant_id, source, target, copied, time.monotonic() - started, pause)


def drop_source(platform: Any, tenant_id: str, server: str) -> None:
    """Drop a moved tenant's old, fenced copy on ``server`` (never the copy the registry names)."""
    settings: Settings = platform.settings
    tenant = platform.registry.tenant(tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant")
    if tenant["server"] == server:
        raise Conflict(f"tenant {tenant_id!r} lives on {server}: that copy is not dropped", rule="live_copy")
    schema = schema_name(tenant_id)
    # Every process notices the move within PLACEMENT_RECHECK_SECONDS; until then one may still read the
    # old copy (writes are fenced), so it is dropped only after that.
    time.sleep(2 * PLACEMENT_RECHECK_SECONDS)
    with _connect(settings, server) as conn, conn.transaction():
        fenced = conn.execute(
            "SELECT 1 FROM pg_constraint WHERE conname = %s AND connamespace = %s::regnamespace", (FENCE, f'"{schema}"')
        ).fetchone()
        if fenced is None:
            raise Conflict(f"the copy of {tenant_id!r} on {server} is not a moved tenant's fenced copy")
        from psycopg import sql

        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


# ---- the steps -----------------------------------------------------------------------------------
@contextmanager
def _connect(settings: Settings, server: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(settings.conninfo(server), autocommit=True, **settings.connect_options()) as conn:
        yield conn


def _make_target(settings: Settings, tenant_id: str, target: str) -> None:
    """The tenant's schema on the target, empty, marked as this deployment's, with every table of
    this version; one left there by a move that failed is dropped first (the registry names the
    source, so no one reads it). A schema there without the mark is refused, never taken."""
    from psycopg import sql

    schema = schema_name(tenant_id)
    with _connect(settings, target) as conn, conn.transaction():
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
        if row is not None and row[0] != deployment_mark(settings):
            raise Conflict(f'schema "{schema}" exists on {target} and was not made by this deployment')
        if row is not None:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        _create_schema(conn, settings, schema)
    TenantStore(tenant_id, settings, create=True, server=target).close()


def _tables(conn: Any, schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
        (schema,),
    ).fetchall()
    return {name for (name,) in rows}


def _snapshot(read: Any, write: Any, schema: str, src: TenantStore, tables: list[str], tell: Progress) -> int:
    """Every table at one instant of the source; returns the ledger's last position there."""
    from psycopg import sql

    events = src.event_store.events_table
    s = sql.Identifier(schema)
    with read.transaction(), write.transaction():
        read.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        views = sql.SQL(", ").join(sql.SQL("{}.{}").format(s, sql.Identifier(t)) for t in src.projector.view_tables)
        read.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(views))
        top = read.execute(
            sql.SQL("SELECT COALESCE(max(notification_id), 0) FROM {}.{}").format(s, sql.Identifier(events))
        ).fetchone()[0]
        for n, table in enumerate(tables):
            tell(f"copying {table}", n, len(tables))
            t = sql.SQL("{}.{}").format(s, sql.Identifier(table))
            write.execute(sql.SQL("TRUNCATE {}").format(t))
            with (
                read.cursor().copy(sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(t)) as out,
                write.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(t)) as into,
            ):
                for block in out:
                    into.write(block)
        _follow_sequence(write, schema, events)
    return top


def _follow_sequence(write: Any, schema: str, events: str) -> None:
    """The target's notification ids go on from the last copied one."""
    write.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), COALESCE(max_id, 1), max_id IS NOT NULL)"
        f' FROM (SELECT max(notification_id) AS max_id FROM "{schema}".{events}) m',
        (f'"{schema}".{events}',),
    )


def _copy_events(read: Any, write: Any, schema: str, src: TenantStore, after: int, upto: int) -> int:
    """The events after ``after`` up to ``upto``, and the rows of the members they name; returns ``upto``."""
    from psycopg import sql

    events = src.event_store.events_table
    s, e = sql.Identifier(schema), sql.Identifier(events)
    columns = sql.SQL(", ".join(("notification_id", *EVENT_COLUMNS)))  # the state fifth, the trail's columns after
    while after < upto:
        high = min(upto, after + BATCH)
        with read.transaction(), write.transaction():
            rows = read.execute(
                sql.SQL("SELECT {} FROM {}.{} WHERE notification_id > %s AND notification_id <= %s ORDER BY 1").format(
                    columns, s, e
                ),
                (after, high),
            ).fetchall()
            with write.cursor().copy(sql.SQL("COPY {}.{} ({}) FROM STDIN").format(s, e, columns)) as into:
                for row in rows:
                    into.write_row(row)
            members = sorted({m for row in rows if (m := _member_of(row[4])) is not None})
            for table in MEMBER_TABLES:
                t = sql.SQL("{}.{}").format(s, sql.Identifier(table))
                write.execute(sql.SQL("DELETE FROM {} WHERE member_id = ANY(%s)").format(t), (members,))
                found = read.execute(sql.SQL("SELECT * FROM {} WHERE member_id = ANY(%s)").format(t), (members,))
                names = [d.name for d in found.description]
                values = found.fetchall()
                if values:
                    with write.cursor().copy(
                        sql.SQL("COPY {} ({}) FROM STDIN").format(t, sql.SQL(", ").join(map(sql.Identifier, names)))
                    ) as into:
                        for value in values:
                            into.write_row(value)
            _follow_sequence(write, schema, events)
        after = high
    return upto


def _copy_side(read: Any, write: Any, schema: str) -> None:
    """The key tables as the source holds them now (fenced, in the caller's transaction: no key made
    on the source after this read), in place of the snapshot's."""
    from psycopg import sql

    with write.transaction():
        for table in SIDE_TABLES:
            t = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            found = read.execute(sql.SQL("SELECT * FROM {}").format(t))
            names = sql.SQL(", ").join(sql.Identifier(d.name) for d in found.description)
            rows = found.fetchall()
            write.execute(sql.SQL("DELETE FROM {}").format(t))
            with write.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(t, names)) as into:
                for row in rows:
                    into.write_row(row)


def _member_of(state: bytes) -> str | None:
    """The member an event names, if any (the flat JSON of the register's events)."""
    try:
        member = json.loads(bytes(state)).get("member_id")
    except (ValueError, AttributeError):
        return None
    return member if isinstance(member, str) else None


def _fence(conn: Any, schema: str, table: str) -> None:
    """No new row in a table of the old copy (rows already there stay): a worker that has not yet
    noticed the move cannot write where no one reads any more."""
    from psycopg import sql

    conn.execute(
        sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} CHECK (false) NOT VALID").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Identifier(FENCE)
        )
    )
