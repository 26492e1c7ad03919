"""Who may call what: each endpoint declares, next to its route, the roles that may call it, and
``may_call`` alone decides, before the request's body is read."""

from __future__ import annotations

from typing import Callable, Iterable

from flask import Flask, current_app

from tenants.registry import Principal

PLATFORM_ADMIN = ("platform_admin",)
READ_ROLES = ("federation_admin", "inspector", "auditor")
WRITE_ROLES = ("federation_admin",)


def allow(roles: Iterable[str]) -> Callable:
    """Declare the roles that may call an endpoint: ``@allow(WRITE_ROLES)`` under its route."""
    allowed = frozenset(roles)

    def declare(view: Callable) -> Callable:
        view.allowed_roles = allowed
        return view

    return declare


def may_call(who: Principal, endpoint: str) -> bool:
    """May this principal call this endpoint? One that declares no roles is called by no one."""
    view = current_app.view_functions.get(endpoint)
    return who.role in getattr(view, "allowed_roles", ())


def undeclared(app: Flask) -> list[str]:
    """The endpoints under /v1 that declare no roles: the app does not start with any."""
    return sorted({rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/")
                   and not hasattr(app.view_functions[rule.endpoint], "allowed_roles")})
