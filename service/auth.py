"""Bearer tokens: who is asking, may they call this, and which tenant's store they may use."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import NoReturn

from flask import current_app, g, request
from flask_smorest import abort

from application.register import Register
from service import access, limits
from service.throttle import AuthThrottle
from tenants.registry import Principal

log = logging.getLogger(__name__)
PUBLIC_PATHS = ("/healthz", "/readyz", "/openapi.json")


def platform():
    return current_app.extensions["unionledger"]


def throttle() -> AuthThrottle:
    return current_app.extensions["unionledger.throttle"]


def bearer_token() -> str:
    """The token of the request's ``Authorization: Bearer`` header ("" without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def principal() -> Principal | None:
    return platform().registry.authenticate(bearer_token())


def authenticate() -> None:
    """Before anything reads the body, in this order: 429 (an address past its failed
    authentications), 401 (no or bad token), 404 (another tenant), 403 (the role), 413 (too large)."""
    if request.endpoint is None or request.path in PUBLIC_PATHS or request.path.startswith("/docs"):
        return
    if request.endpoint.startswith("console."):  # the console signs its users in itself (console/session.py)
        return
    address = request.remote_addr or "unknown"
    wait = throttle().wait(address)
    if wait is not None:
        _too_many(address, wait)
    who = principal()
    if who is None:
        _refuse_unauthenticated(address)
    g.principal = who
    tenant = (request.view_args or {}).get("tenant")
    if tenant is not None:
        if who.is_admin:
            abort(403, message="the platform admin token manages tenants; use a tenant token here")
        if who.tenant_id != tenant:  # a tenant token exists only with its tenant
            abort(404, message=f"tenant {tenant!r} does not exist")
    if not access.may_call(who, request.endpoint):
        abort(403, message=f"role {who.role} may not do this")
    limits.check_size(platform().settings)


def _refuse_unauthenticated(address: str) -> NoReturn:
    """401, counted against the address; 429 once it has failed too often. The token is never logged."""
    limiter = throttle()
    failures, wait = limiter.failed(address)
    sent = "an unknown or revoked token" if bearer_token() else "no bearer token"
    log.warning(
        "authentication failed from %s: %s %s with %s (%d failed within %d s)",
        address,
        request.method,
        request.path,
        sent,
        failures,
        limiter.window,
    )
    if wait is not None and failures > limiter.failures:  # blocked already, by another worker
        _too_many(address, wait)
    if wait is not None:
        log.warning("%s reached %d failed authentications: refused (429) for %d s", address, failures, wait)
    abort(401, message="a valid 'Authorization: Bearer <token>' header is required")


def _too_many(address: str, wait: int) -> NoReturn:
    abort(429, message=f"too many failed authentications from {address}; try again in {wait} s", retry_after=wait)


def tenant_register(tenant: str) -> tuple[Register, Principal]:
    """The tenant's register for this request (the caller was authenticated, and its role checked,
    before the body was read; checked again here, so that no view hands out a register unasked)."""
    who = g.principal
    if not access.may_call(who, request.endpoint):
        abort(403, message=f"role {who.role} may not do this")
    stack = g.setdefault("ul_exit", ExitStack())
    store = stack.enter_context(platform().stores.use(tenant))
    return Register(store), who


def release(_exc: BaseException | None = None) -> None:
    stack = g.pop("ul_exit", None)
    if stack is not None:
        stack.close()
