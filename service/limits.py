"""How large a request may be: a JSON body, or an import's upload, each up to a limit of its own.

The limit is checked from Content-Length before anything reads the body, and counted while
reading a body sent without one (chunked): either way the answer is 413.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO

from flask import current_app, g, request
from flask_smorest import abort
from werkzeug.exceptions import RequestEntityTooLarge

from tenants.settings import Settings

TAKES_UPLOAD = "takes_upload"  # the attribute of a view function that takes uploads


def upload(view: Callable) -> Callable:
    """Declare that an endpoint takes file uploads: its request may be as large as an upload."""
    setattr(view, TAKES_UPLOAD, True)
    return view


def body_limit(settings: Settings, view: Callable | None) -> tuple[int, str]:
    """The most bytes a request to ``view`` may send, and the variable that sets it."""
    if getattr(view, TAKES_UPLOAD, False):
        return settings.max_upload_bytes, "UNIONLEDGER_MAX_UPLOAD_BYTES"
    return settings.max_body_bytes, "UNIONLEDGER_MAX_BODY_BYTES"


def check_size(settings: Settings) -> None:
    """Before the body is read: refuse one announced too large; count one sent without a length."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint is not None else None
    limit, _ = body_limit(settings, view)
    g.body_limit = limit
    if request.content_length is not None:
        if request.content_length > limit:
            abort(413, message=f"the request body is {request.content_length} bytes; this call takes at most {limit}")
        request.max_content_length = limit
    else:
        # werkzeug's own cap (max_content_length) stops reading at the limit without telling
        # whether more was sent, and would hand the JSON parser a body cut short.
        request.environ["wsgi.input"] = _Capped(request.environ["wsgi.input"], limit)


class _Capped(io.RawIOBase):
    """A body sent without a length, refused (413) as soon as it runs past the limit."""

    def __init__(self, stream: IO[bytes], limit: int):
        self._stream, self._limit, self._read = stream, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(min(len(buffer), self._limit + 1 - self._read))  # one byte past tells
        self._read += len(data)
        if self._read > self._limit:
            raise RequestEntityTooLarge()
        buffer[: len(data)] = data
        return len(data)
