"""One writer per tenant on this machine: every worker's grouped commands to a tenant join one
group commit.

Each worker process has its own group commit (application/grouping.py); two workers' groups
would take turns at the tenant lock, each smaller than one group of both. So the first worker
to write to a tenant takes that tenant's file lock in a directory its workers share and becomes
its writer: it listens on a Unix socket beside the lock, and the other workers send it their
commands, checked and sealed, and wait for its answer. If the writer dies, its lock is freed
and the next worker to write takes it; a command sent to a writer that died before answering is
answered as a worker's crash is (an error: saved or not is not known, never saved twice, as the
ledger refuses a second admission of an id).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_FRAME = struct.Struct("!I")
_installed: Writers | None = None


class WriterGone(Exception):
    """The tenant's writer on this machine went away with the command in hand: whether it was
    saved is not known (as when a worker dies during a request). Ask again, or read it back."""

    def __init__(self, message: str = "the tenant's writer on this machine stopped before answering; try again"):
        super().__init__(message)
        self.message = message


def install(directory: Path, use: Callable[[str], Any]) -> Writers:
    """This process's writers, in ``directory`` (shared by the machine's workers); ``use`` opens a
    tenant's store for the commands it is sent (``TenantStores.use``)."""
    global _installed
    _installed = Writers(Path(directory), use)
    return _installed


def installed() -> Writers | None:
    return _installed


def uninstall() -> None:
    global _installed
    if _installed is not None:
        _installed.close()
    _installed = None


class Writers:
    """Which tenants this process writes for the machine, and its connections to the others'."""

    def __init__(self, directory: Path, use: Callable[[str], Any]):
        self.directory = directory
        self.use = use
        self._owned: dict[str, tuple[int, socket.socket]] = {}  # tenant: its lock file and listening socket
        self._mutex = threading.Lock()
        self._local = threading.local()  # each thread's connections, by tenant
        self._closed = False

    def submit(self, tenant: str, request: tuple, local: Callable[[], Any]) -> Any:
        """``request``'s outcome: by ``local`` if this process writes for ``tenant`` (or no writer
        answers: the tenant lock keeps any two writers apart), else by the tenant's writer."""
        if tenant in self._owned:
            return local()
        conn = self._connection(tenant)
        if conn is None:
            self._claim(tenant)
            return local()
        try:
            data = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
            conn.sendall(_FRAME.pack(len(data)) + data)
            status, value = pickle.loads(_receive(conn))
        except Exception:  # noqa: BLE001 - no answer read: whether it was saved is not known
            self._forget(tenant)
            raise WriterGone() from None
        if status == "error":
            raise value
        return value

    # ---- the sending side -------------------------------------------------------------------------
    def _connection(self, tenant: str) -> socket.socket | None:
        """This thread's connection to ``tenant``'s writer; None if none answers."""
        conns: dict[str, socket.socket] = self._local.__dict__.setdefault("conns", {})
        conn = conns.get(tenant)
        if conn is not None and _closed(conn):  # a writer that went away since this thread's last command
            self._forget(tenant)
            conn = None
        if conn is None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(str(self._path(tenant, "sock")))
            except OSError:
                conn.close()
                return None
            conns[tenant] = conn
        return conn

    def _forget(self, tenant: str) -> None:
        conn = self._local.__dict__.get("conns", {}).pop(tenant, None)
        if conn is not None:
            conn.close()

    # ---- the writing side -------------------------------------------------------------------------
    def _claim(self, tenant: str) -> bool:
        """Become ``tenant``'s writer if no live process is (its lock is free)."""
        with self._mutex:
            if tenant in self._owned or self._closed:
                return tenant in self._owned
            fd = os.open(self._path(tenant, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            path = self._path(tenant, "sock")
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a dead writer's: the lock says no one listens there
            listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listening.bind(str(path))
            listening.listen(64)
            self._owned[tenant] = (fd, listening)
        threading.Thread(target=self._accept, args=(tenant, listening), name=f"writer-{tenant}", daemon=True).start()
        return True

    def _accept(self, tenant: str, listening: socket.socket) -> None:
        while True:
            try:
                conn, _ = listening.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(tenant, conn), name=f"writer-{tenant}-in", daemon=True).start()

    def _serve(self, tenant: str, conn: socket.socket) -> None:
        """Another worker's commands, one at a time, each answered with its outcome."""
        from application.register import submit_grouped  # the register submits through this module

        with conn:
            while True:
                try:
                    request = pickle.loads(_receive(conn))
                except (OSError, EOFError, pickle.UnpicklingError):
                    return
                try:
                    with self.use(tenant) as store:
                        answer: tuple = ("ok", submit_grouped(store, *request))
                except Exception as error:  # noqa: BLE001 - the command's own answer, given to its worker
                    answer = ("error", error)
                try:
                    data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - an error that does not pickle: answered by its text
                    data = pickle.dumps(("error", RuntimeError(str(answer[1]))), pickle.HIGHEST_PROTOCOL)
                try:
                    conn.sendall(_FRAME.pack(len(data)) + data)
                except OSError:
                    return

    def _path(self, tenant: str, kind: str) -> Path:
        return self.directory / f"{tenant}.{kind}"

    def close(self) -> None:
        """Stop writing for the tenants this process holds (their locks freed for another)."""
        with self._mutex:
            self._closed = True
            for tenant, (fd, listening) in self._owned.items():
                with contextlib.suppress(FileNotFoundError):
                    self._path(tenant, "sock").unlink()
                with contextlib.suppress(OSError):
                    listening.shutdown(socket.SHUT_RDWR)  # its accept returns
                listening.close()
                os.close(fd)
            self._owned.clear()


def _closed(conn: socket.socket) -> bool:
    """Whether the other end closed (between commands nothing else is there to read)."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _receive(conn: socket.socket) -> bytes:
    head = _exactly(conn, _FRAME.size)
    return _exactly(conn, _FRAME.unpack(head)[0])


def _exactly(conn: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = conn.recv_into(view[got:])
        if n == 0:
            raise EOFError("the connection closed")
        got += n
    return bytes(buffer)
