"""Sessions: a user logs in with its password and gets a token with its role and scope, for
``SESSION_HOURS``; or, for the web console, the same session in an HttpOnly cookie.

A wrong username and a wrong password answer the same 401, byte for byte, after the same work
(an unknown user's password is checked against a dummy hash). Failed logins are counted per
account, known or not, and per client address (service/throttle.py): an account with
``LOCK_FAILURES`` failures within ``LOCK_WINDOW_SECONDS`` is answered 429, whatever the
password, until that window passes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, after_this_request, g, request
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from application.policy import Action
from service import login
from service.access import allow
from service.auth import CSRF_COOKIE, SESSION_COOKIE, csrf_token, presented_token
from service.bodies import Blueprint
from service.login import WRONG
from service.resources.users import UserOut
from service.schemas import Text
from tenants.passwords import MAX_LENGTH
from tenants.registry import SESSION_HOURS

blp = Blueprint(
    "sessions",
    __name__,
    url_prefix="/v1/sessions",
    description="Log in with a username and password for a token of the user's role and scope (8 hours)",
)


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
    try:
        done = login.log_in(args["tenant"], args["username"], args["password"], cookie=args["cookie"])
    except login.LoginLocked as locked:
        abort(429, message=str(locked), retry_after=locked.wait)
    except login.LoginWrong:
        abort(401, message=WRONG)
    token, expires, user = done.token, done.expires, done.user
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


@blp.route("/current", methods=["DELETE"])
@allow(Action.OWN_ACCOUNT)
@blp.response(204)
def log_out():
    """Log out: the session of this request ends (and its cookies are cleared)"""
    who = g.principal
    if who.user is None:
        abort(409, message="this token is no session: a federation_admin revokes tokens at /tokens")
    login.log_out(presented_token()[0], who.tenant_id, who.actor, who.user)

    @after_this_request
    def clear_cookies(response: Response) -> Response:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", secure=request.is_secure, samesite="Strict")
        return response
