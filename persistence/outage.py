"""Whether an error means the database is away, rather than that something is wrong with what was
asked: the one test the HTTP errors (503, not 500) and the views (wait, not stop) both apply.

A server stopping, crashing or being promoted cuts its connections at any statement, and the
error reaches the caller in many forms: psycopg's own, the library's wrapping of it (whose class
follows psycopg's, so that a read-only standby's refusal is an InternalError), or another
exception raised from it. Each is looked through to what it was raised from.
"""

from __future__ import annotations

import psycopg
from eventsourcing import persistence


class DatabaseUnreachable(Exception):
    """A pool gave no connection in time: the database is away (or every connection stayed busy
    that long). Not a psycopg error, so that the library's recorders do not retry it: they retry
    an OperationalError ten times, and would wait ten times as long before the request answers."""


AWAY = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
    DatabaseUnreachable,
)
# SQLSTATEs of a server going away or not (or no longer) the primary: connection exceptions
# (class 08), operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
# connect now, ...), and 25006: a read-only transaction, as on a standby or a demoted primary.
AWAY_STATES = ("08", "57P", "25006")


def database_away(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, says the database does not answer
    (or not as the primary): the same request will do once it is back."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AWAY):
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith(AWAY_STATES):
            return True
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False
