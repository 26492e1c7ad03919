"""Provisioning a tenant: its schema (PostgreSQL) or file (SQLite), tables and first token.

Provisioning takes no store it did not make. A deployment marks each tenant schema it creates
with a comment naming its control schema, in the transaction that creates it; a schema without
its mark (another deployment's on the same database, or one made by hand) is refused, never
adopted. A provisioning cut off half-way (the store made, the tenant not yet registered) is
completed by a repeat. On SQLite the tenant's file in this data folder is taken over only if it
holds no events and no keys: one made by a provisioning cut off before its first command.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain.errors import AlreadyExists, InvalidValue
from persistence.vault import KEYS_TABLE
from tenants.registry import Registry
from tenants.settings import NATIONAL_STORE, TENANT_ID, Settings, schema_name
from tenants.stores import TenantStores, sqlite_path

log = logging.getLogger(__name__)
SQLITE_EVENTS_TABLE = "stored_events"  # the library's name for a SQLite ledger's events


def deployment_mark(settings: Settings) -> str:
    """The comment a deployment (one control schema) puts on each tenant schema it creates."""
    return f"unionledger:{settings.control_schema}"


def provision_tenant(
    settings: Settings, registry: Registry, stores: TenantStores, tenant_id: str, name: str, server: str | None = None
) -> str:
    """Create the tenant's store (on ``server``, else on the server with the fewest members) and
    register it; returns its first federation_admin token."""
    if not TENANT_ID.match(tenant_id or ""):
        raise InvalidValue("must be 1-40 lowercase letters, digits and inner hyphens", field="id")
    if settings.backend != "postgres":
        if server is not None:
            raise InvalidValue("the embedded store has no servers to choose from", field="server")
    elif server is not None and server not in settings.server_urls:
        known = ", ".join(sorted(settings.server_urls))
        raise InvalidValue(f"no server {server!r} is configured (servers: {known})", field="server")
    elif server is None:
        server = least_loaded(settings, registry)
    with _provisioning(settings, tenant_id, server) as conn:
        if registry.tenant(tenant_id) is not None:
            raise AlreadyExists(f"tenant {tenant_id!r} exists already", field="id", rule="unique_id")
        if conn is not None:
            _own_schema(conn, settings, tenant_id)
        else:
            _own_file(sqlite_path(settings, tenant_id))
        stores.forget(tenant_id)
        with stores.use(tenant_id, create=True, server=server):
            pass
        token = registry.add_tenant(tenant_id, name, holder="federation_admin", server=server)
    if token is None:
        raise AlreadyExists(f"tenant {tenant_id!r} exists already", field="id", rule="unique_id")
    return token


def provision_national(settings: Settings, stores: TenantStores) -> None:
    """Make the national ledger's store if it is not there (its schema carries the deployment's mark,
    as a tenant's does); a repeat finds it made. It is no tenant: the registry does not list it."""
    schema = settings.national_schema
    with _locked(settings, schema) as conn:
        if conn is not None:
            with conn.transaction():
                row = conn.execute(
                    "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", (schema,)
                ).fetchone()
                if row is None:
                    _create_schema(conn, settings, schema)
                elif row[0] != deployment_mark(settings):
                    raise AlreadyExists(
                        f'schema "{schema}" exists already and was not made by this deployment', rule="store_exists"
                    )
        with stores.use(NATIONAL_STORE, create=True):
            pass


def members_per_server(settings: Settings, registry: Registry) -> dict[str, int | None]:
    """The members recorded on each server (the rows of its tenants' member views); None for a
    server that does not answer."""
    import psycopg

    placed: dict[str, list[str]] = {name: [] for name in settings.server_urls}
    for tenant in registry.tenants():
        placed.setdefault(tenant["server"], []).append(tenant["id"])
    counts: dict[str, int | None] = {}
    for server, tenant_ids in placed.items():
        try:
            with psycopg.connect(
                settings.conninfo(server), connect_timeout=settings.db_timeout, **settings.connect_options()
            ) as conn:
                counts[server] = sum(_members(conn, tenant_id) for tenant_id in tenant_ids)
        except (psycopg.Error, KeyError) as error:
            log.warning("server %s not counted for placement: %s", server, type(error).__name__)
            counts[server] = None
    return counts


def _members(conn: Any, tenant_id: str) -> int:
    """The tenant's current members as its views hold them (0 for a store whose views are not made yet)."""
    from psycopg import sql

    schema = schema_name(tenant_id)
    exists = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".member_state',)).fetchone()[0]
    if exists is None:
        return 0
    query = sql.SQL("SELECT count(*) FROM {}.member_state WHERE left_on IS NULL").format(sql.Identifier(schema))
    return int(conn.execute(query).fetchone()[0])


def least_loaded(settings: Settings, registry: Registry) -> str:
    """The server a new tenant goes to: the one with the fewest members of those that answer
    (of equals, the first named)."""
    counts = members_per_server(settings, registry)
    answering = [(count, i, name) for i, (name, count) in enumerate(counts.items()) if count is not None]
    if not answering:
        return settings.default_server
    return min(answering)[2]


@contextmanager
def _provisioning(settings: Settings, tenant_id: str, server: str | None = None) -> Iterator[Any]:
    """On PostgreSQL, a connection to the tenant's server holding a lock on the tenant's id for
    every deployment on that server, so that of two provisionings of one id the second finds what
    the first made (the registry's insert decides between servers); on SQLite, None (the
    registry's insert decides between two processes of one data folder)."""
    with _locked(settings, schema_name(tenant_id), server) as conn:
        yield conn


@contextmanager
def _locked(settings: Settings, schema: str, server: str | None = None) -> Iterator[Any]:
    """A connection to ``server`` holding the provisioning lock of ``schema`` (PostgreSQL); None on SQLite."""
    if settings.backend != "postgres":
        yield None
        return
    import psycopg

    key = int.from_bytes(hashlib.sha256(f"provision:{schema}".encode()).digest()[:8], "big", signed=True)
    conninfo, options = settings.conninfo(server), settings.connect_options()
    # Connections of their own, not the registry's few, which the provisioning also uses: one holds
    # the lock in a transaction kept open to the end (so that it ends with it, through a transaction
    # pooler too), the other makes the schema, committed at once for the tenant store to use.
    with (
        psycopg.connect(conninfo, autocommit=True, **options) as holder,
        holder.transaction(),
        psycopg.connect(conninfo, autocommit=True, **options) as conn,
    ):
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        yield conn


def _own_schema(conn: Any, settings: Settings, tenant_id: str) -> None:
    """Create the tenant's schema with this deployment's mark, or resume one carrying it."""
    schema = schema_name(tenant_id)
    with conn.transaction():
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
        if row is None:
            _create_schema(conn, settings, schema)
        elif row[0] != deployment_mark(settings):
            raise AlreadyExists(
                f'schema "{schema}" exists already and was not made by this deployment', field="id", rule="store_exists"
            )


def _create_schema(conn: Any, settings: Settings, schema: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    conn.execute(
        sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(schema), sql.Literal(deployment_mark(settings)))
    )


def _own_file(path: Path) -> None:
    """Refuse a tenant file that holds events or keys; an empty one may be taken over."""
    if path.exists() and _holds_a_ledger(path):
        raise AlreadyExists(
            f'file "tenants/{path.name}" exists already and holds a ledger this deployment has not registered',
            field="id",
            rule="store_exists",
        )


def _holds_a_ledger(path: Path) -> bool:
    """Whether the file holds any event or key; a file that is no SQLite database counts as holding one."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return True
    try:
        tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return any(
            conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]
            for table in (SQLITE_EVENTS_TABLE, KEYS_TABLE)
            if table in tables
        )
    except sqlite3.Error:
        return True
    finally:
        conn.close()


def empty_store(settings: Settings, registry: Registry, stores: TenantStores, tenant_id: str) -> None:
    """Throw a tenant's store away and make it again, empty (and marked as this deployment's);
    the registry and tokens stay.

    Only for a store whose first build never finished (an interrupted demo province): a
    tenant's ledger is otherwise never deleted.
    """
    stores.forget(tenant_id)
    if settings.backend == "postgres":
        import psycopg
        from psycopg import sql

        schema = schema_name(tenant_id)
        conninfo = settings.conninfo(registry.server_of(tenant_id))
        with psycopg.connect(conninfo, **settings.connect_options()) as conn, conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            _create_schema(conn, settings, schema)
    else:
        path = sqlite_path(settings, tenant_id)
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    with stores.use(tenant_id, create=True):
        pass
