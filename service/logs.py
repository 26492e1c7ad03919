"""The service's log as JSON lines, each naming the request it belongs to.

A request's id comes from its ``X-Request-Id`` header when that is a short plain one (a proxy in
front set it), else it is made here; it is answered in the same header, so a caller can quote it.
Lines carry no token and no personal data: what a request did to whom is in the tenant's access
log and ledger, not here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import g, has_request_context, request

from service.json_text import one_shot

REQUEST_ID_HEADER = "X-Request-Id"
ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # anything else (or a token pasted there) is replaced
FIELDS = "fields"  # a record's extra, structured fields: log.info("...", extra={FIELDS: {...}})
LOGGERS = ("service", "tenants", "projections", "application", "console")
# The id, method and route of a request answered outside Flask (service/admissions.py), for its lines
ANSWERING: ContextVar[tuple[str, str, str] | None] = ContextVar("unionledger_answering", default=None)


def request_id() -> str:
    """This request's id, taken or made at its first use."""
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER, ""))
    return rid


def accepted_request_id(sent: str) -> str:
    """The id a request sent in ``X-Request-Id`` if it is a short plain one, else a new one."""
    return sent if ACCEPTED_ID.match(sent) and not sent.startswith(("ul_", "uls_")) else new_request_id()


def new_request_id() -> str:
    """``uuid.uuid4().hex`` (the same bits: random, version 4, RFC 4122's variant), without the
    ``UUID`` object made and checked for each request."""
    number = int.from_bytes(os.urandom(16), "big") & _UUID4_KEPT | _UUID4_SET
    return f"{number:032x}"


_UUID4_KEPT = ~((0xC000 << 48) | (0xF000 << 64))  # uuid.UUID(version=4) clears the variant's and version's bits
_UUID4_SET = (0x8000 << 48) | (4 << 76)  # and sets them


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request's id and method and
    route (a URL's template, never its values), and the record's structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        error = self.formatException(record.exc_info) if record.exc_info else None
        fields = getattr(record, FIELDS, None)
        return json_line(record.created, record.levelname.lower(), record.name, record.getMessage(), fields, error)


_encode = one_shot(json.JSONEncoder(ensure_ascii=False, default=str))  # json.dumps(line, the same arguments)


def json_line(
    created: float, level: str, logger: str, message: str, fields: dict | None, error: str | None = None
) -> str:
    """A record's line as ``JsonFormatter`` writes it."""
    line: dict = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
    }
    if has_request_context():
        line["request_id"] = request_id()
        line["method"] = request.method
        line["route"] = request.url_rule.rule if request.url_rule is not None else None
    elif (answering := ANSWERING.get()) is not None:
        line["request_id"], line["method"], line["route"] = answering
    if fields:
        line.update(fields)
    if error is not None:
        line["error"] = error
    return _encode(line)


_installed: list[logging.StreamHandler] = []  # the handler ``install`` made last


def info(logger: logging.Logger, message: str, args: tuple, fields: dict) -> None:
    """``logger.info(message, *args, extra={FIELDS: fields})``, the line written at once when the
    one handler it would reach is the JSON lines ``install`` made: one line a request, without a
    log record made, its caller looked up and its handlers walked. Otherwise through logging."""
    handler = _installed[0] if _installed else None
    if handler is None or logger.filters or handler.filters or handler.level > logging.INFO:
        logger.info(message, *args, extra={FIELDS: fields})
        return
    reached, each = 0, logger  # the handlers the record would reach, as Logger.callHandlers finds them
    while each is not None:
        for found in each.handlers:
            if found is not handler:
                reached = 2
            reached += 1
        if not each.propagate:
            break
        each = each.parent  # type: ignore[assignment]
    if reached != 1 or not logger.isEnabledFor(logging.INFO):
        logger.info(message, *args, extra={FIELDS: fields})
        return
    text = json_line(time.time(), "info", logger.name, message % args, fields) + handler.terminator
    with handler.lock:  # type: ignore[union-attr]  # made by the handler's constructor
        try:
            stream = handler.stream
            stream.write(text)
            if hasattr(stream, "flush"):
                stream.flush()
        except Exception:  # noqa: BLE001 - as StreamHandler.emit: reported by the handler, never raised
            handler.handleError(logger.makeRecord(logger.name, logging.INFO, "", 0, message, args, None))


def install(level: int = logging.INFO, stream=None) -> logging.Handler:
    """Send the service's loggers to ``stream`` (standard error) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    _installed[:] = [handler]
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    return handler
