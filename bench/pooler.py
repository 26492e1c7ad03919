"""A PgBouncer (Debian's) in transaction pooling mode in front of the bench's server, for the API
through a pooler (``api_ratio_pooler``): on a port of its own, stopped after the phase."""

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

# Server connections per database and user: what the two workers' pools hold at most (a tenant
# store's 2 + 3 and the control store's 4, each), so that the pooler, not its size, is measured.
SERVER_CONNECTIONS = 18


@contextmanager
def pgbouncer(server_url: str) -> Iterator[str | None]:
    """PgBouncer in front of ``server_url``: yields the URL to connect through (None where
    pgbouncer is not installed)."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        yield None
        return
    server = urlparse(server_url)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bench-pgbouncer-"))
    folder.chmod(0o755)  # run as postgres where the bench runs as root: it must read its files
    users = folder / "userlist.txt"
    users.write_text(f'"{server.username or "postgres"}" ""\n')
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
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode:
            if process.poll() is not None or time.monotonic() > deadline:
                log = folder / "pgbouncer.log"
                raise RuntimeError("pgbouncer did not start: " + (log.read_text()[-2000:] if log.exists() else ""))
            time.sleep(0.2)
        netloc = f"{server.username or 'postgres'}@127.0.0.1:{port}"
        yield server._replace(netloc=netloc).geturl()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # its safe shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
