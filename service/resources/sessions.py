"""Sessions: a user logs in with its password and gets a token with its role and scope, for
``SESSION_HOURS``; or, for the web console, the same session in an HttpOnly cookie.

A wrong username and a wrong password answer the same 401, byte for byte, after the same work
(an unknown user's password is checked against a dummy hash). Failed logins are counted per
account, known or not, and per client address (service/throttle.py): an account with
``LOCK_FAILURES`` failures within ``LOCK_WINDOW_SECONDS`` is answered 429, whatever the
password, until that window passes.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import NoReturn

from flask import Response, after_this_request, g, request
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from application.policy import Action
from service.access import allow
from service.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    client_address,
    csrf_token,
    platform,
    presented_token,
    throttle,
)
from service.bodies import Blueprint
from service.resources.users import UserOut
from service.schemas import Text
from tenants.passwords import MAX_LENGTH, hash_password, needs_rehash, verify_password
from tenants.registry import SESSION_HOURS, Registry

log = logging.getLogger(__name__)
blp = Blueprint(
    "sessions",
    __name__,
    url_prefix="/v1/sessions",
    description="Log in with a username and password for a token of the user's role and scope (8 hours)",
)
LOCK_FAILURES = 5
LOCK_WINDOW_SECONDS = 15 * 60
WRONG = "wrong username or password"  # the one answer to either, so that neither is told apart


class SessionIn(Schema):
    tenant = Text(required=True, validate=validate.Length(min=1, max=100))
    username = Text(required=True, validate=validate.Length(min=1, max=100))
    password = Text(required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH))
    cookie = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: the session is set as an HttpOnly, SameSite=Strict cookie (the web console) and"
            " not given in the answer; a request it authenticates that may change something must send"
            " `csrf_token` in the X-CSRF-Token header"
        },
    )


class SessionOut(Schema):
    token = fields.String(
        allow_none=True, metadata={"description": "The bearer token, shown once; null when kept in a cookie"}
    )
    expires_at = fields.String(metadata={"description": "When the session ends, 8 hours after the login"})
    user = fields.Nested(UserOut)
    csrf_token = fields.String(metadata={"description": "With `cookie: true`: the X-CSRF-Token of the session"})


@blp.route("", methods=["POST"])
@allow(Action.LOG_IN, public=True)
@blp.arguments(SessionIn())
@blp.response(201, SessionOut)
def log_in(args: dict):
    """Log in: a token with the user's role and scope, for 8 hours (no bearer token needed)

    A wrong username or password is 401, the same answer either way. After 5 failures for one
    account within 15 minutes its logins are 429, with Retry-After, until the 15 minutes pass.
    """
    registry = platform().registry
    tenant, username, address = args["tenant"], args["username"].lower(), client_address()
    known_tenant = registry.tenant(tenant) is not None
    now = registry.wall_clock()
    failures, started = registry.login_failures(tenant, username, now, LOCK_WINDOW_SECONDS)
    if failures >= LOCK_FAILURES:
        wait = max(1, math.ceil(started + LOCK_WINDOW_SECONDS - now))
        log.warning(
            "login for %r of tenant %r from %s refused: the account is locked for %d s", username, tenant, address, wait
        )
        if known_tenant:
            registry.record_access(
                tenant, "login_locked", actor=username, subject=username, address=address, detail={"retry_after": wait}
            )
        abort(429, message=f"too many failed logins for this account; try again in {wait} s", retry_after=wait)
    found = registry.login_user(tenant, username)  # asked for an unknown tenant too: the same work
    if not verify_password(found[1] if found else None, args["password"]):
        _failed(registry, tenant, username, address, now, known_tenant)
    assert found is not None  # a password verified against a user's own hash
    user, stored = found
    if needs_rehash(stored):
        registry.renew_hash(tenant, username, stored, hash_password(args["password"]))
    if failures:
        registry.login_succeeded(tenant, username)
    token, expires = registry.open_session(tenant, username)
    registry.record_access(
        tenant,
        "login_ok",
        actor=username,
        subject=username,
        address=address,
        detail={"role": user["role"], "scope_unit_id": user["scope_unit_id"], "cookie": args["cookie"]},
    )
    expires_at = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")
    if not args["cookie"]:
        return {"token": token, "expires_at": expires_at, "user": user}
    csrf = csrf_token(token)

    @after_this_request
    def set_cookies(response: Response) -> Response:
        for name, value, http_only in ((SESSION_COOKIE, token, True), (CSRF_COOKIE, csrf, False)):
            response.set_cookie(
                name,
                value,
                max_age=SESSION_HOURS * 3600,
                path="/",
                secure=request.is_secure,
                httponly=http_only,
                samesite="Strict",
            )
        return response

    return {"token": None, "expires_at": expires_at, "user": user, "csrf_token": csrf}


def _failed(registry: Registry, tenant: str, username: str, address: str, now: float, known_tenant: bool) -> NoReturn:
    """Count a failed login against the account and the address, record it, and answer 401."""
    failures, _started = registry.login_failed(tenant, username, now, LOCK_WINDOW_SECONDS)
    throttle().failed(address)
    log.warning(
        "login failed for %r of tenant %r from %s (%d for the account within %d s)",
        username,
        tenant,
        address,
        failures,
        LOCK_WINDOW_SECONDS,
    )
    if known_tenant:
        registry.record_access(
            tenant,
            "login_failed",
            actor=username,
            subject=username,
            address=address,
            detail={"failures": failures, "locked": failures >= LOCK_FAILURES},
        )
    abort(401, message=WRONG)


@blp.route("/current", methods=["DELETE"])
@allow(Action.OWN_ACCOUNT)
@blp.response(204)
def log_out():
    """Log out: the session of this request ends (and its cookies are cleared)"""
    who = g.principal
    if who.user is None:
        abort(409, message="this token is no session: a federation_admin revokes tokens at /tokens")
    platform().registry.end_session(presented_token()[0])
    platform().registry.record_access(
        who.tenant_id, "logout", actor=who.actor, subject=who.user, address=client_address()
    )

    @after_this_request
    def clear_cookies(response: Response) -> Response:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", secure=request.is_secure, samesite="Strict")
        return response
