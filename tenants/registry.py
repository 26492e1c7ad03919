"""The control store: which tenants exist, and the hashes of their tokens.

Tokens are random and shown once; only their SHA-256 is kept, so a stolen
control store gives no usable token. The platform admin token comes from
``UNIONLEDGER_ADMIN_TOKEN`` or else a file in the data folder, made (0600) on the first start.

A process trusts a token it has found valid for ``TOKEN_RECHECK_SECONDS`` before asking the
control store again: a revocation is refused at once by the process that made it, and by
every other gunicorn worker within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from persistence.connections import DatabaseUnreachable
from persistence.files import private_file, write_private
from projections.base import ViewCursor
from tenants.settings import Settings

log = logging.getLogger(__name__)
UNREACHABLE = (DatabaseUnreachable, psycopg.OperationalError)
# A lookup per request would cost every request a pooled connection and a round trip; one per
# token per second costs nothing.
TOKEN_RECHECK_SECONDS = 1.0
TOKENS_KEPT = 1024  # valid tokens a process remembers (the least recently used go first)
TOKEN_ID_LENGTH = 12
# The tenant column of a national principal's token: no tenant id is empty, so none is mistaken for it.
NATIONAL_TOKENS = ""
DDL = (
    "CREATE TABLE IF NOT EXISTS tenants (tenant_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tokens (token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, role TEXT NOT NULL,"
    " holder TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, scope_unit_id TEXT)",
    "CREATE INDEX IF NOT EXISTS tokens_tenant ON tokens (tenant_id)",
    # Failed authentications per client address, shared by every worker: the window's start
    # (seconds since the epoch) and the failures since.
    "CREATE TABLE IF NOT EXISTS auth_failures (address TEXT PRIMARY KEY, window_start DOUBLE PRECISION NOT NULL,"
    " failures INTEGER NOT NULL)",
)


def _add_scope_column(cur: ViewCursor) -> None:
    """Tokens issued before scopes existed cover the whole tenant: the column is added, null."""
    if cur.dialect == "postgres":
        cur.execute("ALTER TABLE tokens ADD COLUMN IF NOT EXISTS scope_unit_id TEXT")
    elif "scope_unit_id" not in {row[1] for row in cur.execute("PRAGMA table_info(tokens)").fetchall()}:
        cur.execute("ALTER TABLE tokens ADD COLUMN scope_unit_id TEXT")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "ul_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """Who sent a request: the platform admin, or a tenant token's holder and role."""

    actor: str
    role: str  # "platform_admin", "national" or a tenant role (application.policy)
    tenant_id: str | None = None  # None for the platform admin and national principals
    scope_unit_id: str | None = None  # the unit whose reach it keeps to (application/scope.py); None: the whole tenant

    @property
    def is_admin(self) -> bool:
        return self.role == "platform_admin"


class Registry:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool = None
        self._local = threading.local()
        self._known: OrderedDict[str, tuple[float, Principal]] = OrderedDict()  # hash -> (checked at, who)
        self._known_lock = threading.Lock()
        self.clock = time.monotonic
        if settings.backend == "postgres":
            from persistence.connections import Pool, connect_kwargs, usable

            schema = settings.control_schema

            def on_schema(conn) -> None:  # once per connection, not once per transaction
                conn.execute(f'SET search_path TO "{schema}"')

            # Autocommit: a lookup is one statement and one round trip; changes open a transaction.
            # Checked, named and bounded in time as every pool of the service is (persistence.connections).
            self._pool = Pool(
                settings.conninfo(),
                min_size=1,
                max_size=4,
                open=True,
                kwargs={"autocommit": True, **connect_kwargs(settings)},
                configure=on_schema,
                check=usable,
                timeout=settings.db_timeout,
                reconnect_timeout=settings.db_timeout,
            )
        else:
            self._path = private_file(settings.data_dir / "control.sqlite")
        self.admin_token_made = False  # by this process: the one start that shows it
        self.admin_token = settings.admin_token or self._stored_admin_token()
        self._admin_hash = token_hash(self.admin_token)
        self._made = False
        self._making = threading.Lock()
        try:
            self._make()
        except UNREACHABLE as error:  # the service starts anyway: /readyz says so until it answers
            log.warning("the control store does not answer (%s); its tables are made when it does", error)

    @property
    def admin_token_path(self) -> Path:
        return self.settings.data_dir / "admin-token"

    def _stored_admin_token(self) -> str:
        """The token in the data folder, made if it is missing (by one process of those starting together)."""
        path = self.admin_token_path
        if not path.exists():
            self.admin_token_made = write_private(path, new_token() + "\n", replace=False)
        return path.read_text().strip()

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[ViewCursor]:
        """A cursor on the control store. ``write=False`` is for a lookup: no transaction (nor, on
        SQLite, the write lock) is taken around it."""
        if not self._made:
            self._make()
        with self._transaction(write) as cur:
            yield cur

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[ViewCursor]:
        if self._pool is not None:
            from psycopg.rows import tuple_row

            with self._pool.connection() as conn, conn.transaction() if write else nullcontext():
                yield ViewCursor(conn.cursor(row_factory=tuple_row), "postgres")
            return
        lite = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            if write:
                lite.execute("BEGIN IMMEDIATE")
            yield ViewCursor(lite.cursor(), "sqlite")
            if write:
                lite.execute("COMMIT")
        except BaseException:
            if write:
                lite.execute("ROLLBACK")
            raise
        finally:
            lite.close()

    def _make(self) -> None:
        """The control store's schema and tables, made once per process, before its first use."""
        with self._making:
            if self._made:
                return
            if self._pool is not None:
                with self._pool.connection() as conn:
                    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.settings.control_schema}"')
            with self._transaction(write=True) as cur:
                for statement in DDL:
                    cur.execute(statement)
                _add_scope_column(cur)
            self._made = True

    # ---- tenants ---------------------------------------------------------------
    def tenant(self, tenant_id: str) -> dict | None:
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT tenant_id, name, created_at FROM tenants WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
        return {"id": row[0], "name": row[1], "created_at": row[2]} if row else None

    def tenants(self) -> list[dict]:
        with self.transaction() as cur:
            rows = cur.execute("SELECT tenant_id, name, created_at FROM tenants ORDER BY tenant_id").fetchall()
        return [{"id": t, "name": n, "created_at": c} for t, n, c in rows]

    def add_tenant(self, tenant_id: str, name: str, holder: str) -> str | None:
        """Record a provisioned tenant and its first token; None if the id is taken."""
        token = new_token()
        now = datetime.now(UTC).isoformat()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING",
                (tenant_id, name, now),
            )
            if cur.rowcount != 1:
                return None
            cur.execute(
                "INSERT INTO tokens (token_hash, tenant_id, role, holder, created_at) VALUES (?, ?, ?, ?, ?)",
                (token_hash(token), tenant_id, "federation_admin", holder, now),
            )
        return token

    # ---- tokens ----------------------------------------------------------------
    def issue_token(self, tenant_id: str, role: str, holder: str, scope_unit_id: str | None = None) -> str:
        """A new token for the tenant (scoped to a unit, or the whole tenant); only its hash is
        kept, so it is shown once."""
        token = new_token()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO tokens (token_hash, tenant_id, role, holder, created_at, scope_unit_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (token_hash(token), tenant_id, role, holder, datetime.now(UTC).isoformat(), scope_unit_id),
            )
        return token

    def issue_national_token(self, holder: str) -> tuple[str, dict]:
        """A national principal's token (tenant of its own: none); shown once, like a tenant's."""
        token = new_token()
        now = datetime.now(UTC).isoformat()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO tokens (token_hash, tenant_id, role, holder, created_at) VALUES (?, ?, ?, ?, ?)",
                (token_hash(token), NATIONAL_TOKENS, "national", holder, now),
            )
        issued = {"id": token_hash(token)[:TOKEN_ID_LENGTH], "role": "national", "holder": holder, "created_at": now}
        return token, issued

    def tokens(self, tenant_id: str) -> list[dict]:
        """A tenant's tokens, without secrets; a token's id is the start of its hash."""
        with self.transaction() as cur:
            rows = cur.execute(
                "SELECT token_hash, role, holder, created_at, revoked_at, scope_unit_id FROM tokens"
                " WHERE tenant_id = ? ORDER BY created_at",
                (tenant_id,),
            ).fetchall()
        return [
            {"id": h[:TOKEN_ID_LENGTH], "role": r, "holder": who, "created_at": c, "revoked_at": rv, "scope_unit_id": u}
            for h, r, who, c, rv, u in rows
        ]

    def revoke_token(self, tenant_id: str, token_id: str) -> dict | None:
        """Revoke a token by its id; None if the tenant has no such token."""
        with self.transaction() as cur:
            rows = cur.execute("SELECT token_hash FROM tokens WHERE tenant_id = ?", (tenant_id,)).fetchall()
            match = [h for (h,) in rows if h[:TOKEN_ID_LENGTH] == token_id]
            if len(match) != 1:
                return None
            cur.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), match[0]),
            )
        with self._known_lock:
            self._known.pop(match[0], None)
        return next(t for t in self.tokens(tenant_id) if t["id"] == token_id)

    def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        digest = token_hash(token)
        if hmac.compare_digest(digest, self._admin_hash):
            return Principal(actor="platform-admin", role="platform_admin")
        now = self.clock()
        with self._known_lock:
            known = self._known.get(digest)
            if known is not None and now - known[0] < TOKEN_RECHECK_SECONDS:
                self._known.move_to_end(digest)
                return known[1]
        with self.transaction(write=False) as cur:
            row = cur.execute(
                "SELECT tenant_id, role, holder, scope_unit_id FROM tokens WHERE token_hash = ? AND revoked_at IS NULL",
                (digest,),
            ).fetchone()
        with self._known_lock:
            if row is None:  # unknown or revoked tokens are not remembered: each is looked up
                self._known.pop(digest, None)
                return None
            found = Principal(actor=row[2], role=row[1], tenant_id=row[0] or None, scope_unit_id=row[3])
            self._known[digest] = (now, found)
            self._known.move_to_end(digest)
            while len(self._known) > TOKENS_KEPT:
                self._known.popitem(last=False)
        return found

    # ---- failed authentications ------------------------------------------------
    def auth_failed(self, address: str, now: float, window: float) -> tuple[int, float]:
        """Count a failed authentication from ``address`` at ``now``: the failures of its window and
        when the window began. A window begins with the first failure after the last one passed."""
        since = now - window
        with self.transaction() as cur:
            row = cur.execute(
                "INSERT INTO auth_failures (address, window_start, failures) VALUES (?, ?, 1)"
                " ON CONFLICT (address) DO UPDATE SET"
                " failures = CASE WHEN auth_failures.window_start > ? THEN auth_failures.failures + 1 ELSE 1 END,"
                " window_start = CASE WHEN auth_failures.window_start > ? THEN auth_failures.window_start"
                " ELSE excluded.window_start END"
                " RETURNING failures, window_start",
                (address, now, since, since),
            ).fetchone()
            assert row is not None  # an upsert RETURNING returns its row
            failures, started = row
            if failures == 1:  # a new window: forget the addresses whose windows have passed
                cur.execute("DELETE FROM auth_failures WHERE window_start <= ?", (since,))
        return failures, started

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
