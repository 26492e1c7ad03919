"""One admission at a time through the real app, in process: its SQL statements, round trips and profile.

    python -m bench.api_profile --members 20000 [--requests 300] [--profile out.prof] [--unscoped]

Loads a province of demo/generator.py into a scratch tenant on PostgreSQL
(``UNIONLEDGER_BENCH_DATABASE_URL``, default the local test database), builds the service's app
as gunicorn's worker does (metrics in multiprocess mode, JSON log lines), then posts single
admissions with a clerk's scoped token (or, ``--unscoped``, the federation admin's), one at a
time through Flask's test client. Every PostgreSQL connection's protocol is traced by libpq
while the admissions run: the frontend's ``Sync`` and ``Query`` messages are the round trips,
its ``Execute`` and ``Query`` the statements. Prints per admission: statements, round trips,
wall and CPU time, and (with ``--profile``) the top of a cProfile of the admissions alone.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import shutil
import statistics
import tempfile
import time
import uuid
import weakref
from collections import Counter
from pathlib import Path

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="unionledger-profile-metrics-"))

import psycopg
from psycopg import sql

from application.register import Register
from bench import kept
from bench.admissions import admission_bodies, busiest_unit
from demo.generator import generate_province, load_province
from domain.clock import vietnam_today
from tenants.bootstrap import bootstrap
from tenants.settings import schema_name


class Tracing:
    """Every psycopg connection made from now on, so that libpq can trace them all at once."""

    def __init__(self) -> None:
        self.connections: weakref.WeakSet = weakref.WeakSet()
        self._connect = psycopg.Connection.connect.__func__  # type: ignore[attr-defined]
        tracing = self

        def connect(cls, *args, **kwargs):
            conn = tracing._connect(cls, *args, **kwargs)
            tracing.connections.add(conn)
            return conn

        psycopg.Connection.connect = classmethod(connect)  # type: ignore[method-assign, assignment]

    def start(self, path: Path) -> None:
        from psycopg.pq import Trace

        self._file = open(path, "w")  # noqa: SIM115 - closed in stop()
        for conn in list(self.connections):
            conn.pgconn.trace(self._file.fileno())
            conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)

    def stop(self) -> Counter:
        for conn in list(self.connections):
            if not conn.closed:
                conn.pgconn.untrace()
        self._file.close()
        counts: Counter = Counter()
        for line in Path(self._file.name).read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[0] == "F":
                counts[parts[2].split(" ", 1)[0]] += 1
        return counts


def show_statements(client, path: str, body: dict, headers: dict) -> None:
    """Print each statement one admission runs, in order, with whether it was pipelined."""
    seen: list[str] = []
    originals = {}
    for cls, name in ((psycopg.Cursor, "execute"), (psycopg.Cursor, "executemany"), (psycopg.Connection, "execute")):
        original = getattr(cls, name)
        originals[(cls, name)] = original

        def wrapped(self, query, *args, _original=original, _name=name, **kwargs):
            conn = self if isinstance(self, psycopg.Connection) else self.connection
            text = query.as_string(conn) if not isinstance(query, str | bytes) else str(query)
            piped = " [pipeline]" if conn._pipeline is not None else ""
            seen.append(f"{_name}{piped}: {' '.join(text.split())[:160]}")
            return _original(self, query, *args, **kwargs)

        setattr(cls, name, wrapped)
    try:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
    print("statements of one admission:")
    for line in seen:
        print("  " + line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--unscoped", action="store_true", help="the federation admin's token, not a scoped clerk's")
    parser.add_argument("--profile", default=None, help="write the cProfile of the admissions here")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--show", action="store_true", help="print the statements of one admission")
    parser.add_argument("--pooled", action="store_true", help="as UNIONLEDGER_POOLER=transaction (connected direct)")
    args = parser.parse_args(argv)

    suffix = uuid.uuid4().hex[:8]
    settings = kept.settings(suffix, "bench_ctl", "profile", 4, pooler="transaction" if args.pooled else None)
    tmp = settings.data_dir
    tenant = f"bench-{suffix}"
    tracing = Tracing()
    platform = bootstrap(settings)
    try:
        token = platform.provision(tenant, "Profiled province")
        province = generate_province(args.members, args.seed, vietnam_today())
        started = time.perf_counter()
        with platform.stores.use(tenant) as store:
            load_province(Register(store), province, actor="bench")
            unions = province.open_unions()
            today = vietnam_today()
            unit, scoped = busiest_unit(store, unions, today)
        print(f"loaded {args.members:,} members in {time.perf_counter() - started:.1f} s")
        if not args.unscoped:
            token = platform.registry.issue_token(tenant, "clerk", "bench-clerk", unit)

        from service import logs
        from service.app import create_app

        log_path = tmp / "service.log"
        log_file = open(log_path, "w")  # noqa: SIM115 - the worker's standard error, as gunicorn has it
        logs.install(logging.INFO, log_file)
        app = create_app(platform=platform)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        rng = __import__("random").Random(args.seed)
        admit = admission_bodies(rng, scoped, today)

        def admission(n: int) -> dict:
            return admit(f"prof-{suffix}-{n}", n)

        path = f"/v1/tenants/{tenant}/members"
        for n in range(20):  # warm: the store opened, the token known, the structure read
            response = client.post(path, json=admission(10**6 + n), headers=headers)
            assert response.status_code == 201, response.get_json()
        time.sleep(1.5)  # let the worker's column warming finish (it shares the GIL)
        bodies = [admission(n) for n in range(args.requests)]
        trace = tmp / "trace.txt"
        tracing.start(trace)
        profile = cProfile.Profile() if args.profile else None
        walls, cpus = [], []
        for body in bodies:
            w, c = time.perf_counter(), time.thread_time()
            if profile:
                profile.enable()
            response = client.post(path, json=body, headers=headers)
            if profile:
                profile.disable()
            walls.append((time.perf_counter() - w) * 1000)
            cpus.append((time.thread_time() - c) * 1000)
            assert response.status_code == 201, response.get_json()
        counts = tracing.stop()
        if args.show:
            show_statements(client, path, admission(10**7), headers)
        n = args.requests
        statements = (counts["Execute"] + counts["Query"]) / n
        trips = (counts["Sync"] + counts["Query"]) / n
        who = "federation admin (no scope)" if args.unscoped else f"clerk scoped to {unit} ({len(scoped)} unions)"
        print(f"{n} admissions, one at a time, {who}:")
        print(f"  statements per admission   {statements:.2f}")
        print(f"  round trips per admission  {trips:.2f}")
        print(f"  wall ms: median {statistics.median(walls):.2f}, mean {statistics.mean(walls):.2f}")
        print(f"  CPU ms of this thread: median {statistics.median(cpus):.2f}, mean {statistics.mean(cpus):.2f}")
        print(f"  frontend messages: {dict(counts)}")
        if profile:
            profile.dump_stats(args.profile)
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
            stats.print_stats(args.top)
            print(out.getvalue())
        log_file.close()
    finally:
        platform.close()
        with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
            for schema in (schema_name(tenant), settings.control_schema):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
