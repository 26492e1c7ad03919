"""Which action each endpoint performs: declared next to its route, decided by the access policy
(application/policy.py) before the request's body is read."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from application.policy import Action, may
from tenants.registry import Principal

ACTION = "action"  # the attribute of a view function that names its action
PUBLIC = "public"  # the attribute of a view function called without a token (a login)


def allow(action: Action, *, public: bool = False) -> Callable:
    """Declare what an endpoint does: ``@allow(Action.RECORD)`` under its route; ``public=True``
    for the one call made before its caller has a token (``POST /v1/sessions``)."""

    def declare(view: Callable) -> Callable:
        setattr(view, ACTION, action)
        setattr(view, PUBLIC, public)
        return view

    return declare


def is_public(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint) if endpoint is not None else None
    return bool(getattr(view, PUBLIC, False))


def may_call(who: Principal, endpoint: str | None) -> bool:
    """May this principal call this endpoint? One that declares no action is called by no one,
    nor is a request that matched no endpoint."""
    view = current_app.view_functions.get(endpoint) if endpoint is not None else None
    action = getattr(view, ACTION, None)
    return action is not None and may(who.role, action)


def undeclared(app: Flask) -> list[str]:
    """The endpoints under /v1 that declare no action: the app does not start with any."""
    return sorted(
        {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/v1/") and not hasattr(app.view_functions[rule.endpoint], ACTION)
        }
    )
