"""Where a rebuild's time goes, per thread and per statement, split between Python and PostgreSQL.

    python -m bench.profile_rebuild --database-url URL --control-schema S --tenant T

Rebuilds the views (with ``--tree``, the Merkle tree too) of an existing PostgreSQL tenant once, timing every
statement each connection sends: its wall time and the CPU its backend used meanwhile (read from
/proc: the server must run on this machine), grouped by the statement's first words. Per thread
(the lanes and the tree) it prints the wall time, the thread's own CPU and its backends' CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from projections.base import ViewCursor

TICK = os.sysconf("SC_CLK_TCK")
_WORDS = re.compile(r"\s+")
_NOISE = re.compile(r"'[^']*'|\b\d+\b|%s|\$\d+")


def backend_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def kind_of(statement: str) -> str:
    text = _NOISE.sub("?", _WORDS.sub(" ", statement)).strip()
    return text[:90]


class Profile:
    def __init__(self) -> None:
        self.statements: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        self.local = threading.local()
        self.lock = threading.Lock()

    def timed(self, kind: str, connection: Any, call: Callable[[], Any]) -> Any:
        if getattr(self.local, "inside", False):
            return call()
        self.local.inside = True
        pid = connection.info.backend_pid
        wall, db = time.perf_counter(), backend_cpu(pid)
        try:
            return call()
        finally:
            self.local.inside = False
            figures = self.statements[(threading.current_thread().name, kind)]
            with self.lock:
                figures[0] += 1
                figures[1] += time.perf_counter() - wall
                figures[2] += backend_cpu(pid) - db

    def install(self) -> None:
        profile = self
        execute = psycopg.Cursor.execute
        insert_rows = ViewCursor.insert_rows
        update_rows = ViewCursor.update_rows

        def cursor_execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
            text = query if isinstance(query, str) else str(query)
            return profile.timed(kind_of(text), self.connection, lambda: execute(self, query, params, **kwargs))

        def view_insert_rows(self: ViewCursor, table: str, columns: Any, rows: Any) -> None:
            kind = f"insert_rows {table} ({'COPY' if len(rows) > 50 else 'VALUES'})"
            profile.timed(kind, self.raw.connection, lambda: insert_rows(self, table, columns, rows))

        def view_update_rows(self: ViewCursor, sql: str, columns: Any, rows: Any) -> None:
            profile.timed(kind_of(sql), self.raw.connection, lambda: update_rows(self, sql, columns, rows))

        psycopg.Cursor.execute = cursor_execute  # type: ignore[method-assign]
        ViewCursor.insert_rows = view_insert_rows  # type: ignore[method-assign]
        ViewCursor.update_rows = view_update_rows  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--control-schema", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--tree", action="store_true", help="make the ledger's Merkle tree again too")
    args = parser.parse_args()

    from projections import runner
    from tenants.settings import Settings
    from tenants.stores import TenantStore

    profile = Profile()
    threads: dict[str, list[float]] = {}
    spans: dict[str, tuple[float, float]] = {}  # each thread's start and end, from the rebuild's start
    began = time.perf_counter()
    in_threads = runner.in_threads

    def timed_thread(name: str, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            wall, own = time.perf_counter(), time.thread_time()
            try:
                work()
            finally:
                threads[name] = [time.perf_counter() - wall, time.thread_time() - own]
                spans[name] = (wall - began, time.perf_counter() - began)

        return run

    def profiled_threads(works: Any) -> Any:
        return in_threads([(name, timed_thread(name, work)) for name, work in works])

    runner.in_threads = profiled_threads  # type: ignore[assignment]
    finish = runner.Projector.finish

    def timed_finish(self: Any, *args: Any, **kwargs: Any) -> None:
        start = time.perf_counter() - began
        try:
            finish(self, *args, **kwargs)
        finally:
            spans["finishing"] = (start, time.perf_counter() - began)

    runner.Projector.finish = timed_finish  # type: ignore[method-assign]
    catch_up = runner.Projector.catch_up

    def timed_catch_up(self: Any, *args: Any, **kwargs: Any) -> int:
        start = time.perf_counter() - began
        try:
            return catch_up(self, *args, **kwargs)
        finally:
            spans[f"lane {kwargs.get('lane', runner.FOLLOWER)}"] = (start, time.perf_counter() - began)

    runner.Projector.catch_up = timed_catch_up  # type: ignore[method-assign]
    import tenants.stores as stores_module

    stores_module.in_threads = profiled_threads  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(database_url=args.database_url, control_schema=args.control_schema, data_dir=Path(data_dir))
        store = TenantStore(args.tenant, settings)
        try:
            profile.install()
            wall, own = time.perf_counter(), time.thread_time()
            began = wall
            events = store.rebuild(tree=args.tree)
            threads["MainThread"] = [time.perf_counter() - wall, time.thread_time() - own]
        finally:
            store.close()
    per_thread: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (thread, _kind), (_n, w, d) in profile.statements.items():
        per_thread[thread][0] += w
        per_thread[thread][1] += d
    print(f"{events:,} events in {threads['MainThread'][0]:.2f} s")
    heads = ("wall s", "from-to s", "Python CPU s", "in statements s", "backend CPU s")
    print(f"{'thread':24} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, (8, 12, 13, 16, 14), strict=True)))
    for name in [n for n in spans if n == "finishing" or n.startswith("lane ")]:
        start, end = spans[name]
        threads.setdefault(name, [end - start, 0.0])
    for name, (w, own) in sorted(threads.items()):
        sw, sd = per_thread.get(name, [0.0, 0.0])
        start, end = spans.get(name, (0.0, w))
        print(f"{name:24} {w:8.2f} {start:5.2f}-{end:6.2f} {own:13.2f} {sw:16.2f} {sd:14.2f}")
    python_cpu = sum(own for name, (_w, own) in threads.items() if name in per_thread or name == "MainThread")
    print(f"CPU in all: {python_cpu:.2f} s Python, {sum(d for _w, d in per_thread.values()):.2f} s backends")
    print(f"\n{'thread':16} {'n':>6} {'wall s':>7} {'db CPU s':>8}  statement")
    ranked = sorted(profile.statements.items(), key=lambda item: -item[1][1])
    for (thread, kind), (n, w, d) in ranked[: args.top]:
        print(f"{thread[:16]:16} {int(n):6} {w:7.2f} {d:8.2f}  {kind}")
    print(json.dumps({"events": events, "threads": threads}))


if __name__ == "__main__":
    main()
