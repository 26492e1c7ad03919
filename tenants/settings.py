"""Configuration from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlparse

TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SERVER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
DEFAULT_SERVER = "main"  # the one server's name where only UNIONLEDGER_DATABASE_URL is set
# The national ledger's store: kept like a tenant's, under a name no tenant id can take.
NATIONAL_STORE = "_national"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # PostgreSQL (the control store's server); None: embedded SQLite files
    # The PostgreSQL servers tenants are placed on, by name (UNIONLEDGER_DATABASE_URLS); empty: the one above
    servers: tuple[tuple[str, str], ...] = ()
    data_dir: Path = Path("data")
    admin_token: str | None = None
    metrics_token: str | None = None  # a scraper's token for /metrics (the admin token reads it too)
    max_open_tenants: int = 16
    pool_size: int = 2
    pool_overflow: int = 3
    control_schema: str = "unionledger_control"
    warm_columns: bool = False  # read a tenant's indicator columns in the background when it is opened
    lock_wait_seconds: float = 30.0  # how long a request waits for a tenant busy with an import or rebuild
    db_timeout: int = 3  # seconds a request waits for a PostgreSQL connection before answering 503
    max_body_bytes: int = 1 << 20  # a JSON request body (413 beyond)
    max_upload_bytes: int = 64 << 20  # an import's whole multipart request (413 beyond)
    import_errors: int = 100  # bad rows an import's refusal lists (all are counted)
    auth_failures: int = 20  # failed authentications from one address within the window, then 429
    auth_window_seconds: int = 60
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For names the client
    # "transaction": the servers are reached through a pooler in transaction pooling mode (PgBouncer),
    # so nothing is kept on a server connection between transactions (docs/pgbouncer.md)
    pooler: str | None = None
    # how often a worker finishes the transfers between provinces a crash cut short (0: only the next
    # call or `unionledger finish-transfers` does)
    transfer_finish_seconds: float = 30.0

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Settings:
        env = os.environ if environ is None else environ
        servers = parse_servers(env)
        database_url = env.get("UNIONLEDGER_DATABASE_URL") or None
        if servers and database_url is None:
            database_url = servers[0][1]  # the control store lives on the first server named
        elif servers and database_url not in {url for _name, url in servers}:
            raise ValueError("UNIONLEDGER_DATABASE_URL must be one of the servers of UNIONLEDGER_DATABASE_URLS")
        return cls(
            database_url=database_url,
            servers=servers,
            data_dir=Path(env.get("UNIONLEDGER_DATA_DIR") or "data"),
            admin_token=env.get("UNIONLEDGER_ADMIN_TOKEN") or None,
            metrics_token=env.get("UNIONLEDGER_METRICS_TOKEN") or None,
            max_open_tenants=int(env.get("UNIONLEDGER_MAX_OPEN_TENANTS") or 16),
            pool_size=int(env.get("UNIONLEDGER_POOL_SIZE") or 2),
            pool_overflow=int(env.get("UNIONLEDGER_POOL_OVERFLOW") or 3),
            control_schema=env.get("UNIONLEDGER_CONTROL_SCHEMA") or "unionledger_control",
            warm_columns=env.get("UNIONLEDGER_WARM_COLUMNS") == "1",
            lock_wait_seconds=float(env.get("UNIONLEDGER_LOCK_WAIT_SECONDS") or 30),
            db_timeout=max(1, int(env.get("UNIONLEDGER_DB_TIMEOUT_SECONDS") or 3)),
            max_body_bytes=_whole(env, "UNIONLEDGER_MAX_BODY_BYTES", 1 << 20, 1),
            max_upload_bytes=_whole(env, "UNIONLEDGER_MAX_UPLOAD_BYTES", 64 << 20, 1),
            import_errors=_whole(env, "UNIONLEDGER_IMPORT_ERRORS", 100, 1),
            auth_failures=_whole(env, "UNIONLEDGER_AUTH_FAILURES", 20, 1),
            auth_window_seconds=_whole(env, "UNIONLEDGER_AUTH_WINDOW_SECONDS", 60, 1),
            trusted_proxies=_whole(env, "UNIONLEDGER_TRUSTED_PROXIES", 0, 0),
            pooler=_pooler(env.get("UNIONLEDGER_POOLER")),
            transfer_finish_seconds=float(env.get("UNIONLEDGER_TRANSFER_FINISH_SECONDS") or 30),
        )

    @property
    def backend(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    @property
    def pooled(self) -> bool:
        """Whether a transaction may run on another server connection than the one before it."""
        return self.pooler == "transaction"

    def connect_options(self) -> dict[str, Any]:
        """What every connection is opened with beyond its address: through a transaction pooler,
        no server-side prepared statements (psycopg prepares a statement run five times, and the
        library some at once; the next transaction may be on a connection that never saw them)."""
        return {"prepare_threshold": None} if self.pooled else {}

    @property
    def server_urls(self) -> dict[str, str]:
        """Every PostgreSQL server by name (none on SQLite)."""
        if self.servers:
            return dict(self.servers)
        return {DEFAULT_SERVER: self.database_url} if self.database_url else {}

    @property
    def default_server(self) -> str:
        """The control store's server: the national ledger's, and every tenant's placed before servers were named."""
        for name, url in self.servers:
            if url == self.database_url:
                return name
        return DEFAULT_SERVER

    def server_url(self, server: str | None = None) -> str | None:
        if server is None or server == self.default_server:
            return self.database_url
        try:
            return self.server_urls[server]
        except KeyError:
            raise UnknownServer(server) from None

    def postgres(self, server: str | None = None) -> dict[str, str]:
        """The URL's parts (the control store's server, or the one named), as the eventsourcing
        library's POSTGRES_* settings. A URL naming several hosts (a primary and its standbys,
        ``postgresql://h1:5432,h2:5432/db?target_session_attrs=read-write``) gives libpq's lists,
        ``h1,h2`` and ``5432,5432``; its query's parameters go in POSTGRES_CONNECT_OPTIONS."""
        url = server_address(self.server_url(server) or "")
        return {
            "POSTGRES_DBNAME": url.dbname,
            "POSTGRES_HOST": ",".join(host for host, _port in url.hosts),
            "POSTGRES_PORT": ",".join(port for _host, port in url.hosts),
            "POSTGRES_USER": url.user,
            "POSTGRES_PASSWORD": url.password,
            "POSTGRES_CONNECT_OPTIONS": urlencode(url.options),
        }

    def address(self, server: str | None = None) -> str:
        """The server's hosts and ports, as an operator reads them (never its password)."""
        return ",".join(f"{host}:{port}" for host, port in server_address(self.server_url(server) or "").hosts)

    def conninfo(self, server: str | None = None) -> str:
        p = self.postgres(server)
        parts = {
            "dbname": p["POSTGRES_DBNAME"],
            "host": p["POSTGRES_HOST"],
            "port": p["POSTGRES_PORT"],
            "user": p["POSTGRES_USER"],
        }
        if p["POSTGRES_PASSWORD"]:
            parts["password"] = p["POSTGRES_PASSWORD"]
        parts.update(parse_qsl(p["POSTGRES_CONNECT_OPTIONS"]))
        return " ".join(f"{k}='{v}'" for k, v in parts.items())

    @property
    def national_schema(self) -> str:
        """The national ledger's schema: one per deployment, beside its control schema."""
        return f"{self.control_schema}_national"

    def application_name(self, tenant_id: str | None = None) -> str:
        """What this deployment's connections call themselves on the server (pg_stat_activity):
        its control schema, and the tenant a store's connection serves."""
        return "/".join(["unionledger", self.control_schema] + ([tenant_id] if tenant_id else []))


@dataclass(frozen=True)
class ServerAddress:
    """A PostgreSQL URL's parts: libpq takes several hosts, tried in turn (``target_session_attrs``
    picks the one that takes writes), and parameters in its query."""

    dbname: str
    hosts: tuple[tuple[str, str], ...]
    user: str
    password: str
    options: tuple[tuple[str, str], ...]


def server_address(url: str) -> ServerAddress:
    """``postgresql://user:password@host:port[,host:port...]/dbname[?parameter=value&...]``."""
    parsed = urlparse(url)
    userinfo, _at, hostlist = parsed.netloc.rpartition("@")
    user, _colon, password = userinfo.partition(":")
    hosts = []
    for entry in hostlist.split(",") if hostlist else [""]:
        if entry.startswith("["):  # an IPv6 address: [::1]:5432
            host, _bracket, rest = entry[1:].partition("]")
            port = rest.lstrip(":")
        else:
            host, _colon, port = entry.partition(":")
        hosts.append((unquote(host) or "127.0.0.1", port or "5432"))
    return ServerAddress(
        dbname=unquote(parsed.path.lstrip("/")) or "postgres",
        hosts=tuple(hosts),
        user=unquote(user) or "postgres",
        password=unquote(password),
        options=tuple(parse_qsl(parsed.query)),
    )


class UnknownServer(KeyError):
    """A server name no configuration names (a tenant placed on a server since removed from it)."""


def parse_servers(env) -> tuple[tuple[str, str], ...]:
    """The servers of ``UNIONLEDGER_DATABASE_URLS`` (``name=url`` entries, separated by commas,
    spaces or lines) or of the file ``UNIONLEDGER_DATABASE_URLS_FILE`` names (one entry a line,
    ``#`` comments); a wrong entry stops the start, naming it."""
    text = env.get("UNIONLEDGER_DATABASE_URLS") or ""
    path = env.get("UNIONLEDGER_DATABASE_URLS_FILE")
    if path:
        text += "\n" + "\n".join(line.split("#", 1)[0] for line in Path(path).read_text().splitlines())
    servers: dict[str, str] = {}
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        name, sep, url = entry.partition("=")
        if not sep or not SERVER_NAME.match(name) or not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"a server is named as name=postgresql://..., with a lowercase name: not {entry!r}")
        if name in servers:
            raise ValueError(f"server {name!r} is named twice")
        servers[name] = url
    return tuple(servers.items())


def _pooler(raw: str | None) -> str | None:
    value = (raw or "").strip().lower() or None
    if value not in (None, "transaction"):
        raise ValueError(
            f"UNIONLEDGER_POOLER must be 'transaction' (a pooler in transaction mode) or unset, not {raw!r}"
        )
    return value


def _whole(env, name: str, default: int, least: int) -> int:
    """A whole-number setting; a wrong one stops the start, naming the variable."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")
    return value


def schema_name(tenant_id: str) -> str:
    """One PostgreSQL schema per tenant; tenant ids have no underscores, so this is one-to-one."""
    return "t_" + tenant_id.replace("-", "_")


def store_schema(settings: Settings, store_id: str) -> str:
    """The schema of a tenant's store, or of the national ledger's."""
    return settings.national_schema if store_id == NATIONAL_STORE else schema_name(store_id)
