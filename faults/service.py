"""The service under test, as users run it (gunicorn with service/gunicorn.conf.py), and its clients.

Gunicorn is started by bench.serving; here are what the faults need besides: the workers'
process ids (children of the master), which worker holds a given client connection, and a
client that keeps every answer with when it was asked and answered.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.serving import Gunicorn, service_env
from tenants.settings import Settings

WORKERS = 2


@dataclass
class Answer:
    """One request: its status (0 when no answer came: refused, reset, timed out), body,
    ``Retry-After`` header, and when it was sent and answered (``time.monotonic``)."""

    method: str
    path: str
    status: int
    body: Any
    retry_after: str | None
    started: float
    ended: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def shown(self) -> str:
        if self.status == 0:
            return f"{self.method} {self.path}: no answer ({self.error})"
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return f"{self.method} {self.path}: {self.status}" + (f" {detail}" if detail else "")


class Client:
    """One keep-alive connection to the service, opened again after a failure (or a pause long
    enough for gunicorn to have closed it), so that a connection lost is one request lost."""

    IDLE = 1.0  # gunicorn keeps an idle connection 2 s

    def __init__(self, port: int, token: str | None = None, timeout: float = 300):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last = 0.0

    def connect(self) -> int:
        """Open the connection now; returns its local port (to find the worker holding it)."""
        self.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.conn.connect()
        self.last = time.monotonic()
        return self.conn.sock.getsockname()[1]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        if self.conn is None or time.monotonic() - self.last > self.IDLE:
            self.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Content-Type": content_type}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data = json.dumps(body).encode()
        started = time.monotonic()
        try:
            self.conn.request(method, path, data, headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Answer(method, path, 0, None, None, started, time.monotonic(), type(error).__name__)
        ended = self.last = time.monotonic()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:300].decode(errors="replace")
        return Answer(method, path, response.status, parsed, response.getheader("Retry-After"), started, ended)


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body with each ``(file name, content)`` as a part named ``file``."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, content in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Service:
    """gunicorn serving ``settings``' store with 2 workers on a free port (``with Service(...)``)."""

    def __init__(self, settings: Settings, log: Path, **extra_env: str):
        self.settings = settings
        self.env = service_env(
            settings.database_url or "",
            settings.control_schema,
            settings.admin_token or "",
            settings.data_dir,
            UNIONLEDGER_WORKERS=str(WORKERS),
            **extra_env,
        )
        self.gunicorn = Gunicorn("service.wsgi:app", self.env, log)

    def __enter__(self) -> Service:
        self.gunicorn.__enter__()
        self.wait_for_workers()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.gunicorn.__exit__(*exc)

    @property
    def port(self) -> int:
        return self.gunicorn.port

    def client(self, token: str | None = None) -> Client:
        return Client(self.port, token)

    def call(self, method: str, path: str, token: str | None = None, body: Any = None, **kw: Any) -> Answer:
        """One request on a connection of its own."""
        client = self.client(token)
        try:
            return client.call(method, path, body, **kw)
        finally:
            client.close()

    # ---- workers ---------------------------------------------------------------------------
    def workers(self) -> list[int]:
        """The master's children: its workers."""
        master = self.gunicorn.process.pid
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master and fields[0] != "Z":
                found.append(int(entry))
        return sorted(found)

    def wait_for_workers(self, timeout: float = 60) -> float:
        """Wait until every worker is up again (the master starts one for each that died) and
        answers; returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if len(self.workers()) == WORKERS and self.call("GET", "/healthz").status == 200:
                return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not get its {WORKERS} workers back within {timeout:.0f} s")

    def worker_holding(self, client_port: int) -> int | None:
        """The worker whose socket is the server's end of the connection from ``client_port``."""
        inodes = set()
        with open("/proc/net/tcp") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if int(local.split(":")[1], 16) == self.port and int(remote.split(":")[1], 16) == client_port:
                    inodes.add(f"socket:[{inode}]")
        for pid in self.workers():
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                            return pid
                    except OSError:
                        continue
            except OSError:
                continue
        return None

    def kill(self, pid: int) -> None:
        """kill -9: the worker gets no chance to finish or clean up anything."""
        os.kill(pid, signal.SIGKILL)
