"""Liveness and readiness probes (no token)."""

from __future__ import annotations

from persistence.connections import DatabaseUnreachable
from service.auth import platform
from service.bodies import Blueprint
from service.errors import unavailable
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
    """The control store answers

    Else 503 (within about UNIONLEDGER_DB_TIMEOUT_SECONDS on PostgreSQL), saying what failed.
    """
    settings = platform().settings
    try:
        platform().registry.tenants()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return unavailable(f"control store unreachable: {_failure(settings, exc)}")
    return {"status": "ready", "store": settings.backend}


def _failure(settings: Settings, exc: Exception) -> str:
    """What failed, naming the database by host and port alone: an error's own text may quote
    the connection string, password included."""
    if settings.backend == "postgres":
        where = "PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}".format(**settings.postgres())
    else:
        where = f"the SQLite file in {settings.data_dir}"
    if isinstance(exc, DatabaseUnreachable):
        return f"{where} gave no connection within {settings.db_timeout} s"
    return f"{where} failed ({type(exc).__name__})"
