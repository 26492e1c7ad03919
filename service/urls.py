"""What a URL may carry: only text the register can hold (domain/text.py).

werkzeug decodes ``%00`` in a path or a query string to a real NUL, which PostgreSQL refuses as
a query parameter; invalid UTF-8 (``%ED%A0%80``, ``%FF``) arrives as U+FFFD in a path and stays
percent-encoded in a query string, so neither carries a lone surrogate. A raw control character
in the request line or a header, gunicorn refuses itself (400).
"""

from __future__ import annotations

from flask import request
from flask_smorest import abort

from domain.text import text_fault


def check_url_text() -> None:
    """Before the call reads any store: a path segment the register cannot hold names nothing that
    exists (404, as any unknown id); a query parameter holding such text is refused (422 naming it).
    Runs after authentication, so a request without a valid token is still 401. The probes and
    the OpenAPI document read nothing from their URL."""
    if request.endpoint is None or not request.path.startswith("/v1/"):
        return
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and text_fault(value) is not None:
            abort(404, message=f"{name.removesuffix('_id')} {value!r} does not exist")
    for name, value in request.args.items(multi=True):
        fault = text_fault(name) or text_fault(value)
        if fault is not None:
            abort(422, errors={"query": {name: [fault]}})
