"""A single admission (``POST /v1/tenants/<tenant>/members``) answered without Flask's stack.

The busiest write spends as much of a worker's time in Flask, werkzeug and webargs as in
deciding and saving it. This WSGI layer answers the admission it is sure of with the same
functions the Flask view calls (the token or the session and its CSRF token, the access policy,
``MemberIn``'s reading, the use case, ``MemberOut``'s answer, the request's metrics and log
line) and hands every other request to the Flask app untouched, as it hands any admission it
is not sure of (a refusal of any kind, another content type, a query string, no length): the
Flask app then words the answer as it always has. A use case that fails is answered by the
Flask app's own error handlers.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g
from werkzeug.http import parse_cookie

from application.policy import may
from service import auth, logs, metrics
from service.access import ACTION
from service.json_text import one_shot
from service.limits import body_limit
from service.resources.members import MemberIn, MemberOut, admit_member
from tenants.registry import Principal

ENDPOINT = "members.admit"
PATH = re.compile(r"^/v1/tenants/([A-Za-z0-9._:-]{1,64})/members$")  # the tenant: an id (domain/base.py)
ROUTE = "/v1/tenants/<tenant>/members"
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class AdmissionRoute:
    """The WSGI app in front of Flask's own (``app.wsgi_app``)."""

    def __init__(self, app: Flask, flask_app: WSGIApp):
        self.app, self.flask_app = app, flask_app
        self.platform = app.extensions["unionledger"]
        self.throttle = app.extensions["unionledger.throttle"]
        view = app.view_functions[ENDPOINT]
        self.action = getattr(view, ACTION)
        self.limit = body_limit(self.platform.settings, view)[0]
        self.reading, self.answer = MemberIn(), MemberOut()
        provider: Any = app.json
        pretty = (provider.compact is None and app.debug) or provider.compact is False
        # As the provider's dumps with these arguments, the encoder made once rather than per answer
        self.encode = one_shot(
            json.JSONEncoder(
                default=provider.default,
                ensure_ascii=provider.ensure_ascii,
                sort_keys=provider.sort_keys,
                indent=2 if pretty else None,
                separators=None if pretty else (",", ":"),
            )
        )

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING") or environ.get("SCRIPT_NAME"):
            return self.flask_app(environ, start_response)
        matched = PATH.match(environ.get("PATH_INFO", ""))
        if matched is None:
            return self.flask_app(environ, start_response)
        return self.admit(environ, start_response, matched.group(1))

    def admit(self, environ: dict, start_response: Callable, tenant: str) -> Iterable[bytes]:
        started = time.perf_counter()
        who = self._principal(environ, tenant)
        if who is None:
            return self.flask_app(environ, start_response)
        raw = self._body(environ)
        args = self._arguments(raw) if raw is not None else None
        if args is None:
            if raw is not None:  # read here: given back as it came
                environ["wsgi.input"] = io.BytesIO(raw)
            return self.flask_app(environ, start_response)
        rid = logs.accepted_request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        answering = logs.ANSWERING.set((rid, "POST", ROUTE))  # the request's lines name it, as in Flask
        try:
            return self._admitted(environ, start_response, tenant, who, args, started, rid)
        finally:
            logs.ANSWERING.reset(answering)

    def _admitted(
        self, environ: dict, start_response: Callable, tenant: str, who: Principal, args: dict, started: float, rid: str
    ) -> Iterable[bytes]:
        try:
            with self.platform.stores.use(tenant) as store:
                member = admit_member(auth.principal_register(store, who), args, who)
            dump = self.answer.dump(member)
            body = self.encode(dump) + "\n"
        except Exception as error:  # noqa: BLE001 - every failure is answered as the Flask app answers it
            return self._failed(environ, start_response, error, who, started, rid)
        data = body.encode()
        start_response(
            "201 CREATED",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data))), (logs.REQUEST_ID_HEADER, rid)],
        )
        metrics.count(self.app, "POST", ROUTE, 201, time.perf_counter() - started, tenant)
        return [data]

    def _principal(self, environ: dict, tenant: str) -> Principal | None:
        """The caller, if it passes every check ``auth.authenticate`` makes of an admission; None
        for anything else (the Flask app then refuses it, counts a failure, logs it)."""
        try:
            if self.throttle.wait(environ.get("REMOTE_ADDR") or "unknown") is not None:
                return None
            authorization = environ.get("HTTP_AUTHORIZATION")
            if authorization is not None:
                token, from_cookie = auth.bearer_of(authorization), False
            else:
                cookies = parse_cookie(environ)
                token, from_cookie = cookies.get(auth.SESSION_COOKIE, ""), True
            who = self.platform.registry.authenticate(token)
            if who is None:
                return None
            if from_cookie and not auth.csrf_kept(
                environ.get("HTTP_X_CSRF_TOKEN", ""), cookies.get(auth.CSRF_COOKIE, ""), token
            ):
                return None
            if not (auth.acts_in(who, tenant) and may(who.role, self.action)):
                return None
            return who
        except Exception:  # noqa: BLE001 - the Flask app meets the same failure and answers it
            return None

    def _body(self, environ: dict) -> bytes | None:
        """The body, if it is JSON of an announced length within the call's limit."""
        kind = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if kind != "application/json" or not 0 < length <= self.limit:
            return None
        return environ["wsgi.input"].read(length)

    def _arguments(self, raw: bytes) -> dict | None:
        """What the view would be called with, if ``MemberIn`` reads the body at once; None else."""
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        return self.reading.quick(body)

    def _failed(
        self, environ: dict, start_response: Callable, error: Exception, who: Principal, started: float, rid: str
    ) -> Iterable[bytes]:
        """A use case that failed, answered by the Flask app's error handlers and after-request."""
        with self.app.request_context(environ):
            g.metrics_started, g.request_id, g.principal = started, rid, who
            response = self.app.finalize_request(self.app.handle_user_exception(error))
            return response(environ, start_response)
