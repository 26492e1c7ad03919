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

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import tuple_row


class OneTrip:
    """A cursor whose statements go to the server together, when an answer is needed."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.connection = conn
        self._binder = psycopg.ClientCursor(conn)
        self._cursor = conn.cursor(row_factory=tuple_row)
        self._kept: list[str] = []
        self._results: list[list[tuple]] = []  # each statement's rows, of the text sent last
        self._sent = 0  # texts sent so far
        self.trips = 0

    def execute(self, query: Any, params: Sequence[Any] | None = None, **_options: Any) -> OneTrip:
        text = self._binder.mogrify(query, params) if params else _text(query, self.connection)
        self._kept.append(text)
        return self

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
