"""A second PostgreSQL server for the tests that spread tenants over two: a cluster of the
machine's PostgreSQL (Debian's pg_createcluster) on a port of its own, made and started here if
it is not running, with trust for 127.0.0.1 as the main one has. Never the main cluster.

Where it cannot be made (no pg_createcluster, not root) the tests that need it are skipped,
except under CI, where they fail.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import under_ci

SECOND_PORT = int(os.environ.get("UNIONLEDGER_TEST_SECOND_PORT") or 5440)
SECOND_URL = (
    os.environ.get("UNIONLEDGER_TEST_SECOND_DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{SECOND_PORT}/test"
)
CLUSTER = "second"


def _ready(port: int = SECOND_PORT) -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode == 0


def _version() -> str:
    return sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip() or done.stdout.strip()}")


def start_second_server() -> None:
    """Make (once) and start the cluster ``second`` on SECOND_PORT, with its database ``test``."""
    if not _ready():
        version = _version()
        config = Path(f"/etc/postgresql/{version}/{CLUSTER}")
        if not config.exists():
            _run("pg_createcluster", version, CLUSTER, "--port", str(SECOND_PORT))
            hba = config / "pg_hba.conf"
            # trust for the tests' connections over 127.0.0.1, before any other rule (as the main cluster has)
            hba.write_text("host all all 127.0.0.1/32 trust\n" + hba.read_text())
        _run("pg_ctlcluster", "--skip-systemctl-redirect", version, CLUSTER, "start")
        deadline = time.monotonic() + 30
        while not _ready() and time.monotonic() < deadline:
            time.sleep(0.5)
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={SECOND_PORT} user=postgres dbname=postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'test'").fetchone() is None:
            conn.execute("CREATE DATABASE test")


def need_second_server() -> str:
    """The second server's URL, started if need be; skipped (failed under CI) where it cannot be."""
    try:
        start_second_server()
    except Exception as error:  # noqa: BLE001 - whatever stopped it is the reason to report
        if under_ci():
            pytest.fail(f"the second PostgreSQL server on port {SECOND_PORT} is required under CI: {error}")
        pytest.skip(f"no second PostgreSQL server on port {SECOND_PORT}: {error}")
    return SECOND_URL


def free_port_url() -> str:
    """A PostgreSQL URL where nothing listens: a server that is away."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/test"
