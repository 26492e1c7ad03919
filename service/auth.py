"""Bearer tokens: who is asking, may they call this, and which tenant's store they may use."""

from __future__ import annotations

from contextlib import ExitStack

from flask import current_app, g, request
from flask_smorest import abort

from service import access, limits
from tenants.registry import Principal
from tenants.stores import TenantStore

PUBLIC_PATHS = ("/healthz", "/readyz", "/openapi.json")


def platform():
    return current_app.extensions["unionledger"]


def principal() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = platform().registry.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        abort(401, message="a valid 'Authorization: Bearer <token>' header is required")
    return found


def require_admin() -> Principal:
    who = g.principal
    if not who.is_admin:
        abort(403, message="only the platform admin token may do this")
    return who


def authenticate() -> None:
    """Before anything reads the body, in this order: 401 (no or bad token), 404 (another
    tenant), 403 (the role), 413 (too large)."""
    if request.endpoint is None or request.path in PUBLIC_PATHS or request.path.startswith("/docs"):
        return
    who = principal()
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


def tenant_store(tenant: str) -> tuple[TenantStore, Principal]:
    """The tenant's store for this request (the caller was authenticated, and its role checked,
    before the body was read; checked again here, so that no view hands out a store unasked)."""
    who = g.principal
    if not access.may_call(who, request.endpoint):
        abort(403, message=f"role {who.role} may not do this")
    stack = g.setdefault("ul_exit", ExitStack())
    store = stack.enter_context(platform().stores.use(tenant))
    return store, who


def release(_exc: BaseException | None = None) -> None:
    stack = g.pop("ul_exit", None)
    if stack is not None:
        stack.close()
