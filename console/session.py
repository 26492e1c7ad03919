"""Who is signed in to the console: the one place a console request gets its principal.

A user signs in with its tenant, username and password, checked by service/login.py as
``POST /v1/sessions`` checks them (the same lockout, refusal and access log). The console's
session is Flask's signed cookie (HttpOnly, SameSite=Lax) holding the user session's token, the
time it was given and the form token (CSRF). Every request asks the registry again whose session
it is, so a deactivated user or an ended session is signed out at once; after ``LIFETIME`` the
session ends, as the registry's own does.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from datetime import timedelta

from flask import Flask, Response, after_this_request, current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import BadRequest, Forbidden, NotFound

from application.policy import NATIONAL
from domain.text import text_fault
from persistence.files import write_private
from service import access, limits, login
from service.auth import SESSION_COOKIE
from tenants.registry import Principal

LIFETIME = timedelta(hours=8)  # a working day, as the API's sessions
PUBLIC = "console_public"  # the attribute of a console view anyone may open (the sign-in page, the assets)
SECRET_FILE = "console-secret"


class LoginRefused(Exception):
    """A wrong tenant, user name or password: the same answer whichever was wrong."""


class LoginLocked(Exception):
    """Too many failed logins for the account: ``wait`` seconds before it may try again."""

    def __init__(self, wait: int):
        super().__init__(wait)
        self.wait = wait


def public(view):
    """Declare a console view open without signing in."""
    setattr(view, PUBLIC, True)
    return view


def configure(app: Flask) -> None:
    """The key that signs the session cookie: UNIONLEDGER_CONSOLE_SECRET, else a file in the data
    folder made (0600) by the first start, shared by every worker."""
    platform = app.extensions["unionledger"]
    secret = os.environ.get("UNIONLEDGER_CONSOLE_SECRET")
    if not secret:
        path = platform.settings.data_dir / SECRET_FILE
        write_private(path, secrets.token_urlsafe(48) + "\n", replace=False)
        secret = path.read_text().strip()
    app.secret_key = secret
    app.config.update(
        # Served over HTTPS (behind a proxy that terminates it): the cookie never goes over plain HTTP.
        SESSION_COOKIE_SECURE=os.environ.get("UNIONLEDGER_CONSOLE_SECURE_COOKIE", "") in ("1", "true", "yes"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=LIFETIME,
    )


def log_in(tenant: str, username: str, password: str) -> Principal:
    """Check the user's password and start the session; LoginRefused or LoginLocked if refused."""
    try:
        done = login.log_in(tenant.strip(), username.strip(), password, cookie=True, console=True)
    except login.LoginWrong:
        raise LoginRefused() from None
    except login.LoginLocked as locked:
        raise LoginLocked(locked.wait) from None
    lang = session.get("lang")
    session.clear()  # nothing of the session before the sign-in is kept but the language
    session.permanent = True
    session.update(token=done.token, since=time.time(), csrf=secrets.token_urlsafe(32))
    if lang:
        session["lang"] = lang
    _api_cookie(done.token)
    who = current_app.extensions["unionledger"].registry.authenticate(done.token)
    assert who is not None  # the session just opened
    return who


def log_in_national(secret: str) -> Principal:
    """The national federation's staff sign in with a national token (they have no tenant, so no
    user account): LoginRefused for any other token, a failure counted against the address as the
    API counts a bad token."""
    who = current_app.extensions["unionledger"].registry.authenticate(secret.strip())
    if who is None or who.role != NATIONAL:
        current_app.extensions["unionledger.throttle"].failed(request.remote_addr or "unknown")
        raise LoginRefused()
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session.update(token=secret.strip(), since=time.time(), csrf=secrets.token_urlsafe(32), national=True)
    if lang:
        session["lang"] = lang
    return who


def log_out() -> None:
    """End the user's session (in the registry too, so that the cookie, if kept, opens nothing)."""
    token = session.get("token")
    who = current_app.extensions["unionledger"].registry.authenticate(token) if token else None
    if token and who is not None and who.user is not None and who.tenant_id is not None:
        login.log_out(token, who.tenant_id, who.actor, who.user)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    _api_cookie(None)


def _api_cookie(token: str | None) -> None:
    """The same user session as the API's cookie (HttpOnly, SameSite=Strict, as ``POST /v1/sessions``
    with ``cookie: true`` sets it), so that the console's download links are the API's own
    ``format=xlsx`` answers, read with the user's role and scope. Without the API's CSRF cookie,
    it lets the browser read (GET) and change nothing."""

    @after_this_request
    def set_cookie(response: Response) -> Response:
        if token is None:
            response.delete_cookie(SESSION_COOKIE, path="/", secure=request.is_secure, samesite="Strict")
        else:
            response.set_cookie(
                SESSION_COOKIE,
                token,
                max_age=int(LIFETIME.total_seconds()),
                path="/",
                secure=request.is_secure,
                httponly=True,
                samesite="Strict",
            )
        return response


def principal() -> Principal | None:
    """The signed-in user, or None (not signed in, expired, the session ended or the user deactivated)."""
    token = session.get("token")
    since = session.get("since", 0)
    if not token or time.time() - since > LIFETIME.total_seconds():
        return None
    who = current_app.extensions["unionledger"].registry.authenticate(token)
    if who is not None and who.role == NATIONAL and session.get("national"):
        return who  # a national token, signed in at /login/national: the national pages only
    if who is None or who.user is None or who.tenant_id is None:  # else a user's session, nothing else
        return None
    return who


def csrf_token() -> str:
    """The form token of this session, made on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Every form the console takes carries the session's form token (a field, or htmx's header)."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise BadRequest("csrf")


def check_text() -> None:
    """As the API's calls (service/urls.py): an address naming text the register cannot hold names
    nothing (404); a query or form field holding such text is refused (400) before any store reads it."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and text_fault(value) is not None:
            raise NotFound()
    for name, value in request.args.items(multi=True):
        if text_fault(name) is not None or text_fault(value) is not None:
            raise BadRequest(f"query field {name!r}")
    if request.method == "POST" and request.mimetype != "multipart/form-data":
        for name, value in request.form.items(multi=True):
            if text_fault(name) is not None or text_fault(value, free=True) is not None:
                raise BadRequest(f"form field {name!r}")


def authenticate():
    """Before every console page: the form token of a POST, then who is signed in, then whether
    the access policy lets their role open this page (the action each view declares)."""
    limits.check_size(current_app.extensions["unionledger"].settings)  # before anything reads the body
    check_text()
    if request.method == "POST":
        check_csrf()
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint == "console.static" or getattr(view, PUBLIC, False):
        return None
    who = principal()
    if who is None:
        if session.get("token"):
            log_out()
            session["expired"] = True
        return redirect(url_for("console.login.form", next=request.full_path.rstrip("?")))
    g.principal = who
    if who.role == NATIONAL and request.endpoint == "console.dashboard.index":
        return redirect(url_for("console.national.index"))  # the national level's own first page
    if not access.may_call(who, request.endpoint):
        raise Forbidden()
    return None
