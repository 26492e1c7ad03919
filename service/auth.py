"""Bearer tokens: who is asking, may they call this, and which tenant's store they may use.

A browser's session comes in a cookie instead (HttpOnly, SameSite=Strict); a request it
authenticates that may change something must also carry the session's CSRF token in
``X-CSRF-Token``, as the script of the page read it from its own cookie (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from contextlib import ExitStack
from typing import Any, NoReturn

from flask import current_app, g, request
from flask_smorest import abort

from application.policy import NATIONAL, SEES_PERSONAL_DATA
from application.register import Register
from service import access, limits, metrics
from service.throttle import AuthThrottle
from tenants.registry import UNREACHABLE, Principal

log = logging.getLogger(__name__)
PUBLIC_PATHS = ("/healthz", "/readyz", "/openapi.json")
SESSION_COOKIE = "ul_session"
CSRF_COOKIE = "ul_csrf"  # readable by the page's script, which sends it back in CSRF_HEADER
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def platform():
    return current_app.extensions["unionledger"]


def throttle() -> AuthThrottle:
    return current_app.extensions["unionledger.throttle"]


def bearer_token() -> str:
    """The token of the request's ``Authorization: Bearer`` header ("" without one)."""
    return bearer_of(request.headers.get("Authorization", ""))


def bearer_of(authorization: str) -> str:
    """The token of an ``Authorization`` header's value if it is a bearer's ("" if not)."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def presented_token() -> tuple[str, bool]:
    """The request's token, and whether it came in the session cookie (only without a bearer header)."""
    token = bearer_token()
    if token or "Authorization" in request.headers:
        return token, False
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return cookie, bool(cookie)


def csrf_token(session_token: str) -> str:
    """A cookie session's CSRF token: derived from its secret, so the service keeps nothing more."""
    return hmac.new(session_token.encode(), b"unionledger csrf", hashlib.sha256).hexdigest()


def csrf_kept(sent: str, cookie: str, session_token: str) -> bool:
    """Whether a cookie session's request sent its CSRF token: the header's, the CSRF cookie's
    and the session's own, all the same."""
    return hmac.compare_digest(sent.encode(), cookie.encode()) and hmac.compare_digest(
        sent.encode(), csrf_token(session_token).encode()
    )


def acts_in(who: Principal, tenant: str) -> bool:
    """Whether a principal may use this tenant's register at all: a tenant's own token (not the
    platform admin's, not a national one). ``authenticate`` words each way of failing it."""
    return not who.is_admin and who.role != NATIONAL and who.tenant_id == tenant


def principal() -> Principal | None:
    return platform().registry.authenticate(presented_token()[0])


def client_address() -> str:
    return request.remote_addr or "unknown"


def record_access(tenant: str, event: str, subject: str | None, detail: dict) -> None:
    """Put what this request's principal did in the tenant's access log."""
    platform().registry.record_access(
        tenant, event, actor=g.principal.actor, subject=subject, address=client_address(), detail=detail
    )


def record_refusal(who: Principal, event: str, detail: dict) -> None:
    """Put a refusal in the tenant's access log; a control store that does not answer leaves
    the refusal as it was (and a warning), not a 503."""
    if who.tenant_id is None:
        return
    try:
        platform().registry.record_access(
            who.tenant_id,
            event,
            actor=who.actor,
            subject=request.path,
            address=client_address(),
            detail={"method": request.method, "role": who.role, **detail},
        )
    except UNREACHABLE as error:
        log.warning("the access log does not answer (%s): a %s of tenant %s not recorded", error, event, who.tenant_id)


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
    if request.path == metrics.PATH:  # the admin's or the scraper's token (service/metrics.py)
        token = bearer_token()
        if metrics.is_scraper(token, platform().settings):
            return
        who = platform().registry.authenticate(token)
        if who is None:
            _refuse_unauthenticated(address)
        if not who.is_admin:
            abort(403, message="the metrics are read with the platform admin token or UNIONLEDGER_METRICS_TOKEN")
        return
    if access.is_public(request.endpoint):  # a login: its view checks what it is sent
        limits.check_size(platform().settings)
        return
    token, from_cookie = presented_token()
    who = platform().registry.authenticate(token)
    if who is None:
        _refuse_unauthenticated(address)
    g.principal = who
    sent = request.headers.get(CSRF_HEADER, "")
    if (
        from_cookie
        and request.method not in SAFE_METHODS
        and not csrf_kept(sent, request.cookies.get(CSRF_COOKIE, ""), token)
    ):
        record_refusal(who, "refused_csrf", {})
        abort(403, message=f"a request authenticated by the session cookie must carry {CSRF_HEADER}")
    tenant = (request.view_args or {}).get("tenant")
    if tenant is not None:
        if who.is_admin:
            abort(403, message="the platform admin token manages tenants; use a tenant token here")
        if who.role == NATIONAL:  # aggregates only: no tenant's register, members or personal data
            abort(403, message="a national token reads the national level only (/v1/national)")
        if who.tenant_id != tenant:  # a tenant token exists only with its tenant
            abort(404, message=f"tenant {tenant!r} does not exist")
    if not access.may_call(who, request.endpoint):
        record_refusal(who, "refused_role", {})
        abort(403, message=f"role {who.role} may not do this")
    limits.check_size(platform().settings)


def _refuse_unauthenticated(address: str) -> NoReturn:
    """401, counted against the address; 429 once it has failed too often. The token is never logged."""
    limiter = throttle()
    failures, wait = limiter.failed(address)
    sent = "an unknown, expired or revoked token" if presented_token()[0] else "no bearer token"
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
    return principal_register(stack.enter_context(platform().stores.use(tenant)), who), who


def principal_register(store: Any, who: Principal) -> Register:
    """A tenant store's register as this principal may use it: within its scope, personal data
    opened only for the roles that see it."""
    return Register(store, scope_unit_id=who.scope_unit_id, personal=who.role in SEES_PERSONAL_DATA)


def release(_exc: BaseException | None = None) -> None:
    stack = g.pop("ul_exit", None)
    if stack is not None:
        stack.close()
