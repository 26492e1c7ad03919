"""The service's log as JSON lines, each naming the request it belongs to.

A request's id comes from its ``X-Request-Id`` header when that is a short plain one (a proxy in
front set it), else it is made here; it is answered in the same header, so a caller can quote it.
Lines carry no token and no personal data: what a request did to whom is in the tenant's access
log and ledger, not here.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import g, has_request_context, request

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
    return sent if ACCEPTED_ID.match(sent) and not sent.startswith(("ul_", "uls_")) else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request's id and method and
    route (a URL's template, never its values), and the record's structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            line["request_id"] = request_id()
            line["method"] = request.method
            line["route"] = request.url_rule.rule if request.url_rule is not None else None
        elif (answering := ANSWERING.get()) is not None:
            line["request_id"], line["method"], line["route"] = answering
        line.update(getattr(record, FIELDS, None) or {})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def install(level: int = logging.INFO, stream=None) -> logging.Handler:
    """Send the service's loggers to ``stream`` (standard error) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    return handler
