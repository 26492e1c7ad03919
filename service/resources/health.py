"""Liveness and readiness probes (no token)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from persistence.connections import DatabaseUnreachable
from service.auth import platform
from service.bodies import Blueprint
from service.errors import unavailable
from service.metrics import exposition
from tenants.settings import Settings

blp = Blueprint("health", __name__, description="Probes")


@blp.route("/healthz")
@blp.response(200)
def healthz():
    """The process is up"""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def readyz():
    """The control store and every PostgreSQL server answer

    Else 503 (within about UNIONLEDGER_DB_TIMEOUT_SECONDS on PostgreSQL), saying what failed:
    the control store, and each server by its name (UNIONLEDGER_DATABASE_URLS) that gives no connection.
    """
    settings = platform().settings
    failures = []
    try:
        platform().registry.tenants()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        failures.append(f"control store unreachable: {_failure(settings, exc)}")
    servers = _servers(settings)  # the control store's own server is known to answer if the control store does
    failures += [f"server {name} unreachable: {failure}" for name, failure in servers.items() if failure]
    if failures:
        return unavailable("; ".join(failures))
    answer: dict = {"status": "ready", "store": settings.backend}
    if settings.server_urls:
        answer["servers"] = dict.fromkeys(settings.server_urls, "ready")
    return answer


def _servers(settings: Settings) -> dict[str, str | None]:
    """Each PostgreSQL server's failure (None: it answers), tried together on connections of
    their own: a server that tenants live on may be away while the control store's answers."""
    names = [name for name in settings.server_urls if name != settings.default_server]

    def attempt(name: str) -> str | None:
        try:
            options = settings.connect_options()
            with psycopg.connect(settings.conninfo(name), connect_timeout=settings.db_timeout, **options) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return _failure(settings, exc, name)
        return None

    if len(names) <= 1:
        return {name: attempt(name) for name in names}
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return dict(zip(names, pool.map(attempt, names)))


def _failure(settings: Settings, exc: Exception, server: str | None = None) -> str:
    """What failed, naming the database by host and port alone: an error's own text may quote
    the connection string, password included."""
    if settings.backend == "postgres":
        where = f"PostgreSQL at {settings.address(server)}"
    else:
        where = f"the SQLite file in {settings.data_dir}"
    if isinstance(exc, DatabaseUnreachable):
        return f"{where} gave no connection within {settings.db_timeout} s"
    return f"{where} failed ({type(exc).__name__})"


@blp.route("/metrics")
@blp.response(200, content_type="text/plain")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
def metrics():
    """Metrics in the Prometheus text format

    Requests by route and status with their latency, commands per tenant, how far each tenant's
    views and hash chain trail its ledger, pool use per server. Read with the platform admin
    token or the token of UNIONLEDGER_METRICS_TOKEN.
    """
    return exposition(platform())
