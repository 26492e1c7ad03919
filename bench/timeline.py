"""Where a single admission's time goes: each request's and each group commit's steps, timed.

``install`` (bench/variant_app.py, part ``timeline``) wraps gunicorn's gthread worker, the
register's group commit and the group's round trips, and writes one JSON line per request and
per group to ``<dir>/timeline-<pid>.jsonl``; ``python -m bench.timeline DIR`` then gives each
interval's median, p90 and p99 and the groups' sizes. Only for measuring: the service is not
changed, its functions are wrapped in the worker that serves the variant.

Times are ``time.monotonic()`` (one clock for every process on the machine); a group's CPU is
its leader thread's (``time.thread_time()``).
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

_local = threading.local()
_lines: list[dict] = []
_mutex = threading.Lock()
_groups = itertools.count()
_out: Path | None = None
FLUSH = 2000


def _keep(record: dict) -> None:
    with _mutex:
        _lines.append(record)
        full = len(_lines) >= FLUSH
    if full:
        _flush()


def _flush() -> None:
    global _lines
    with _mutex:
        lines, _lines = _lines, []
    if lines and _out is not None:
        with open(_out / f"timeline-{os.getpid()}.jsonl", "a") as f:
            f.write("".join(json.dumps(r) + "\n" for r in lines))


def _thread_stat() -> str:
    return f"/proc/self/task/{threading.get_native_id()}/schedstat"


def _schedstat(path: str) -> tuple[float, float]:
    """Seconds on a CPU and waiting in the run queue (Linux's schedstat)."""
    try:
        with open(path) as f:
            run, wait, _slices = f.read().split()
        return int(run) / 1e9, int(wait) / 1e9
    except OSError:
        return 0.0, 0.0


def install(directory: str) -> None:
    global _out
    _out = Path(directory)
    _out.mkdir(parents=True, exist_ok=True)
    atexit.register(_flush)

    from gunicorn.workers import gthread

    from application import commit, grouping
    from application.register import Register
    from persistence.one_trip import OneTrip

    worker = gthread.ThreadWorker
    enqueue, handle, finish = worker.enqueue_req, worker.handle, worker.finish_request

    def enqueue_req(self: Any, conn: Any) -> None:
        conn._tl_ready = time.monotonic()  # readable on the poller (or just accepted): handed to the pool
        enqueue(self, conn)

    def timed_handle(self: Any, conn: Any) -> Any:
        rec = {"conn": id(conn), "ready": getattr(conn, "_tl_ready", None), "start": time.monotonic()}
        _local.rec = rec
        try:
            return handle(self, conn)
        finally:
            rec["written"] = time.monotonic()
            _local.rec = None
            conn._tl_rec = rec
            if "exec" in rec:
                _keep(rec)

    def finish_request(self: Any, conn: Any, fs: Any) -> None:
        rec = getattr(conn, "_tl_rec", None)
        if rec is not None:
            rec["rearm"] = time.monotonic()  # the main thread puts the connection back on the poller
        finish(self, conn, fs)

    worker.enqueue_req, worker.handle, worker.finish_request = enqueue_req, timed_handle, finish_request

    execute = Register.execute

    def timed_execute(self: Any, command: Any) -> Any:
        rec = getattr(_local, "rec", None)
        if rec is not None:
            rec["exec"] = time.monotonic()
        return execute(self, command)

    Register.execute = timed_execute  # type: ignore[method-assign]

    submit = grouping.GroupCommit.submit

    def timed_submit(self: Any, *args: Any, **kwargs: Any) -> Any:
        rec = getattr(_local, "rec", None)
        if rec is not None:
            rec["checked"] = time.monotonic()
        try:
            return submit(self, *args, **kwargs)
        finally:
            if rec is not None:
                rec["woken"] = time.monotonic()

    grouping.GroupCommit.submit = timed_submit  # type: ignore[method-assign]

    class TimedPending(grouping.Pending):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._tl_rec = getattr(_local, "rec", None)
            if self._tl_rec is not None:
                self._tl_rec["enq"] = time.monotonic()

    grouping.Pending = TimedPending  # type: ignore[misc]

    lead_once = grouping.GroupCommit._lead_once

    def timed_lead_once(self: Any) -> None:
        g = {"gid": next(_groups), "pid": os.getpid(), "lead": time.monotonic(), "sends": []}
        _local.group = g
        cpu, sched = time.thread_time(), _schedstat(_thread_stat())
        try:
            lead_once(self)
        finally:
            g["cpu"] = time.thread_time() - cpu
            g["queued_cpu"] = _schedstat(_thread_stat())[1] - sched[1]  # the leader's run-queue wait
            g["end"] = time.monotonic()  # every caller of the group released
            _local.group = None
            _keep(g)

    grouping.GroupCommit._lead_once = timed_lead_once  # type: ignore[method-assign]

    original_commit = commit.commit

    def timed_commit(store: Any, take: Any) -> Any:
        g = getattr(_local, "group", None)

        def timed_take() -> Any:
            taken = take()
            if g is not None:
                g["taken"] = time.monotonic()
                g["size"] = len(taken)
                leader = getattr(_local, "rec", None)
                for item in taken:
                    rec = getattr(item, "_tl_rec", None)
                    if rec is not None:
                        rec["gid"] = g["gid"]
                        rec["leader"] = rec is leader
            return taken

        if g is not None:
            g["commit"] = time.monotonic()
        try:
            return original_commit(store, timed_take)
        finally:
            if g is not None:
                g["committed"] = time.monotonic()

    commit.commit = timed_commit

    original_decide = commit.decide

    def timed_decide(*args: Any, **kwargs: Any) -> Any:
        try:
            return original_decide(*args, **kwargs)
        finally:
            g = getattr(_local, "group", None)
            if g is not None:
                g["decided"] = time.monotonic()

    commit.decide = timed_decide

    send = OneTrip.send

    def timed_send(self: Any) -> None:
        g = getattr(_local, "group", None)
        if g is None or not self._kept:
            return send(self)
        backend = self._cursor.connection.info.backend_pid
        server, own = _schedstat(f"/proc/{backend}/schedstat"), _schedstat(_thread_stat())
        started = time.monotonic()
        try:
            send(self)
        finally:
            ended = time.monotonic()
            server_after, own_after = _schedstat(f"/proc/{backend}/schedstat"), _schedstat(_thread_stat())
            # the backend's CPU and run-queue wait in the trip, and the leader thread's
            spent = [b - a for a, b in zip(server + own, server_after + own_after)]
            g["sends"].append((started, ended, *spent))

    OneTrip.send = timed_send  # type: ignore[method-assign]


def timed_wsgi(wsgi: Any) -> Any:
    @functools.wraps(wsgi)
    def timed(environ: dict, start_response: Any) -> Any:
        rec = getattr(_local, "rec", None)
        if rec is not None:
            rec["wsgi"] = time.monotonic()
        try:
            return wsgi(environ, start_response)
        finally:
            if rec is not None:
                rec["wsgi_end"] = time.monotonic()

    return timed


REQUEST_STEPS = [
    ("waiting for a thread", "ready", "start"),
    ("request read and parsed", "start", "wsgi"),
    ("Flask: auth, body, route", "wsgi", "exec"),
    ("checks in the request's thread (scope, sealing)", "exec", "checked"),
    ("queued", "checked", "enq"),
    ("queued until its group is taken", "enq", "taken"),
    ("taken to lock asked (first trip sent)", "taken", "send1"),
    ("first trip: lock, ends, aggregates", "send1", "back1"),
    ("deciding", "back1", "decided"),
    ("decided to second trip sent (rows built)", "decided", "send2"),
    ("second trip: writes and COMMIT", "send2", "back2"),
    ("COMMIT back to group end (answers, wakes)", "back2", "end"),
    ("group end to caller woken", "end", "woken"),
    ("woken to answer built (Flask after)", "woken", "wsgi_end"),
    ("answer built to written", "wsgi_end", "written"),
    ("server: ready to written", "ready", "written"),
    ("written to connection back on the poller", "written", "rearm"),
    ("back on the poller to next request ready (client's turn)", "rearm", "next_ready"),
]


def _percentiles(values: list[float]) -> tuple[float, float, float, int]:
    values = sorted(values)
    n = len(values)
    if not n:
        return float("nan"), float("nan"), float("nan"), 0
    at = lambda q: values[min(n - 1, int(q * n))]  # noqa: E731
    return at(0.5), at(0.9), at(0.99), n


def report(directory: str, skip: float = 1.0) -> str:
    """Each interval's median, p90 and p99 (ms) over the requests and groups written to ``directory``;
    the first ``skip`` seconds of each worker's records are left out (warm-up)."""
    requests: list[dict] = []
    groups: dict[tuple[int, int], dict] = {}
    for path in sorted(Path(directory).glob("timeline-*.jsonl")):
        pid = int(path.stem.split("-")[1])
        for line in path.read_text().splitlines():
            r = json.loads(line)
            if "sends" in r:
                groups[(pid, r["gid"])] = r
            else:
                r["pid"] = pid
                requests.append(r)
    by_conn: dict[tuple, list[dict]] = {}
    for r in requests:
        by_conn.setdefault((r["pid"], r["conn"]), []).append(r)
    for rs in by_conn.values():
        rs.sort(key=lambda r: r["start"])
        for earlier, later in zip(rs, rs[1:]):
            if later.get("ready") and later["ready"] > earlier.get("rearm", 1e18):
                earlier["next_ready"] = later["ready"]
    out = []
    rows = []
    for r in requests:
        g = groups.get((r["pid"], r.get("gid", -1)))
        if g is None or len(g["sends"]) < 2:  # the first trip and the one with COMMIT
            continue
        r = dict(r)
        r.update(taken=g["taken"], send1=g["sends"][0][0], back1=g["sends"][0][1], decided=g["decided"])
        r.update(send2=g["sends"][-1][0], back2=g["sends"][-1][1], end=g["end"])
        rows.append(r)
    first = min((r["start"] for r in rows), default=0.0) + skip
    rows = [r for r in rows if r["start"] >= first]
    out.append(f"{len(rows)} admissions in {len({(r['pid'], r['gid']) for r in rows})} groups")
    if any(len(g["sends"]) > 2 for g in groups.values()):
        out.append("three trips (the group taken once the lock is had): 'taken' follows the first trip's")
        out.append("sending, and 'deciding' holds the aggregates' trip")
    out.append(f"{'interval':60} {'median':>7} {'p90':>7} {'p99':>7}  (ms)")
    sides = (("all", lambda r: True), ("followers", lambda r: not r["leader"]), ("leaders", lambda r: r["leader"]))
    for who, keep in sides:
        out.append(f"-- {who}")
        for name, a, b in REQUEST_STEPS:
            values = [1000 * (r[b] - r[a]) for r in rows if keep(r) and r.get(a) is not None and r.get(b) is not None]
            p50, p90, p99, n = _percentiles(values)
            out.append(f"{name:60} {p50:7.2f} {p90:7.2f} {p99:7.2f}  n={n}")
    gs = [g for g in groups.values() if len(g["sends"]) >= 2 and g["lead"] >= first]
    out.append(f"-- groups ({len(gs)})")
    steps = [
        ("lead to commit called", "lead", "commit"),
        ("commit called to taken (thread lock, connection, BEGIN)", "commit", "taken"),
        ("taken to first trip sent", "taken", "send1"),
        ("first trip", "send1", "back1"),
        ("deciding", "back1", "decided"),
        ("decided to second trip sent", "decided", "send2"),
        ("second trip", "send2", "back2"),
        ("COMMIT back to committed", "back2", "committed"),
        ("committed to every caller released", "committed", "end"),
        ("lead to end (wall)", "lead", "end"),
    ]
    for g in gs:
        g.update(send1=g["sends"][0][0], back1=g["sends"][0][1], send2=g["sends"][-1][0], back2=g["sends"][-1][1])
    for name, a, b in steps:
        p50, p90, p99, n = _percentiles([1000 * (g[b] - g[a]) for g in gs])
        out.append(f"{name:60} {p50:7.2f} {p90:7.2f} {p99:7.2f}")
    for trip in (0, -1):
        for what, k in (
            ("backend on a CPU", 2),
            ("backend in the run queue", 3),
            ("leader thread on a CPU", 4),
            ("leader thread in the run queue", 5),
        ):
            p50, p90, p99, n = _percentiles([1000 * g["sends"][trip][k] for g in gs if len(g["sends"][trip]) > k])
            out.append(f"{f'trip {trip % 3 + 1}: {what}':60} {p50:7.2f} {p90:7.2f} {p99:7.2f}")
        rest = [
            1000 * (s[1] - s[0] - s[2] - s[3]) for g in gs for s in [g["sends"][trip]] if len(s) > 3
        ]  # neither on a CPU nor waiting for one: the lock, the disk, the socket, the GIL
        p50, p90, p99, n = _percentiles(rest)
        out.append(
            f"{f'trip {trip % 3 + 1}: backend neither running nor runnable':60} {p50:7.2f} {p90:7.2f} {p99:7.2f}"
        )
    p50, p90, p99, n = _percentiles([1000 * g.get("queued_cpu", 0.0) for g in gs])
    out.append(f"{'leader thread in the run queue per group':60} {p50:7.2f} {p90:7.2f} {p99:7.2f}")
    p50, p90, p99, n = _percentiles([1000 * g["cpu"] for g in gs])
    out.append(f"{'leader thread CPU per group':60} {p50:7.2f} {p90:7.2f} {p99:7.2f}")
    p50, p90, p99, n = _percentiles([1000 * g["cpu"] / g["size"] for g in gs if g["size"]])
    out.append(f"{'leader thread CPU per admission':60} {p50:7.3f} {p90:7.3f} {p99:7.3f}")
    sizes = sorted(g["size"] for g in gs)
    p50, p90, p99, n = _percentiles([float(s) for s in sizes])
    mean = sum(sizes) / max(1, len(sizes))
    top = max(sizes, default=0)
    out.append(f"group size: mean {mean:.1f}, median {p50:.0f}, p90 {p90:.0f}, p99 {p99:.0f}, max {top}")
    hist: dict[int, int] = {}
    for s in sizes:
        hist[s] = hist.get(s, 0) + 1
    out.append("sizes (size: groups): " + ", ".join(f"{k}: {v}" for k, v in sorted(hist.items())))
    # the time the variant was served (its rounds): groups less than 0.2 s apart
    active, until = 0.0, None
    for lead, end in sorted((g["lead"], g["end"]) for g in gs):
        if until is None or lead > until + 0.2:
            until, active = end, active + end - lead
        elif end > until:
            active, until = active + end - until, end
    busy = sum(g["end"] - g["lead"] for g in gs)
    held = sum(g["back2"] - g["back1"] for g in gs)
    out.append(f"served {active:.1f} s: {sum(sizes) / max(active, 1e-9):.0f} admissions/s")
    out.append(f"groups in flight per worker (mean): {busy / max(active, 1e-9) / 2:.2f}")
    out.append(f"tenant lock held (first trip back to COMMIT back), share of the time: {held / max(active, 1e-9):.2f}")
    return "\n".join(out)


if __name__ == "__main__":
    print(report(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0))
