"""Statements kept until an answer is needed, then sent to PostgreSQL as one text: one round trip.

A command's transaction holds the tenant lock while it writes, and its thread shares the GIL with
the worker's other threads. Each time psycopg waits on the socket it lets the GIL go, and getting
it back can take a switch interval or more while other threads run Python; a pipeline still waits
once per statement. ``OneTrip`` binds each statement's parameters on the client and keeps the
text; a read (``fetchone``, ``fetchall``, ``rowcount``) or ``send`` sends everything kept as one
simple query (one message, one wait for its answers) and reads the last statement's result.

Used as the raw cursor of a ``ViewCursor`` marked ``pipelined`` (so that nothing tries COPY), on
an autocommit connection: the transaction's BEGIN and COMMIT are statements of the text too.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import tuple_row


class OneTrip:
    """A cursor whose statements go to the server together, when an answer is needed."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.connection = conn
        self._binder = psycopg.ClientCursor(conn)
        # Values are quoted here (``literal``) where the server reads them as this module writes
        # them: standard conforming strings, UTF-8; anything else is psycopg's to quote.
        self._quick = (
            conn.info.parameter_status("standard_conforming_strings") == "on" and conn.info.encoding == "utf-8"
        )
        self._cursor = conn.cursor(row_factory=tuple_row)
        self._kept: list[str] = []
        self._results: list[list[tuple]] = []  # each statement's rows, of the text sent last
        self._sent = 0  # texts sent so far
        self.trips = 0

    def execute(self, query: Any, params: Sequence[Any] | None = None, **_options: Any) -> OneTrip:
        if not params:
            text = _text(query, self.connection)
        elif self._quick and isinstance(query, str):
            text = bound(query, params, self._one)
        else:
            text = self._binder.mogrify(query, params)
        self._kept.append(text)
        return self

    def _one(self, value: Any) -> str:
        return self._binder.mogrify("%s", (value,))

    def executemany(self, query: Any, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.execute(query, row)

    def ticket(self) -> tuple[int, int]:
        """The last statement kept, to read its rows once sent (``rows``)."""
        return self._sent, len(self._kept) - 1

    def send(self) -> None:
        """Send what is kept, as one text, and wait for its answers (the first error is raised)."""
        if not self._kept:
            return
        text = ";\n".join(self._kept)
        self._kept = []
        self._sent += 1
        self.trips += 1
        self._cursor.execute(text.encode(), prepare=False)
        self._results = []
        while True:
            self._results.append(self._cursor.fetchall() if self._cursor.description else [])
            if not self._cursor.nextset():
                break

    def rows(self, ticket: tuple[int, int]) -> list[tuple]:
        """The rows of the statement of ``ticket`` (its text sent first if it is not yet)."""
        if ticket[0] == self._sent:
            self.send()
        elif ticket[0] != self._sent - 1:
            raise ValueError("the rows of a text sent before the last are not kept")
        return self._results[ticket[1]]

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def fetchall(self) -> list[tuple]:
        """The last statement's rows."""
        return self.rows(self.ticket()) if self._kept else self._results[-1]

    @property
    def rowcount(self) -> int:
        self.send()
        return self._cursor.rowcount

    def rollback(self) -> None:
        """End the transaction the text began, whatever state it is in (the kept statements are dropped)."""
        self._kept = []
        if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._cursor.execute(b"ROLLBACK", prepare=False)


def _text(query: Any, conn: psycopg.Connection[Any]) -> str:
    if isinstance(query, bytes):
        return query.decode()
    if isinstance(query, str):
        return query.replace("%%", "%")  # as the server would have received it bound
    return query.as_string(conn)


# ---- quoting on the client ---------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"%%|%s")


@functools.lru_cache(maxsize=512)
def _cached_parts(query: str) -> tuple[str, ...]:
    return _split(query)


def _split(query: str) -> tuple[str, ...]:
    """The text around a query's ``%s`` placeholders, ``%%`` read as ``%``."""
    parts, piece, at = [], [], 0
    for found in _PLACEHOLDER.finditer(query):
        piece.append(query[at : found.start()])
        at = found.end()
        if found.group() == "%%":
            piece.append("%")
        else:
            parts.append("".join(piece))
            piece = []
    piece.append(query[at:])
    parts.append("".join(piece))
    return tuple(parts)


def bound(query: str, params: Sequence[Any], otherwise: Callable[[Any], str]) -> str:
    """``query`` with its parameters written in as literals (``literal``; ``otherwise`` quotes what
    it does not know), as psycopg's ClientCursor would send it, without its per-call overhead."""
    parts = _cached_parts(query) if len(query) <= 4096 else _split(query)
    if len(parts) != len(params) + 1:
        raise psycopg.ProgrammingError(
            f"the query has {len(parts) - 1} placeholders but {len(params)} parameters were passed"
        )
    out = [parts[0]]
    for value, after in zip(params, parts[1:]):
        out.append(literal(value, otherwise))
        out.append(after)
    return "".join(out)


def literal(value: Any, otherwise: Callable[[Any], str]) -> str:
    """A value as an SQL literal, for a server with standard conforming strings: None, text,
    integers, booleans, bytes, and lists of one of text, integers, UUIDs and bytes; ``otherwise``
    for anything else (and for text holding NUL, which psycopg refuses with its own error)."""
    kind = type(value)
    if value is None:
        return "NULL"
    if kind is str:
        if "\x00" in value:
            return otherwise(value)
        return "'" + value.replace("'", "''") + "'"
    if kind is int:
        return str(value) if value >= 0 else f" {value}"
    if kind is bool:
        return "true" if value else "false"
    if kind is bytes:
        return "'\\x" + value.hex() + "'::bytea"
    if kind is list and value:
        array = _array(value)
        if array is not None:
            return array
    return otherwise(value)


def _array(items: list) -> str | None:
    kinds = {type(item) for item in items if item is not None}
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    if kind is int:
        return "'{" + ",".join("NULL" if i is None else str(i) for i in items) + "}'::int8[]"
    if kind is uuid.UUID:
        return "'{" + ",".join("NULL" if i is None else i.hex for i in items) + "}'::uuid[]"
    if kind is bytes:
        return "'{" + ",".join("NULL" if i is None else '"\\\\x' + i.hex() + '"' for i in items) + "}'::bytea[]"
    if kind is str:
        if any(i is not None and "\x00" in i for i in items):
            return None
        quoted = ("NULL" if i is None else '"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
        return "'{" + ",".join(quoted).replace("'", "''") + "}'"
    return None
