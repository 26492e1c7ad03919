"""A real PgBouncer (Debian's) in transaction pooling mode, in front of the test server, on a
port of its own: started for a test module, stopped after it. Few server connections for many
clients, so that consecutive transactions of one client land on different server connections,
as they do in production.

Where pgbouncer is not installed the tests that need it are skipped, except under CI, where they
fail (.ci/run installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from faults.pgbouncer import installed
from faults.pgbouncer import pgbouncer as started
from tests.conftest import PG_URL, under_ci

# Per database and user: fewer than the service's clients. Creating a tenant holds three
# transactions at once (the provisioning lock, the new store's lock, the store's first checks), so
# with four a connection held meanwhile by another client left it waiting for the pooler's
# query_wait_timeout.
SERVER_CONNECTIONS = 6


@contextmanager
def pgbouncer(server_url: str = PG_URL) -> Iterator[tuple[str, int]]:
    """PgBouncer in front of ``server_url``: yields the URL to connect through and its port."""
    if installed() is None:
        if under_ci():
            pytest.fail("pgbouncer is required under CI and is not installed (apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed")
    with started(server_url, SERVER_CONNECTIONS) as found:
        yield found


def show(port: int, what: str) -> list[dict]:
    """PgBouncer's admin console: SHOW POOLS, SHOW STATS..."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(
        f"host=127.0.0.1 port={port} user=postgres dbname=pgbouncer", autocommit=True, prepare_threshold=None
    ) as conn:
        return conn.cursor(row_factory=dict_row).execute(f"SHOW {what}", prepare=False).fetchall()
