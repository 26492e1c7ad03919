"""A throwaway PostgreSQL server of the fault suite's own, which it may restart and crash.

The shared server (the tests' 127.0.0.1:5432) is never touched: ``initdb`` makes a cluster in
a temporary folder, ``pg_ctl`` starts it on a free port and restarts it, cleanly (``-m fast``)
or as after a crash (``-m immediate``: every server process killed, recovery on start, the
UNLOGGED view tables emptied). ``initdb`` refuses to run as root, so as root every server
command runs as the ``postgres`` OS user (``runuser``), in a folder it owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.serving import free_port

OS_USER = "postgres"


def binaries() -> Path:
    """The folder of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/<version>/bin, else
    what ``pg_config --bindir`` says, else the folder of ``initdb`` on the PATH."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if found and (Path(found) / "initdb").exists():
            return Path(found)
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).resolve().parent
    raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")


class ThrowawayPostgres:
    """``with ThrowawayPostgres() as pg: pg.url``; stopped and removed on leaving."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        # As root, in /tmp rather than $TMPDIR, whose parents the postgres user may not enter.
        self.root = Path(tempfile.mkdtemp(prefix="unionledger-faults-pg-", dir="/tmp" if self.as_root else None))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        if self.as_root:
            owner = pwd.getpwnam(OS_USER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)
        if check and done.returncode:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{self.log_tail()}"
            )
        return done

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> ThrowawayPostgres:
        try:
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
            )
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.root}'",
                # The operating system never crashes here, only the server: what it wrote survives.
                "fsync": "off",
                "full_page_writes": "off",
                "max_connections": "200",
                "shared_buffers": "128MB",
            }
            with open(self.data / "postgresql.conf", "a") as conf:
                conf.write("\n# the fault suite's throwaway server\n")
                conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "start")

    def restart(self, mode: str) -> float:
        """``pg_ctl restart -m fast|immediate``, waiting until the server accepts connections
        again; returns the seconds it took."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-m", mode, "-w", "-t", "120", "restart")
        return time.monotonic() - started

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m immediate``: every server process killed at once, as in a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def __exit__(self, *_exc: object) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
