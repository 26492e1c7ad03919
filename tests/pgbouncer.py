"""A real PgBouncer (Debian's) in transaction pooling mode, in front of the test server, on a
port of its own: started for a test module, stopped after it. Few server connections for many
clients, so that consecutive transactions of one client land on different server connections,
as they do in production.

Where pgbouncer is not installed the tests that need it are skipped, except under CI, where they
fail (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import PG_URL, under_ci

SERVER_CONNECTIONS = 4  # per database and user: fewer than the service's clients


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def pgbouncer(server_url: str = PG_URL) -> Iterator[tuple[str, int]]:
    """PgBouncer in front of ``server_url``: yields the URL to connect through and its port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        if under_ci():
            pytest.fail("pgbouncer is required under CI and is not installed (apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed")
    server = urlparse(server_url)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # run as postgres where the tests run as root: it must read its files
    users = folder / "userlist.txt"
    users.write_text('"postgres" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={server.hostname or '127.0.0.1'} port={server.port or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {users}",
                "admin_users = postgres",
                "pool_mode = transaction",
                f"default_pool_size = {SERVER_CONNECTIONS}",
                "max_client_conn = 1000",
                "ignore_startup_parameters = extra_float_digits",
                f"logfile = {folder / 'pgbouncer.log'}",
                f"pidfile = {folder / 'pgbouncer.pid'}",
                "",
            ]
        )
    )
    for path in (users, config):
        path.chmod(0o644)
    command = [binary, str(config)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        shutil.chown(folder, "postgres")
        command = [binary, "-u", "postgres", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "pgbouncer.log").read_text() if (folder / "pgbouncer.log").exists() else ""
                output = process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
                pytest.fail(f"pgbouncer did not start: {output}{log}"[-2000:])
            time.sleep(0.2)
        yield f"postgresql://postgres@127.0.0.1:{port}{server.path or '/test'}", port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # its safe shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _answers(port: int) -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode == 0


def show(port: int, what: str) -> list[dict]:
    """PgBouncer's admin console: SHOW POOLS, SHOW STATS..."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(
        f"host=127.0.0.1 port={port} user=postgres dbname=pgbouncer", autocommit=True, prepare_threshold=None
    ) as conn:
        return conn.cursor(row_factory=dict_row).execute(f"SHOW {what}", prepare=False).fetchall()
