"""Every error as RFC 9457 problem details; domain refusals mapped in one place."""

from __future__ import annotations

import logging

import psycopg
from eventsourcing import persistence
from flask import Flask, Response, current_app, g, json, request
from werkzeug.exceptions import HTTPException, InternalServerError

from application.scope import OutOfScope
from domain.errors import AlreadyExists, Conflict, DomainError, InvalidValue, NotFound
from persistence.outage import DatabaseUnreachable, database_away
from persistence.recorders import TenantMoved, fenced
from projections.runner import ViewsStopped, ViewsUnavailable
from service.auth import record_refusal
from tenants.stores import TenantBusy

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
# A store that does not answer: the database is away, restarting, being promoted or refusing
# connections, or a connection broke under a request (persistence.outage.database_away decides,
# for every database error and whatever it was wrapped in). The library wraps psycopg's errors in
# its own, with classes of its own: a read-only standby's refusal comes as its InternalError.
DATABASE_ERRORS = (persistence.PersistenceError, psycopg.Error, DatabaseUnreachable)
RETRY_AFTER_SECONDS = 5


def problem(status: int, title: str, detail: str, errors: dict | None = None, **extra) -> Response:
    body = {"type": "about:blank", "status": status, "title": title, "detail": detail, **extra}
    if errors:
        body["errors"] = errors
    # A field named by a lone surrogate (an unknown key "\ud800") has no UTF-8 form: it is sent
    # back as the JSON escape the client wrote, not as a failure to answer.
    return Response(json.dumps(body).encode("utf-8", "backslashreplace"), status=status, mimetype=PROBLEM)


def _flatten(messages: object) -> dict[str, list[str]]:
    """webargs nests errors by location (json, query, ...): clients want field -> messages."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if key == "_schema" or (prefix and key in ("key", "value")):
                    walk(prefix, sub)  # the whole body, or one entry of a Dict field: not its half
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "body", []).extend(value)
        else:
            out.setdefault(prefix or "body", []).append(str(value))

    if isinstance(messages, dict):
        for _location, fields in messages.items():
            walk("", fields)
    return out


def handle_http(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if error.code == 422 and messages:
        errors = _flatten(messages)
        detail = "; ".join(f"{f}: {' '.join(m)}" for f, m in errors.items())
        return problem(422, "Invalid field", detail, errors)
    if error.code == 400:
        return problem(400, "Unreadable request", data.get("message") or error.description or "bad request")
    if error.code == 413:
        return too_large(data.get("message"))
    if isinstance(error, InternalServerError):
        return handle_unexpected(error)
    title = error.name
    detail = data.get("message") or error.description or title
    response = problem(error.code or 500, title, detail)
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="unionledger"'
    if error.code == 429 and "retry_after" in data:
        response.headers["Retry-After"] = str(data["retry_after"])
    return response


def too_large(message: str | None) -> Response:
    """413, saying the limit: announced too large (Content-Length), or found so while reading."""
    limit = g.get("body_limit") or request.max_content_length
    detail = message or f"the request body is larger than this call takes: at most {limit} bytes"
    return problem(413, "Content Too Large", detail, max_bytes=limit)


def handle_domain(error: DomainError) -> Response:
    errors = {error.field: [error.message]} if error.field else None
    if isinstance(error, OutOfScope) and g.get("principal") is not None:
        record_refusal(g.principal, "refused_scope", {"field": error.field, "refused": error.message})
    if isinstance(error, NotFound):
        return problem(404, "Not found", error.message, errors)
    if isinstance(error, InvalidValue):
        return problem(422, "Invalid field", error.message, errors or {"body": [error.message]})
    if isinstance(error, AlreadyExists):
        return problem(409, "Already exists", error.message, errors, rule=error.rule)
    if isinstance(error, Conflict):
        return problem(409, "Refused by a business rule", error.message, errors, rule=error.rule)
    return problem(409, "Refused", error.message, errors)


def unavailable(detail: str, retry_after: int = RETRY_AFTER_SECONDS, title: str = "Service unavailable") -> Response:
    """503 with ``Retry-After``: nothing the client sent is wrong; the same request will do later."""
    response = problem(503, title, detail)
    response.headers["Retry-After"] = str(retry_after)
    return response


def handle_unavailable(error: Exception) -> Response:
    log.warning("store unavailable: %s: %s", type(error).__name__, error)
    return unavailable("the register's database does not answer at the moment; try again shortly")


def handle_database(error: Exception) -> Response:
    """A database error: 503 if it says the database is away (database_away), else unexpected."""
    return handle_unavailable(error) if database_away(error) else handle_unexpected(error)


def handle_busy(error: TenantBusy) -> Response:
    return unavailable(error.message, error.retry_after, "Tenant busy")


def handle_views_unavailable(error: ViewsUnavailable) -> Response:
    return unavailable(str(error), title="Views being rebuilt")


def handle_stopped(error: ViewsStopped) -> Response:
    """Commands wait while the views cannot take an event: their rules would read a stale register."""
    log.error("%s", error)
    return unavailable(
        f"{error}; the register answers reads from the state before it and takes no command"
        " until an operator has it applied (see `unionledger rebuild`)",
        60,
        "Views stopped",
    )


def handle_moved(error: Exception) -> Response:
    """A write refused by a moved tenant's fence (tenants/moving.py): this process still had the
    tenant's old copy open. It opens the new one at the next request; nothing was written."""
    if not fenced(error):
        return handle_database(error)
    tenant = (request.view_args or {}).get("tenant")
    if tenant is not None:
        current_app.extensions["unionledger"].stores.retire(tenant)
    return unavailable("the tenant has just moved to another server; nothing was recorded: send it again", 1)


def handle_unexpected(error: Exception) -> Response:
    original = getattr(error, "original_exception", None) or error
    if database_away(original):  # raised from a broken connection, in whatever it was wrapped
        return handle_unavailable(original)
    log.exception("unexpected error", exc_info=original)
    return problem(500, "Internal error", "the service failed; nothing you sent caused this")


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(TenantBusy, handle_busy)
    for fence in (TenantMoved, psycopg.errors.CheckViolation, persistence.IntegrityError):
        app.register_error_handler(fence, handle_moved)
    app.register_error_handler(ViewsStopped, handle_stopped)
    app.register_error_handler(ViewsUnavailable, handle_views_unavailable)
    for kind in DATABASE_ERRORS:
        app.register_error_handler(kind, handle_database)
    app.register_error_handler(Exception, handle_unexpected)
