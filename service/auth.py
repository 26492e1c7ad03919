"""Bearer tokens: who is asking, and which tenant's store they may use."""

from __future__ import annotations

from contextlib import ExitStack

from flask import current_app, g, request
from flask_smorest import abort

from tenants.registry import Principal
from tenants.stores import TenantStore

READ_ROLES = ("federation_admin", "inspector", "auditor")
WRITE_ROLES = ("federation_admin",)


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


PUBLIC_PATHS = ("/healthz", "/readyz", "/openapi.json")


def authenticate() -> None:
    """Before any parsing: who is asking, and may they see this tenant at all (401, 403, 404)."""
    if request.endpoint is None or request.path in PUBLIC_PATHS or request.path.startswith("/docs"):
        return
    who = principal()
    g.principal = who
    tenant = (request.view_args or {}).get("tenant")
    if tenant is None:
        return
    if who.is_admin:
        abort(403, message="the platform admin token manages tenants; use a tenant token here")
    if who.tenant_id != tenant:  # a tenant token exists only with its tenant
        abort(404, message=f"tenant {tenant!r} does not exist")


def tenant_store(tenant: str, roles: tuple[str, ...] = READ_ROLES) -> tuple[TenantStore, Principal]:
    """The tenant's store for this request (the caller was authenticated before the body was read)."""
    who = g.principal
    if who.role not in roles:
        abort(403, message=f"role {who.role} may not do this")
    stack = g.setdefault("ul_exit", ExitStack())
    store = stack.enter_context(platform().stores.use(tenant))
    return store, who


def release(_exc: BaseException | None = None) -> None:
    stack = g.pop("ul_exit", None)
    if stack is not None:
        stack.close()
