"""A PgBouncer in transaction pooling mode in front of the bench's server, for the API through a
pooler (``api_ratio_pooler``): on a port of its own, stopped after the phase (faults/pgbouncer.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from faults.pgbouncer import installed
from faults.pgbouncer import pgbouncer as started

# Server connections per database and user: what the two workers' pools hold at most (a tenant
# store's 2 + 3 and the control store's 4, each), so that the pooler, not its size, is measured.
SERVER_CONNECTIONS = 18


@contextmanager
def pgbouncer(server_url: str) -> Iterator[str | None]:
    """PgBouncer in front of ``server_url``: yields the URL to connect through (None where
    pgbouncer is not installed)."""
    if installed() is None:
        yield None
        return
    with started(server_url, SERVER_CONNECTIONS) as (url, _port):
        yield url
