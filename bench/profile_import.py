"""Where a member import's time goes, per phase, split between this process and PostgreSQL.

    python -m bench.profile_import --members 100000 [--rounds 2] [--timeline 0.05]

A province is generated; its units and structure are recorded, then its member sheet is imported
into a tenant of its own, each round in a fresh tenant. Each phase of the import is timed: wall
time, CPU of the writing thread, and CPU of the PostgreSQL backend of the import's connection
(read from /proc: the server must run on this machine). The building of chunks (sealing and
encoding) is timed where it runs: a thread of its own or the builder processes. Three variants
take turns in each round (see ``variant_round``), each followed by a COPY of the same rows as
``bench.run`` takes it, the baseline of its ratio. With ``--timeline`` the import is also sampled
every so many seconds (``Timeline``): when the backend and each thread of this process ran on a core,
and when they waited for one, to see which phases run side by side and which in series.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import application.imports as imports_module
from application.register import Register
from demo.generator import generate_province, load_province
from domain.clock import vietnam_today
from tenants.bootstrap import bootstrap
from tenants.settings import schema_name

from . import kept
from .run import Bench

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def scheduled(path: str) -> tuple[float, float]:
    """Seconds a task (process or thread) has run on a core and waited for one (schedstat)."""
    try:
        ran, waited, _slices = Path(path).read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(ran) / 1e9, int(waited) / 1e9


class Timeline:
    """The import sampled every ``every`` seconds: how much of each interval the backend and each
    named thread of this process ran on a core, and waited for one (others' work on the machine),
    and which phases were under way in it."""

    def __init__(self, every: float) -> None:
        self.every, self.samples, self.spans = every, [], []
        self.backend: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="timeline", daemon=True)

    def start(self) -> None:
        self.began = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def span(self, name: str, start: float, end: float) -> None:
        self.spans.append((name, start - self.began, end - self.began))

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            names = {t.native_id: t.name for t in threading.enumerate()}
            tasks = {
                names.get(int(tid), "other"): scheduled(f"/proc/self/task/{tid}/schedstat")
                for tid in os.listdir("/proc/self/task")
            }
            tasks.pop("timeline", None)
            tasks["backend"] = scheduled(f"/proc/{self.backend}/schedstat") if self.backend else (0.0, 0.0)
            self.samples.append((time.perf_counter() - self.began, tasks))

    def summary(self, bucket: float = 1.0) -> dict:
        """Per ``bucket`` seconds: the share of it each task ran and waited, and the phases in it;
        and in all: the seconds the backend and the process ran alone, together, or neither."""
        rows, alone, prev = [], defaultdict(float), None
        buckets: dict[int, dict] = {}
        for at, tasks in self.samples:
            if prev is not None:
                dt = at - prev[0]
                ran = {k: (v[0] - prev[1].get(k, v)[0]) / dt for k, v in tasks.items()}
                waited = {k: (v[1] - prev[1].get(k, v)[1]) / dt for k, v in tasks.items()}
                db = min(1.0, ran.get("backend", 0.0))
                py = min(1.0, sum(v for k, v in ran.items() if k != "backend"))
                alone["both"] += min(db, py) * dt
                alone["backend alone"] += max(0.0, db - py) * dt
                alone["process alone"] += max(0.0, py - db) * dt
                alone["neither"] += (1 - max(db, py)) * dt
                alone["process waited for a core"] += sum(v for k, v in waited.items() if k != "backend") * dt
                alone["backend waited for a core"] += waited.get("backend", 0.0) * dt
                b = buckets.setdefault(int(at // bucket), {"ran": defaultdict(float), "waited": defaultdict(float)})
                for k in ran:
                    b["ran"][k] += ran[k] * dt / bucket
                    b["waited"][k] += waited[k] * dt / bucket
            prev = (at, tasks)
        for i in sorted(buckets):
            lo, hi = i * bucket, (i + 1) * bucket
            phases = sorted({n.strip() for n, s, e in self.spans if s < hi and e > lo})
            rows.append(
                {
                    "t": lo,
                    "ran": {k: round(v, 2) for k, v in buckets[i]["ran"].items() if v >= 0.01},
                    "waited": {k: round(v, 2) for k, v in buckets[i]["waited"].items() if v >= 0.01},
                    "phases": phases,
                }
            )
        return {"seconds": {k: round(v, 2) for k, v in alone.items()}, "buckets": rows}


class Phases:
    """Seconds per phase: wall, this thread's CPU, the backend's CPU."""

    def __init__(self, timeline: Timeline | None = None) -> None:
        self.figures: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        self.backend: int | None = None
        self.timeline = timeline

    def timed(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wall, own = time.perf_counter(), time.thread_time()
            db = backend_cpu(self.backend) if self.backend else 0.0
            try:
                return call(*args, **kwargs)
            finally:
                if self.timeline is not None:
                    self.timeline.span(name, wall, time.perf_counter())
                figures = self.figures[name]
                figures[0] += time.perf_counter() - wall
                figures[1] += time.thread_time() - own
                figures[2] += (backend_cpu(self.backend) - db) if self.backend else 0.0

        return wrapper

    def rounded(self) -> dict[str, dict[str, float]]:
        return {
            name: {"wall_s": round(w, 2), "python_cpu_s": round(p, 2), "db_cpu_s": round(d, 2)}
            for name, (w, p, d) in self.figures.items()
        }


def profiled_import(store: Any, province: Any, every: float | None = None) -> dict:
    """The member sheet imported with each phase timed (and sampled every ``every`` seconds)."""
    timeline = Timeline(every) if every else None
    phases = Phases(timeline)
    projector, chain, vault = store.projector, store.chain, store.vault
    saved = {
        "insert_within": imports_module.insert_within,
        "insert_copy_binary": imports_module.insert_copy_binary,
        "plan_import": imports_module.plan_import,
        "import_events": imports_module.import_events,
    }
    originals = [
        (projector, "apply_stored"),
        (chain, "link_stored"),
        (chain, "hashed"),
        (chain, "hashed_canonical"),
        (chain, "store_hashed"),
        (vault, "keep"),
        (store, "extend_chain_locked"),
        (store, "analyze"),
        (store, "catch_up_locked"),
        (imports_module.FreshTables, "swap"),
        (imports_module.FreshTables, "build_indexes"),
    ]
    kept = [(obj, name, getattr(obj, name)) for obj, name in originals]

    def first_insert(recorder: Any, cur: Any, stored: Any) -> Any:
        if phases.backend is None and cur.dialect == "postgres":
            phases.backend = cur.raw.connection.info.backend_pid
            if timeline is not None:
                timeline.backend = phases.backend
        return phases.timed("write events", saved["insert_within"])(recorder, cur, stored)

    def first_copied(recorder: Any, cur: Any, rows: bytes, count: int) -> Any:
        if phases.backend is None:
            phases.backend = cur.raw.connection.info.backend_pid
            if timeline is not None:
                timeline.backend = phases.backend
        return phases.timed("write events", saved["insert_copy_binary"])(recorder, cur, rows, count)

    built = {"chunks": 0}

    def import_events(*args: Any, **kwargs: Any) -> Any:
        """The chunks' building, timed in the thread that runs it (the builder, without workers)."""
        chunks = saved["import_events"](*args, **kwargs)
        while True:
            wall, own = time.perf_counter(), time.thread_time()
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            figures = phases.figures["build chunks (beside)"]
            if timeline is not None:
                timeline.span("build chunks (beside)", wall, time.perf_counter())
            figures[0] += time.perf_counter() - wall
            figures[1] += time.thread_time() - own
            built["chunks"] += 1
            yield chunk

    imports_module.insert_within = first_insert
    imports_module.insert_copy_binary = first_copied
    imports_module.plan_import = phases.timed("plan (parse, validate)", saved["plan_import"])
    imports_module.import_events = import_events
    names = {
        "apply_stored": "write views",
        "link_stored": "chain and tree",
        "hashed": "chain and tree hashed (beside)",
        "hashed_canonical": "chain and tree hashed (beside)",
        "store_hashed": "chain and tree",
        "keep": "keys and index tokens",
        "extend_chain_locked": "chain extended",
        "analyze": "statistics",
        "catch_up_locked": "catch up",
        "swap": "indexes built, tables swapped in",  # a first import's (persistence.fresh)
        "build_indexes": "  of which indexes built",
    }
    for obj, name, call in kept:
        setattr(obj, name, phases.timed(names[name], call))
    for projection in projector.projections:
        projection.process_stored = phases.timed(
            f"  view {type(projection).__name__}", projection.__class__.process_stored.__get__(projection)
        )
    builders = imports_module._builders
    workers = list(builders._processes or {}) if builders is not None else []  # type: ignore[attr-defined]
    worker_cpu = sum(backend_cpu(pid) for pid in workers)
    cpu, wall = time.process_time(), time.perf_counter()
    if timeline is not None:
        timeline.start()
    try:
        plan = Register(store).import_rows({"members": province.member_rows()}, actor="bench")
        assert not plan.errors, plan.errors[:3]
    finally:
        if timeline is not None:
            timeline.stop()
        for name, call in saved.items():
            setattr(imports_module, name, call)
        for obj, name, call in kept:
            setattr(obj, name, call)
        for projection in projector.projections:
            del projection.process_stored
    wall = time.perf_counter() - wall
    return {
        "members": province.n_members,
        "wall_s": round(wall, 2),
        "members_per_s": round(province.n_members / wall),
        "process_cpu_s": round(time.process_time() - cpu, 2),
        "builders_cpu_s": round(sum(backend_cpu(pid) for pid in workers) - worker_cpu, 2),
        "db_cpu_s": round(
            sum(
                d for name, (_w, _p, d) in phases.figures.items() if not name.startswith(" ") and "(beside)" not in name
            ),
            2,
        ),
        "phases": phases.rounded(),
        **({"timeline": timeline.summary()} if timeline is not None else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", default=None)
    parser.add_argument("--timeline", type=float, default=None, help="sample the import every so many seconds")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which of them, in turn: " + ", ".join(VARIANTS))
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    settings = kept.settings(suffix, "bench_ctl", "profile", 2)
    province = generate_province(args.members, args.seed, vietnam_today())
    platform = bootstrap(settings)
    results: dict[str, Any] = {"rounds": []}
    tenants = []
    try:
        for round_ in range(args.rounds):
            variants = [v for v in VARIANTS if v in args.variants.split(",")]
            for variant in (
                variants[round_ % len(variants) :] + variants[: round_ % len(variants)]
            ):  # each first in turn
                figures = variant_round(
                    platform, province, f"profile-{suffix}-{variant}-{round_}", variant, args.timeline
                )
                tenants.append(figures["tenant"])
                bench = Bench(argparse.Namespace(members=args.members, seed=args.seed, reuse=None))
                bench.copy(province)
                figures["copy_rps"] = round(bench.results["copy_rps"])
                figures["import_ratio"] = round(figures["members_per_s"] / bench.results["copy_rps"], 3)
                with psycopg.connect(bench.conninfo, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(bench.scratch)))
                shutil.rmtree(bench.tmp, ignore_errors=True)
                print(json.dumps(figures, indent=2), flush=True)
                results["rounds"].append(figures)
    finally:
        platform.close()
        shutil.rmtree(settings.data_dir, ignore_errors=True)
        with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
            for tenant in tenants:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name(tenant))))
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.control_schema)))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


VARIANTS = ("before", "thread", "slow-handoff", "processes")


def variant_round(platform: Any, province: Any, tenant: str, variant: str, every: float | None = None) -> dict:
    """The member sheet imported into a tenant of its own, its chunks built by a thread of the
    importing process, the index rows written one by one (``before``) or as sorted COPY text
    (``thread``; ``slow-handoff``: the interpreter lock handed on at Python's default interval),
    or built by one builder process (``processes``)."""
    platform.provision(tenant, "Profiled province")
    saved = imports_module.BUILDERS, imports_module.index_rows, imports_module.WRITE_SWITCH_INTERVAL
    imports_module.BUILDERS = 1 if variant == "processes" else 0
    if variant == "slow-handoff":
        imports_module.WRITE_SWITCH_INTERVAL = None
    if variant == "before":
        imports_module.index_rows = lambda tokens: None  # type: ignore[assignment,return-value]
    try:
        with platform.stores.use(tenant) as store:
            load_structure(store, province)
            if variant == "processes":
                imports_module._builder_pool().submit(int).result()  # started beforehand, as for later imports
            figures = profiled_import(store, province, every)
    finally:
        imports_module.BUILDERS, imports_module.index_rows, imports_module.WRITE_SWITCH_INTERVAL = saved
    return {"variant": variant, "tenant": tenant, **figures}


def load_structure(store: Any, province: Any) -> None:
    """The province's units, workplaces and unions, as ``load_province`` records them."""
    load_province(Register(store), _WithoutMembers(province))


class _WithoutMembers:
    """A province whose member sheet is empty and which has nothing to follow up."""

    def __init__(self, province: Any):
        self._province = province

    def __getattr__(self, name: str) -> Any:
        return getattr(self._province, name)

    def member_rows(self):
        return iter(())

    def followups(self, actor: str):
        return iter(())


if __name__ == "__main__":
    main()
