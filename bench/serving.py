"""HTTP for the benchmarks: gunicorn started with the service's config, and keep-alive clients."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_command(app: str, port: int) -> list[str]:
    """``app`` served as users run it: gunicorn with the service's config (run from the repository's
    root), on ``port`` of localhost."""
    return [sys.executable, "-m", "gunicorn", "-c", "service/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class Gunicorn:
    """``gunicorn -c service/gunicorn.conf.py --bind 127.0.0.1:<free port> <app>`` with ``env``,
    from ``root`` (default this checkout; another one serves its own code)."""

    def __init__(self, app: str, env: dict[str, str], log: Path, root: Path = ROOT):
        self.app, self.env, self.log, self.root = app, env, log, root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self._out = open(self.log, "ab")
        self._log_start = self._out.tell()
        self.process = subprocess.Popen(
            gunicorn_command(self.app, self.port),
            cwd=self.root,
            env=self.env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn ({self.app}) did not start: " + self.log.read_text()[-3000:])

    def every_worker_opened(self, path: str, token: str, timeout: float = 120) -> int:
        """Ask ``path`` on several connections at once until every worker has opened the tenant
        (each logs it): a worker the measured requests reach first would otherwise open it and
        read its columns inside a measured request. Returns the rounds asked."""
        assert self.process is not None
        workers = max(1, len(child_pids(self.process.pid)))
        deadline, rounds = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            with open(self.log, "rb") as log:
                log.seek(self._log_start)
                if log.read().decode(errors="replace").count("reading its indicator columns ahead") >= workers:
                    return rounds
            rounds += 1
            self.asked_at_once(path, token, 2 * workers)
        raise RuntimeError(f"not every worker opened the tenant within {timeout:.0f} s")

    def asked_at_once(self, path: str, token: str, connections: int = 4) -> None:
        """GET ``path`` on ``connections`` new connections at once (so that each worker is likely
        to answer some), for what the answers leave in the workers, not the answers."""

        def ask() -> None:
            with contextlib.suppress(OSError):
                self.request("GET", path, token)

        asking = [threading.Thread(target=ask) for _ in range(connections)]
        for thread in asking:
            thread.start()
        for thread in asking:
            thread.join()

    def workers_warm(self, timeout: float = 600) -> float:
        """Wait until every worker that opened a tenant has read its indicator columns ahead (each
        logs both), so that a measurement sees the steady state; returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with open(self.log, "rb") as log:
                log.seek(self._log_start)
                text = log.read().decode(errors="replace")
            opened = text.count("reading its indicator columns ahead")
            warm = text.count("indicator columns read ahead in") + text.count("indicator columns not read ahead")
            if opened and warm >= opened:
                return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"the workers did not read their indicator columns within {timeout:.0f} s")

    def __exit__(self, *_exc: Any) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()

    def request(self, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            return call(conn, method, path, token, body)
        finally:
            conn.close()


def call(
    conn: http.client.HTTPConnection, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else None


def hammer(
    port: int,
    path: str,
    token: str,
    body: Callable[[int, int], dict],
    *,
    clients: int,
    seconds: float,
    limit: int,
    expect: int = 201,
) -> dict[str, Any]:
    """``clients`` threads, each on one keep-alive connection, POST ``body(client, n)`` to ``path``
    until ``seconds`` pass or ``limit`` requests were sent; rps counts answers with ``expect``.
    ``latencies_ms`` holds every request's latency, for ``combined``."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    numbers = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    samples: list[str] = []

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            n = next(numbers)
            if n >= limit:
                break
            payload = json.dumps(body(c, n)).encode()
            started = time.perf_counter()
            try:
                conn.request("POST", path, payload, headers)
                response = conn.getresponse()
                data = response.read()
                ok = response.status == expect
                if not ok and len(samples) < 5:
                    samples.append(f"{response.status} {data[:300]!r}")
            except (OSError, http.client.HTTPException) as error:
                ok = False
                if len(samples) < 5:
                    samples.append(repr(error))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latencies[c].append(time.perf_counter() - started)
            errors[c] += not ok
        conn.close()

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    every = [x * 1000 for lat in latencies for x in lat]
    failed = sum(errors)
    if samples:
        print("  errors, e.g.: " + "; ".join(samples), file=sys.stderr)
    return combined([{"requests": len(every), "errors": failed, "seconds": elapsed, "latencies_ms": every}])


def combined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs (of ``hammer``) as one: requests per second over their total time, percentiles over
    all their requests."""
    every = [x for part in parts for x in part["latencies_ms"]]
    requests, errors = sum(p["requests"] for p in parts), sum(p["errors"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    run = {
        "requests": requests,
        "errors": errors,
        "seconds": seconds,
        "rps": (requests - errors) / seconds,
        "p50_ms": percentile(every, 50),
        "p99_ms": percentile(every, 99),
        "latencies_ms": every,
    }
    if parts and all("cpu_s" in p for p in parts):  # rounds of hammer_workers: the workers' CPU per answer
        run["cpu_ms"] = 1000 * sum(p["cpu_s"] for p in parts) / max(1, requests)
    if parts and all("pg_cpu_s" in p for p in parts):  # and their PostgreSQL backends'
        run["pg_cpu_ms"] = 1000 * sum(p["pg_cpu_s"] for p in parts) / max(1, requests)
    return run


def child_pids(parent: int) -> list[int]:
    """The processes ``parent`` started (gunicorn's workers), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def descendants(parent: int) -> list[int]:
    """Every process under ``parent``: a worker's opening process (persistence/vault.py) and the
    fork server it was started from."""
    found = child_pids(parent)
    return found + [d for child in found for d in descendants(child)]


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used so far, every thread of it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hammer_workers(server: Gunicorn, path: str, token: str, body: Callable[[int, int], dict], **load: Any) -> dict:
    """``hammer`` against ``server``, with the CPU its workers used meanwhile (``cpu_s``): what the
    machine's other load changes least, summed by ``combined`` into ``cpu_ms`` per answer; and
    the CPU of the PostgreSQL backends its workers are connected to (``pg_cpu_s``, ``pg_cpu_ms``)."""
    assert server.process is not None
    workers = descendants(server.process.pid)
    cpu = sum(cpu_seconds(pid) for pid in workers)
    backends = backends_of(workers)
    pg = {pid: backend_seconds(pid) for pid in backends}
    part = hammer(server.port, path, token, body, **load)
    part["cpu_s"] = sum(cpu_seconds(pid) for pid in workers) - cpu
    part["cpu_ms"] = 1000 * part["cpu_s"] / max(1, part["requests"])
    if backends is not None:
        after = backends_of(workers) or []
        part["pg_cpu_s"] = sum(backend_seconds(pid) - pg.get(pid, 0.0) for pid in set(after) | set(pg))
        part["pg_cpu_ms"] = 1000 * part["pg_cpu_s"] / max(1, part["requests"])
    return part


def backends_of(workers: list[int]) -> list[int] | None:
    """The PostgreSQL backends (local server, read from /proc) serving ``workers``' connections:
    their sockets' ports matched with pg_stat_activity's ``client_port``; None if not found out."""
    inodes = set()
    for pid in workers:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    try:
        import psycopg

        url = os.environ.get("UNIONLEDGER_BENCH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", (sorted(ports),)
            ).fetchall()
    except Exception:  # noqa: BLE001 - a figure beside the bench's, not one it needs
        return None
    return [row[0] for row in rows]


def backend_seconds(pid: int) -> float:
    """A backend's CPU time so far (0 once it has ended)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except OSError:
        return 0.0


def service_env(
    database_url: str, control_schema: str, admin_token: str, data_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment gunicorn runs with: the bench's database, control schema and admin token."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("UNIONLEDGER_DEMO", "UNIONLEDGER_ACCESS_LOG", "UNIONLEDGER_BIND")
    }
    env.update(
        UNIONLEDGER_DATABASE_URL=database_url,
        UNIONLEDGER_CONTROL_SCHEMA=control_schema,
        UNIONLEDGER_ADMIN_TOKEN=admin_token,
        UNIONLEDGER_DATA_DIR=str(data_dir),
        PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
        **extra,
    )
    return env
