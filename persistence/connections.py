"""PostgreSQL connections that outlive a server restart and fail fast while the server is away.

Every pool of the service (the control store's and each tenant store's) is a ``Pool``: it hands
out a connection only once ``usable`` has passed it; it waits at most ``Settings.db_timeout``
seconds for one, then raises DatabaseUnreachable (answered 503); and it gives up a reconnection
after as long, so that it never waits out a back-off grown during a long outage once the server is
back. Its connections carry the deployment's ``application_name``.
"""

from __future__ import annotations

import select
from time import monotonic
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from eventsourcing import postgres
from eventsourcing.utils import Environment, EnvType
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool, PoolTimeout
from psycopg_pool.abc import CT

from persistence.outage import DatabaseUnreachable as DatabaseUnreachable  # where its callers import it
from tenants.settings import Settings

WAIT_SLICE_SECONDS = 1.0


def usable(conn: psycopg.Connection[Any]) -> None:
    """The pools' check of a connection they are about to hand out. An idle connection hears
    nothing from the server unless the server is closing it (a restart, a terminated backend):
    one with nothing to read is handed out as it is, without a round trip; one with something
    to read is tried with a round trip, and the pool replaces it if that fails."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()  # not select.select: a busy worker's descriptors may pass FD_SETSIZE
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)


class Pool(ConnectionPool[CT]):
    """psycopg's pool, waiting for a connection in slices: a request that comes back to the pool
    makes it try to connect afresh if its earlier attempts have given up while the request waited
    (alone, it would wait its time out though the server was back)."""

    def getconn(self, timeout: float | None = None) -> CT:
        timeout = self.timeout if timeout is None else timeout
        deadline = monotonic() + timeout
        while (left := deadline - monotonic()) > 0:
            try:
                return super().getconn(timeout=min(WAIT_SLICE_SECONDS, left))
            except PoolTimeout:
                continue
        raise DatabaseUnreachable(f"no connection to the database within {timeout:g} s")


class TenantPool(Pool[psycopg.Connection[DictRow]], postgres.ConnectionPool[psycopg.Connection[DictRow]]):
    """The pool of a tenant store (the library's, which may ask for a password at each connection)."""


def connect_kwargs(settings: Settings, tenant_id: str | None = None) -> dict[str, Any]:
    """What every new connection is opened with: its name on the server, and how long to try."""
    return {
        "application_name": settings.application_name(tenant_id),
        "connect_timeout": settings.db_timeout,
        **settings.connect_options(),
    }


class TenantPostgresFactory(postgres.PostgresFactory):
    """The library's PostgreSQL persistence for a tenant store, with a TenantPool. The pool waits
    ``POSTGRES_CONNECT_TIMEOUT`` seconds for a connection (the library's meaning), and as long for
    a connection attempt and a reconnection; ``POSTGRES_APPLICATION_NAME`` names its connections."""

    POSTGRES_APPLICATION_NAME = "POSTGRES_APPLICATION_NAME"
    POSTGRES_NO_PREPARE = "POSTGRES_NO_PREPARE"  # "y": no server-side prepared statements (a transaction pooler)
    # libpq parameters from the server's URL (target_session_attrs=read-write: the primary of several hosts)
    POSTGRES_CONNECT_OPTIONS = "POSTGRES_CONNECT_OPTIONS"

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        # The library builds its pool itself, with a check only for its pre-ping (a round trip per
        # checkout). It has not opened it yet: ours takes its place, with its settings.
        built, datastore = self.datastore.pool, self.datastore
        assert not callable(built.kwargs)  # the library gives its pool a dict, not a function making one
        datastore.pool = TenantPool(
            built.conninfo,
            connection_class=built.connection_class,
            get_password_func=built.get_password_func,
            kwargs={
                **(built.kwargs or {}),
                "connect_timeout": round(built.timeout),
                "application_name": self.env.get(self.POSTGRES_APPLICATION_NAME) or "unionledger",
                **({"prepare_threshold": None} if self.env.get(self.POSTGRES_NO_PREPARE) == "y" else {}),
                **dict(parse_qsl(self.env.get(self.POSTGRES_CONNECT_OPTIONS) or "")),
            },
            min_size=built.min_size,
            max_size=built.max_size,
            open=False,
            configure=datastore.after_connect_func(),
            check=usable,
            timeout=built.timeout,
            max_waiting=built.max_waiting,
            max_lifetime=built.max_lifetime,
            reconnect_timeout=built.timeout,
        )
