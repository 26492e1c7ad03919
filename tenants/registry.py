"""The control store: which tenants exist, and the hashes of their tokens.

Tokens are random and shown once; only their SHA-256 is kept, so a stolen
control store gives no usable token. The platform admin token comes from
``UNIONLEDGER_ADMIN_TOKEN`` or else a file in the data folder, made (0600) on the first start.

A process trusts a token it has found valid for ``TOKEN_RECHECK_SECONDS`` before asking the
control store again: a revocation is refused at once by the process that made it, and by
every other gunicorn worker within that time.

Users log in with a password (only its argon2id hash is kept, tenants/passwords.py) and get a
session: a token kept as tokens are, by its hash, that expires after ``SESSION_HOURS`` and dies
with its user's deactivation. Who got in and who was refused is appended to the access log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
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


def _add_server_column(cur: ViewCursor) -> None:
    """Tenants provisioned before servers were named live on the control store's server: the
    column is added, null, which reads as that server."""
    if cur.dialect == "postgres":
        cur.execute("ALTER TABLE tenants ADD COLUMN IF NOT EXISTS server TEXT")
    elif "server" not in {row[1] for row in cur.execute("PRAGMA table_info(tenants)").fetchall()}:
        cur.execute("ALTER TABLE tenants ADD COLUMN server TEXT")


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
    user: str | None = None  # the user whose session this is; None: a token

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
        self._sessions_known: OrderedDict[str, tuple[float, Principal, float]] = OrderedDict()  # ... and expiry
        self.clock = time.monotonic
        self.wall_clock: Callable[[], float] = time.time  # sessions' expiry and failed logins' windows
        if settings.backend == "postgres":
            from persistence.connections import Pool, connect_kwargs, usable

            schema = settings.control_schema

            def on_schema(conn) -> None:  # once per connection, not once per transaction
                if not settings.pooled:  # through a transaction pooler, each transaction sets it (_transaction)
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

            pooled = self.settings.pooled
            with self._pool.connection() as conn, conn.transaction() if write or pooled else nullcontext():
                cur = ViewCursor(conn.cursor(row_factory=tuple_row), "postgres")
                if pooled:
                    cur.execute(f'SET LOCAL search_path TO "{self.settings.control_schema}"')
                yield cur
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
                for statement in USERS_DDL:
                    cur.execute(statement)
                for statement in DDL:
                    cur.execute(statement)
                _add_scope_column(cur)
                _add_server_column(cur)
            self._made = True

    # ---- tenants ---------------------------------------------------------------
    def tenant(self, tenant_id: str) -> dict | None:
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT tenant_id, name, created_at, server FROM tenants WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
        return self._tenant_row(row) if row else None

    def tenants(self) -> list[dict]:
        with self.transaction() as cur:
            rows = cur.execute("SELECT tenant_id, name, created_at, server FROM tenants ORDER BY tenant_id").fetchall()
        return [self._tenant_row(row) for row in rows]

    def _tenant_row(self, row: tuple) -> dict:
        tenant_id, name, created_at, server = row
        tenant = {"id": tenant_id, "name": name, "created_at": created_at}
        if self.settings.backend == "postgres":
            tenant["server"] = server or self.settings.default_server
        return tenant

    def server_of(self, tenant_id: str) -> str | None:
        """The PostgreSQL server the tenant lives on (None on SQLite, or for a tenant not registered
        yet: one being provisioned, on the server its provisioning names)."""
        if self.settings.backend != "postgres":
            return None
        tenant = self.tenant(tenant_id)
        return tenant["server"] if tenant else None

    def place(self, tenant_id: str, server: str) -> None:
        """Record that the tenant lives on ``server`` now (the end of a move)."""
        with self.transaction() as cur:
            cur.execute("UPDATE tenants SET server = ? WHERE tenant_id = ?", (server, tenant_id))
            if cur.rowcount != 1:
                raise LookupError(f"tenant {tenant_id!r} is not registered")

    def add_tenant(self, tenant_id: str, name: str, holder: str, server: str | None = None) -> str | None:
        """Record a provisioned tenant, the server it lives on, and its first token; None if the id is taken."""
        token = new_token()
        now = datetime.now(UTC).isoformat()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO tenants (tenant_id, name, created_at, server) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (tenant_id) DO NOTHING",
                (tenant_id, name, now, server),
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
        if token.startswith(SESSION_PREFIX):
            return self._session(digest)
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

    # ---- users -------------------------------------------------------------------
    def users(self, tenant_id: str) -> list[dict]:
        """A tenant's users, without their password hashes."""
        with self.transaction(write=False) as cur:
            rows = cur.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ? ORDER BY username", (tenant_id,)
            ).fetchall()
        return [_user(row) for row in rows]

    def user(self, tenant_id: str, username: str) -> dict | None:
        with self.transaction(write=False) as cur:
            row = cur.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ? AND username = ?", (tenant_id, username)
            ).fetchone()
        return _user(row) if row else None

    def login_user(self, tenant_id: str, username: str) -> tuple[dict, str] | None:
        """An active user and its password hash, for a login; None if there is none."""
        with self.transaction(write=False) as cur:
            row = cur.execute(
                f"SELECT {USER_COLUMNS}, password_hash FROM users"
                " WHERE tenant_id = ? AND username = ? AND deactivated_at IS NULL",
                (tenant_id, username),
            ).fetchone()
        return (_user(row[:-1]), row[-1]) if row else None

    def add_user(self, tenant_id: str, user: dict, password_hash: str, *, actor: str, address: str | None) -> bool:
        """Record a user (``username``, ``full_name``, ``role``, ``scope_unit_id``); False if the
        tenant has that username already."""
        now = _instant(self.wall_clock())
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO users (tenant_id, username, full_name, role, scope_unit_id, password_hash, created_at,"
                " password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, username) DO NOTHING",
                (
                    tenant_id,
                    user["username"],
                    user["full_name"],
                    user["role"],
                    user["scope_unit_id"],
                    password_hash,
                    now,
                    now,
                ),
            )
            if cur.rowcount != 1:
                return False
            detail = {"role": user["role"], "scope_unit_id": user["scope_unit_id"]}
            self._append(cur, tenant_id, actor, "user_created", user["username"], address, detail)
        return True

    def set_password(
        self, tenant_id: str, username: str, password_hash: str, *, actor: str, address: str | None, keep: str | None
    ) -> bool:
        """A new password for an active user; its sessions end, but for the one whose hash is
        ``keep`` (the user's own, changing it). False if there is no such active user."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE users SET password_hash = ?, password_changed_at = ?"
                " WHERE tenant_id = ? AND username = ? AND deactivated_at IS NULL",
                (password_hash, _instant(self.wall_clock()), tenant_id, username),
            )
            if cur.rowcount != 1:
                return False
            ended = self._end_sessions(cur, tenant_id, username, keep)
            self._append(cur, tenant_id, actor, "password_changed", username, address, {"sessions_ended": len(ended)})
        self._forget(ended)
        return True

    def renew_hash(self, tenant_id: str, username: str, old: str, new: str) -> None:
        """The same password, hashed with the hasher's current parameters (at a login)."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE users SET password_hash = ? WHERE tenant_id = ? AND username = ? AND password_hash = ?",
                (new, tenant_id, username, old),
            )

    def deactivate_user(self, tenant_id: str, username: str, *, actor: str, address: str | None) -> bool:
        """Deactivate an active user and end its sessions; False if there is no such active user."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE users SET deactivated_at = ? WHERE tenant_id = ? AND username = ? AND deactivated_at IS NULL",
                (_instant(self.wall_clock()), tenant_id, username),
            )
            if cur.rowcount != 1:
                return False
            ended = self._end_sessions(cur, tenant_id, username, None)
            self._append(cur, tenant_id, actor, "user_deactivated", username, address, {"sessions_ended": len(ended)})
        self._forget(ended)
        return True

    # ---- sessions ----------------------------------------------------------------
    def open_session(self, tenant_id: str, username: str) -> tuple[str, float]:
        """A new session of the user: its token (shown once) and when it expires."""
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = self.wall_clock()
        expires = now + SESSION_HOURS * 3600
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO sessions (token_hash, tenant_id, username, created_at, expires) VALUES (?, ?, ?, ?, ?)",
                (token_hash(token), tenant_id, username, _instant(now), expires),
            )
            cur.execute("DELETE FROM sessions WHERE expires < ?", (now - 86400,))  # expired a day ago: gone
        return token, expires

    def end_session(self, token: str) -> bool:
        """End one session (a logout); False if the token is no open session."""
        digest = token_hash(token)
        with self.transaction() as cur:
            cur.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (_instant(self.wall_clock()), digest),
            )
            ended = cur.rowcount == 1
        self._forget([digest])
        return ended

    def _session(self, digest: str) -> Principal | None:
        """The principal of a session that has not expired, of a user still active. Remembered as
        tokens are (``TOKEN_RECHECK_SECONDS``), with its expiry checked at each use."""
        now, wall = self.clock(), self.wall_clock()
        with self._known_lock:
            known = self._sessions_known.get(digest)
            if known is not None and now - known[0] < TOKEN_RECHECK_SECONDS and wall < known[2]:
                self._sessions_known.move_to_end(digest)
                return known[1]
        with self.transaction(write=False) as cur:
            row = cur.execute(
                "SELECT s.tenant_id, u.username, u.role, u.scope_unit_id, s.expires FROM sessions s"
                " JOIN users u ON u.tenant_id = s.tenant_id AND u.username = s.username"
                " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires > ? AND u.deactivated_at IS NULL",
                (digest, wall),
            ).fetchone()
        with self._known_lock:
            if row is None:
                self._sessions_known.pop(digest, None)
                return None
            tenant_id, username, role, scope, expires = row
            found = Principal(actor=username, role=role, tenant_id=tenant_id, scope_unit_id=scope, user=username)
            self._sessions_known[digest] = (now, found, float(expires))
            self._sessions_known.move_to_end(digest)
            while len(self._sessions_known) > TOKENS_KEPT:
                self._sessions_known.popitem(last=False)
        return found

    def _end_sessions(self, cur: ViewCursor, tenant_id: str, username: str, keep: str | None) -> list[str]:
        rows = cur.execute(
            "SELECT token_hash FROM sessions WHERE tenant_id = ? AND username = ? AND revoked_at IS NULL",
            (tenant_id, username),
        ).fetchall()
        ended = [h for (h,) in rows if h != keep]
        for digest in ended:
            cur.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ?", (_instant(self.wall_clock()), digest)
            )
        return ended

    def _forget(self, digests: list[str]) -> None:
        """This process stops trusting these tokens at once (the others within TOKEN_RECHECK_SECONDS)."""
        with self._known_lock:
            for digest in digests:
                self._sessions_known.pop(digest, None)

    # ---- failed logins, per account ------------------------------------------------
    def login_failed(self, tenant_id: str, username: str, now: float, window: float) -> tuple[int, float]:
        """Count a failed login for an account (one that exists or not, alike): the failures of its
        window and when the window began, as ``auth_failed`` counts an address's."""
        since = now - window
        with self.transaction() as cur:
            row = cur.execute(
                "INSERT INTO login_failures (tenant_id, username, window_start, failures) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (tenant_id, username) DO UPDATE SET"
                " failures = CASE WHEN login_failures.window_start > ? THEN login_failures.failures + 1 ELSE 1 END,"
                " window_start = CASE WHEN login_failures.window_start > ? THEN login_failures.window_start"
                " ELSE excluded.window_start END"
                " RETURNING failures, window_start",
                (tenant_id, username, now, since, since),
            ).fetchone()
            assert row is not None  # an upsert RETURNING returns its row
            failures, started = row
            if failures == 1:  # a new window: forget the accounts whose windows have passed
                cur.execute("DELETE FROM login_failures WHERE window_start <= ?", (since,))
        return failures, started

    def login_failures(self, tenant_id: str, username: str, now: float, window: float) -> tuple[int, float]:
        """The failed logins of the account's window that has not passed yet (0 if none), and its start."""
        with self.transaction(write=False) as cur:
            row = cur.execute(
                "SELECT failures, window_start FROM login_failures"
                " WHERE tenant_id = ? AND username = ? AND window_start > ?",
                (tenant_id, username, now - window),
            ).fetchone()
        return (row[0], row[1]) if row else (0, now)

    def login_succeeded(self, tenant_id: str, username: str) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM login_failures WHERE tenant_id = ? AND username = ?", (tenant_id, username))

    # ---- the access log ------------------------------------------------------------
    def record_access(
        self,
        tenant_id: str,
        event: str,
        *,
        actor: str,
        subject: str | None = None,
        address: str | None = None,
        detail: dict | None = None,
    ) -> None:
        """Append an entry to the tenant's access log. Never a token or a password in it."""
        with self.transaction() as cur:
            self._append(cur, tenant_id, actor, event, subject, address, detail or {})

    def _append(
        self,
        cur: ViewCursor,
        tenant_id: str,
        actor: str,
        event: str,
        subject: str | None,
        address: str | None,
        detail: dict,
    ) -> None:
        if cur.dialect == "postgres":  # one writer at a time: positions without gaps, in the order of commits
            cur.execute("LOCK TABLE access_log IN SHARE ROW EXCLUSIVE MODE")
        cur.execute(
            "INSERT INTO access_log (tenant_id, position, recorded_at, actor, event, subject, address, detail)"
            " SELECT ?, COALESCE(MAX(position), 0) + 1, ?, ?, ?, ?, ?, ? FROM access_log WHERE tenant_id = ?",
            (
                tenant_id,
                _instant(self.wall_clock()),
                actor,
                event,
                subject,
                address,
                json.dumps(detail, ensure_ascii=False),
                tenant_id,
            ),
        )

    def access_log(self, tenant_id: str, after: int, limit: int) -> list[dict]:
        """The tenant's access log after ``position``, oldest first."""
        with self.transaction(write=False) as cur:
            rows = cur.execute(
                "SELECT position, recorded_at, actor, event, subject, address, detail FROM access_log"
                " WHERE tenant_id = ? AND position > ? ORDER BY position LIMIT ?",
                (tenant_id, after, limit),
            ).fetchall()
        return [
            {
                "position": position,
                "recorded_at": recorded_at,
                "tenant": tenant_id,
                "actor": actor,
                "event": event,
                "subject": subject,
                "address": address,
                "detail": json.loads(detail),
            }
            for position, recorded_at, actor, event, subject, address, detail in rows
        ]

    def pool_use(self) -> dict[str, int] | None:
        """The control store's connections in this process (None on SQLite): held, in use, requests waiting."""
        if self._pool is None:
            return None
        stats = self._pool.get_stats()
        size = stats.get("pool_size", 0)
        return {
            "size": size,
            "in_use": size - stats.get("pool_available", 0),
            "waiting": stats.get("requests_waiting", 0),
        }

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


def _instant(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _user(row: tuple) -> dict:
    username, full_name, role, scope_unit_id, created_at, password_changed_at, deactivated_at = row
    return {
        "username": username,
        "full_name": full_name,
        "role": role,
        "scope_unit_id": scope_unit_id,
        "created_at": created_at,
        "password_changed_at": password_changed_at,
        "deactivated_at": deactivated_at,
        "active": deactivated_at is None,
    }


# ---- users, sessions and the access log: their settings and tables -----------------------
SESSION_HOURS = 8
SESSION_PREFIX = "uls_"  # a session's token; a token's is "ul_", so the two are told apart before any lookup
# Users, their sessions, their failed logins (per account), and the access log: tables of their own.
USERS_DDL = (
    "CREATE TABLE IF NOT EXISTS users (tenant_id TEXT NOT NULL, username TEXT NOT NULL, full_name TEXT NOT NULL,"
    " role TEXT NOT NULL, scope_unit_id TEXT, password_hash TEXT NOT NULL, created_at TEXT NOT NULL,"
    " password_changed_at TEXT NOT NULL, deactivated_at TEXT, PRIMARY KEY (tenant_id, username))",
    # A session is a token (its hash) of a user's, until ``expires`` (seconds since the epoch)
    "CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,"
    " username TEXT NOT NULL, created_at TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, revoked_at TEXT)",
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (tenant_id, username)",
    "CREATE TABLE IF NOT EXISTS login_failures (tenant_id TEXT NOT NULL, username TEXT NOT NULL,"
    " window_start DOUBLE PRECISION NOT NULL, failures INTEGER NOT NULL, PRIMARY KEY (tenant_id, username))",
    # Appended to, never changed: positions count up from 1 in each tenant, without gaps
    "CREATE TABLE IF NOT EXISTS access_log (tenant_id TEXT NOT NULL, position BIGINT NOT NULL,"
    " recorded_at TEXT NOT NULL, actor TEXT NOT NULL, event TEXT NOT NULL, subject TEXT, address TEXT,"
    " detail TEXT NOT NULL, PRIMARY KEY (tenant_id, position))",
)
USER_COLUMNS = "username, full_name, role, scope_unit_id, created_at, password_changed_at, deactivated_at"
