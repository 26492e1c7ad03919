"""PostgreSQL's CPU per admission in a group commit, in process, variants in turns.

    python -m bench.admission_cpu --reuse SUFFIX --members 200000 [--groups 150] [--size 6]
        [--rounds 4] [--variants base,no_x,...] [--capture FILE]

On a province a ``bench.run --keep`` loaded (``--reuse`` its suffix, the same ``--members`` and
``--seed``), groups of ``--size`` admissions are committed as the group commit's leader commits
them (``application.commit.commit``), one group after another, unscoped, each member's data
sealed ahead as a request's thread seals it. Every backend of the kept deployment (its
``application_name``: this process's alone) is read from /proc (``schedstat``: CPU in nanoseconds) before and after each
variant's turn; a turn's figure is the backends' CPU and this process's CPU per admission. Each
round gives every variant a turn, in order, after a ``CHECKPOINT``. A variant is a name from
``VARIANTS``: something done before its turn and undone after it (a switch in code, an index
dropped and made again). ``--capture FILE`` writes one group's statements to FILE, the group rolled
back (its positions then stay void), to replay them one at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psycopg

from application import commit
from application.grouping import Pending
from application.register import Register
from bench import kept
from bench.admissions import admission_bodies
from demo.generator import generate_province
from domain.clock import vietnam_today
from domain.commands import AdmitMember
from projections import runner
from tenants.bootstrap import bootstrap
from tenants.settings import Settings, schema_name

Switch = tuple[Callable[..., None], Callable[..., None]]


def _index(name: str, ddl: str) -> Switch:
    """A variant without index ``name`` (made again with ``ddl`` after its turn)."""

    def drop(conn: psycopg.Connection, schema: str) -> None:
        conn.execute(f'DROP INDEX "{schema}".{name}')

    def make(conn: psycopg.Connection, schema: str) -> None:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(ddl)
        conn.execute("RESET search_path")

    return drop, make


def _added(switch: Switch) -> Switch:
    """A variant with an index the schema no longer has: ``switch``'s drop and make, reversed."""
    return switch[1], switch[0]


def _nothing(*_: object) -> None:
    pass


def _flag(module: object, name: str, value: object) -> Switch:
    """A variant with ``module.name`` set to ``value`` for its turn."""
    kept: list[object] = []

    def on(*_: object) -> None:
        kept.append(getattr(module, name))
        setattr(module, name, value)

    def off(*_: object) -> None:
        setattr(module, name, kept.pop())

    return on, off


def _both(first: Switch, second: Switch) -> Switch:
    """Two variants' switches at once."""

    def on(*args: object) -> None:
        first[0](*args)
        second[0](*args)

    def off(*args: object) -> None:
        second[1](*args)
        first[1](*args)

    return on, off


VARIANTS: dict[str, Switch] = {
    "base": (_nothing, _nothing),
    "ends_planned": _flag(commit, "ENDS_FUNCTION", False),
    "views_planned": _flag(runner, "PLANNED_ONCE", False),
    "both_planned": _both(_flag(commit, "ENDS_FUNCTION", False), _flag(runner, "PLANNED_ONCE", False)),
    "write_planned": _flag(commit, "WRITE_FUNCTION", False),
    "no_events_entity": _index(
        "ledger_events_entity",
        "CREATE INDEX ledger_events_entity ON ledger_events (entity_type, entity_id, notification_id)",
    ),
    "no_events_actor": _index(
        "ledger_events_actor", "CREATE INDEX ledger_events_actor ON ledger_events (actor, notification_id)"
    ),
    "no_events_recorded": _index(
        "ledger_events_recorded", "CREATE INDEX ledger_events_recorded ON ledger_events (recorded_at)"
    ),
    "no_spans_holder": _index(
        "member_spans_holder",
        "CREATE INDEX member_spans_holder ON member_spans (holder_id, entity_id) WHERE superseded_at IS NULL",
    ),
    "no_spans_entity": _index(
        "member_spans_entity",
        "CREATE INDEX member_spans_entity ON member_spans (entity_id) WHERE superseded_at IS NULL",
    ),
    # the index by holder and day member_spans had beside member_spans_holder, made for its turn
    "with_spans_current": _added(
        _index(
            "member_spans_current",
            "CREATE INDEX member_spans_current ON member_spans (holder_id, valid_from, valid_to)"
            " WHERE superseded_at IS NULL",
        )
    ),
    "no_spans_position": _index(
        "member_spans_position", "CREATE INDEX member_spans_position ON member_spans (position)"
    ),
    "no_tokens_gin": _index(
        "member_tokens_tokens",
        "CREATE INDEX member_tokens_tokens ON member_tokens USING gin (tokens) WITH (fastupdate = on)",
    ),
}


def backends(conn: psycopg.Connection, settings: Settings) -> list[int]:
    """The backends of this deployment's connections (the kept province's: this process's alone)."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s AND pid <> pg_backend_pid()",
        (settings.application_name() + "%",),
    ).fetchall()
    return [r[0] for r in rows]


def cpu_ns(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):  # a backend that ended meanwhile
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", required=True)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--groups", type=int, default=150, help="per turn")
    parser.add_argument("--size", type=int, default=6, help="admissions per group")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--variants", default="base")
    parser.add_argument("--capture", default=None, help="write one group's statements here, rolled back, and stop")
    args = parser.parse_args(argv)

    suffix = args.reuse
    tenant = f"bench-{suffix}"
    settings = kept.settings(suffix, "bench_ctl", "cpu", 4)
    today = vietnam_today()
    province = generate_province(args.members, args.seed, today)
    admit = admission_bodies(random.Random(os.getpid()), province.open_unions(), today)
    run = uuid.uuid4().hex[:6]
    counter = iter(range(10**9))
    names = args.variants.split(",")
    platform = bootstrap(settings)
    monitor = psycopg.connect(settings.conninfo(), autocommit=True, application_name="admission-cpu-monitor")
    schema = schema_name(tenant)
    try:
        with platform.stores.use(tenant) as store:
            register = Register(store)

            def group() -> None:
                items = []
                for _ in range(args.size):
                    n = next(counter)
                    body = admit(f"cpu-{run}-{n}", n)
                    command = AdmitMember(
                        actor="bench",
                        id=body["id"],
                        union_id=body["union_id"],
                        admitted_on=date.fromisoformat(body["admitted_on"]),
                        full_name=body["full_name"],
                        gender=body["gender"],
                        birth_date=date.fromisoformat(body["birth_date"]),
                        id_number=body["id_number"],
                    )
                    items.append(Pending(command, None, sealed=register._sealed_ahead(command)))
                decided, _recordings = commit.commit(store, lambda: items)
                for item in items:
                    if item.error is not None:
                        raise item.error
                assert len(decided) == len(items)

            for _ in range(20):  # warm
                group()
            if args.capture:
                from persistence import one_trip

                def capture(self: one_trip.OneTrip) -> None:
                    self._kept = ["ROLLBACK" if s == "COMMIT" else s for s in self._kept]
                    with open(args.capture, "a") as out:
                        out.write("\n".join(s.replace("\n", " ") for s in self._kept) + "\n")
                    original(self)

                original = one_trip.OneTrip.send
                one_trip.OneTrip.send = capture  # type: ignore[method-assign]
                group()
                return
            figures: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
            walls: dict[str, list[float]] = {name: [] for name in names}  # alone, the lock is held this long
            for _round in range(args.rounds):
                for name in names:
                    before, after = VARIANTS[name]
                    before(monitor, schema)
                    monitor.execute("CHECKPOINT")
                    for _ in range(5):
                        group()
                    pids = backends(monitor, settings)
                    b0, p0, w0 = cpu_ns(pids), time.process_time(), time.perf_counter()
                    for _ in range(args.groups):
                        group()
                    b1, p1, w1 = cpu_ns(pids), time.process_time(), time.perf_counter()
                    after(monitor, schema)
                    n = args.groups * args.size
                    figures[name].append(((b1 - b0) / n / 1e6, (p1 - p0) / n * 1e3))
                    walls[name].append((w1 - w0) / args.groups * 1e3)
                    print(
                        f"{name:>20}: backend {figures[name][-1][0]:.3f} ms, process {figures[name][-1][1]:.3f} ms,"
                        f" {walls[name][-1]:.2f} ms a group from start to COMMIT's answer"
                    )
            print("\nper admission, median over rounds (each round's):")
            for name in names:
                pg = [f[0] for f in figures[name]]
                py = [f[1] for f in figures[name]]
                print(
                    f"{name:>20}: backend {statistics.median(pg):.3f} ms ({', '.join(f'{x:.3f}' for x in pg)});"
                    f" process {statistics.median(py):.3f} ms; a group {statistics.median(walls[name]):.2f} ms"
                )
    finally:
        monitor.close()
        platform.close()


if __name__ == "__main__":
    main()
