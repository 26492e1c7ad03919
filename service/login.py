"""A user's login, the one way for the API (POST /v1/sessions) and the web console alike: the
account's lockout, the same refusal for a wrong username as for a wrong password, the failures
counted per account and per address, and each outcome in the tenant's access log.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import NoReturn

from service.auth import client_address, platform, throttle
from tenants.passwords import hash_password, needs_rehash, verify_password
from tenants.registry import Registry

log = logging.getLogger(__name__)
LOCK_FAILURES = 5
LOCK_WINDOW_SECONDS = 15 * 60
WRONG = "wrong username or password"  # the one answer to either, so that neither is told apart


class LoginLocked(Exception):
    """The account had ``LOCK_FAILURES`` failures within the window: refused whatever the password."""

    def __init__(self, wait: int):
        super().__init__(f"too many failed logins for this account; try again in {wait} s")
        self.wait = wait


class LoginWrong(Exception):
    """A wrong tenant, username or password: the same refusal whichever was wrong."""


@dataclass(frozen=True)
class Login:
    user: dict
    token: str  # the session's bearer token
    expires: float  # when it ends (seconds since the epoch)


def log_in(tenant: str, username: str, password: str, *, cookie: bool, console: bool = False) -> Login:
    """Check the password and open a session; LoginLocked or LoginWrong if refused. ``cookie``: the
    session is kept in a cookie; ``console``: by the web console (both said in the access log)."""
    via = {"console": True} if console else {}
    registry = platform().registry
    username, address = username.lower(), client_address()
    known_tenant = registry.tenant(tenant) is not None
    now = registry.wall_clock()
    failures, started = registry.login_failures(tenant, username, now, LOCK_WINDOW_SECONDS)
    if failures >= LOCK_FAILURES:
        wait = max(1, math.ceil(started + LOCK_WINDOW_SECONDS - now))
        # the username stays in the tenant's access log: the process's log carries no personal data
        log.warning("a login to tenant %r from %s refused: the account is locked for %d s", tenant, address, wait)
        if known_tenant:
            registry.record_access(
                tenant,
                "login_locked",
                actor=username,
                subject=username,
                address=address,
                detail={"retry_after": wait, **via},
            )
        raise LoginLocked(wait)
    found = registry.login_user(tenant, username)  # asked for an unknown tenant too: the same work
    if not verify_password(found[1] if found else None, password):
        _failed(registry, tenant, username, address, now, known_tenant, via)
    assert found is not None  # a password verified against a user's own hash
    user, stored = found
    if needs_rehash(stored):
        registry.renew_hash(tenant, username, stored, hash_password(password))
    if failures:
        registry.login_succeeded(tenant, username)
    token, expires = registry.open_session(tenant, username)
    registry.record_access(
        tenant,
        "login_ok",
        actor=username,
        subject=username,
        address=address,
        detail={"role": user["role"], "scope_unit_id": user["scope_unit_id"], "cookie": cookie, **via},
    )
    return Login(user, token, expires)


def log_out(token: str, tenant: str, actor: str, user: str) -> None:
    """End the session of ``token`` and say so in the access log."""
    platform().registry.end_session(token)
    platform().registry.record_access(tenant, "logout", actor=actor, subject=user, address=client_address())


def _failed(
    registry: Registry, tenant: str, username: str, address: str, now: float, known_tenant: bool, via: dict
) -> NoReturn:
    """Count a failed login against the account and the address, record it, and refuse it."""
    failures, _started = registry.login_failed(tenant, username, now, LOCK_WINDOW_SECONDS)
    throttle().failed(address)
    log.warning(
        "a login to tenant %r failed from %s (%d for the account within %d s; its access log names the account)",
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
            detail={"failures": failures, "locked": failures >= LOCK_FAILURES, **via},
        )
    raise LoginWrong(WRONG)
