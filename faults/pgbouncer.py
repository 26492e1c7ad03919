"""A throwaway PgBouncer (Debian's) in transaction pooling mode in front of a PostgreSQL server,
on a port of its own, stopped when the block ends: for the tests of the service through a
transaction pooler and the bench's API through one. The server is not touched.
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

from bench.serving import free_port


class PgBouncerMissing(RuntimeError):
    """pgbouncer is not installed (apt-get install pgbouncer)."""


def installed() -> str | None:
    """The pgbouncer binary, or None where it is not installed."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    return binary if os.path.exists(binary) else None


@contextmanager
def pgbouncer(server_url: str, server_connections: int) -> Iterator[tuple[str, int]]:
    """PgBouncer in front of ``server_url`` with ``server_connections`` per database and user:
    yields the URL to connect through and its port. PgBouncerMissing where it is not installed,
    RuntimeError (with its log) if it does not start."""
    binary = installed()
    if binary is None:
        raise PgBouncerMissing("pgbouncer is not installed (apt-get install pgbouncer)")
    server = urlparse(server_url)
    user = server.username or "postgres"
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # run as postgres where the caller runs as root: it must read its files
    users = folder / "userlist.txt"
    users.write_text(f'"{user}" ""\n')
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
                f"admin_users = {user}",
                "pool_mode = transaction",
                f"default_pool_size = {server_connections}",
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
    # Its output to a file, not a pipe nobody reads: a long run's log lines would fill a pipe and stop it.
    output = folder / "output.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = "".join(p.read_text() for p in (output, folder / "pgbouncer.log") if p.exists())
                raise RuntimeError(f"pgbouncer did not start: {log[-2000:]}")
            time.sleep(0.2)
        yield server._replace(netloc=f"{user}@127.0.0.1:{port}").geturl(), port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # its safe shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def answers(port: int) -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode == 0
