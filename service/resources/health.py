"""Liveness and readiness probes (no token)."""

from __future__ import annotations

from service.auth import platform
from service.bodies import Blueprint
from service.errors import problem

blp = Blueprint("health", __name__, description="Probes")


@blp.route("/healthz")
@blp.response(200)
def healthz():
    """The process is up"""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200)
def readyz():
    """The control store answers"""
    try:
        platform().registry.tenants()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return problem(503, "Not ready", f"the control store does not answer: {type(exc).__name__}")
    return {"status": "ready", "store": platform().settings.backend}
