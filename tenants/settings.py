"""Configuration from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# The national ledger's store: kept like a tenant's, under a name no tenant id can take.
NATIONAL_STORE = "_national"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # PostgreSQL; None: embedded SQLite files
    data_dir: Path = Path("data")
    admin_token: str | None = None
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

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("UNIONLEDGER_DATABASE_URL") or None,
            data_dir=Path(env.get("UNIONLEDGER_DATA_DIR") or "data"),
            admin_token=env.get("UNIONLEDGER_ADMIN_TOKEN") or None,
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
        )

    @property
    def backend(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    def postgres(self) -> dict[str, str]:
        """The URL's parts, as the eventsourcing library's POSTGRES_* settings."""
        url = urlparse(self.database_url or "")
        return {
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
        }

    def conninfo(self) -> str:
        p = self.postgres()
        parts = {
            "dbname": p["POSTGRES_DBNAME"],
            "host": p["POSTGRES_HOST"],
            "port": p["POSTGRES_PORT"],
            "user": p["POSTGRES_USER"],
        }
        if p["POSTGRES_PASSWORD"]:
            parts["password"] = p["POSTGRES_PASSWORD"]
        return " ".join(f"{k}='{v}'" for k, v in parts.items())

    @property
    def national_schema(self) -> str:
        """The national ledger's schema: one per deployment, beside its control schema."""
        return f"{self.control_schema}_national"

    def application_name(self, tenant_id: str | None = None) -> str:
        """What this deployment's connections call themselves on the server (pg_stat_activity):
        its control schema, and the tenant a store's connection serves."""
        return "/".join(["unionledger", self.control_schema] + ([tenant_id] if tenant_id else []))


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
