"""Lists by unit and name searches, two designs side by side on one PostgreSQL tenant: CPU time per
request, the process's and its database backend's, which the machine's other load changes little.

    python -m bench.ab_reads --members 100000 [--requests 200] [--keep]

Loads a province of demo/generator.py (as bench/run.py does), then takes turns, block by block, between:
- lists: a page of 100 members of a random unit, without the (holder_id, entity_id) index of
  member_spans (as before) and with it;
- search: a drawn member's full name, or its last two words (as bench/run.py asks), the index's
  array holding every word's token, and holding the pairs' tokens too (as the search asks).
The backend's CPU is read from /proc (the server runs on this machine), in ticks of 10 ms: hence
blocks of requests, summed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from application.register import Register
from demo.generator import generate_province, load_province
from domain.clock import vietnam_today
from domain.text import search_words
from persistence import vault as vault_module
from persistence.vault import NAME, PersonalDataVault
from projections import browse
from projections.browse import RegisterLists
from tenants.bootstrap import bootstrap
from tenants.settings import Settings, schema_name

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TICK = os.sysconf("SC_CLK_TCK")
HOLDER_INDEX = (
    "CREATE INDEX IF NOT EXISTS member_spans_holder ON member_spans (holder_id, entity_id) WHERE superseded_at IS NULL"
)


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def search_by_words(vault: PersonalDataVault, words: list[str]) -> list[str]:
    """The search without the pairs: the members holding every word's token."""
    wanted = [vault.token(NAME, word) for word in dict.fromkeys(words)]
    with vault.transaction() as cur:
        return vault._holders(cur, wanted)


class AB:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        suffix = uuid.uuid4().hex[:8]
        self.tenant = f"ab-{suffix}"
        self.settings = Settings(
            database_url=os.environ.get("UNIONLEDGER_BENCH_DATABASE_URL") or DEFAULT_URL,
            data_dir=Path(tempfile.mkdtemp(prefix="unionledger-ab-")),
            admin_token=secrets.token_urlsafe(24),
            control_schema=args.control or f"ab_ctl_{suffix}",
            max_open_tenants=4,
        )
        self.platform: Any = None
        self.rng = random.Random(args.seed)
        self.results: dict[str, Any] = {"members": args.members}

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def run(self) -> dict:
        province = generate_province(self.args.members, self.args.seed, vietnam_today())
        if self.args.imports:
            self.imports(province)
            return self.results
        self.platform = bootstrap(self.settings)
        started = time.perf_counter()
        if self.args.tenant:  # a tenant kept by an earlier run (--keep) of the same province
            self.tenant = self.args.tenant
        else:
            self.platform.provision(self.tenant, "A/B province")
        with self.platform.stores.use(self.tenant) as store:
            if not self.args.tenant:
                load_province(Register(store), province, actor="bench")
                self.log(f"loaded {province.n_members:,} members in {time.perf_counter() - started:.0f} s")
            with psycopg.connect(self.settings.conninfo(), autocommit=True) as conn:
                for table in ("member_tokens", "member_spans", "member_state"):  # as autovacuum leaves them
                    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(store.schema, table)))
            units = [u["id"] for u in province.units]
            names = [row["full_name"] for _line, row in itertools.islice(province.member_rows(), 5000)]
            if self.args.export:
                self.export(store)
            else:
                self.lists(store, units)
                self.search(store, names)
        return self.results

    @contextmanager
    def pinned(self, store) -> Iterator[tuple[Callable, int]]:
        """One transaction on one connection for a block of requests, and its backend's pid."""
        with store.transaction() as cur:

            @contextmanager
            def transaction(write: bool = False, snapshot: bool = False):
                yield cur

            yield transaction, cur.scalar("SELECT pg_backend_pid()")

    def block(
        self, store, run: Callable[[Callable], Callable[[Any], Any]], items: list, walls: list[float]
    ) -> tuple[float, float]:
        """CPU seconds of this thread and of the backend over the block's requests (each one's
        wall time added to ``walls``)."""
        with self.pinned(store) as (transaction, pid):
            request = run(transaction)
            request(items[0])  # the block's first statement plans; not counted
            own, backend = time.thread_time(), backend_cpu(pid)
            for item in items:
                began = time.perf_counter()
                request(item)
                walls.append((time.perf_counter() - began) * 1000)
            return time.thread_time() - own, backend_cpu(pid) - backend

    def compare(self, name: str, store, variants: dict[str, tuple[Callable, Callable]], draw: Callable) -> None:
        """Blocks of ``--block`` requests, the variants taking turns, the same requests for each."""
        totals = {v: [0.0, 0.0] for v in variants}
        per_block: dict[str, list[float]] = {v: [] for v in variants}
        walls: dict[str, list[float]] = {v: [] for v in variants}
        n = 0
        for round_ in range(self.args.requests // self.args.block):
            items = [draw() for _ in range(self.args.block)]
            order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
            for variant in order:
                prepare, run = variants[variant]
                prepare(store)
                own, backend = self.block(store, run, items, walls[variant])
                totals[variant][0] += own
                totals[variant][1] += backend
                per_block[variant].append((own + backend) / len(items) * 1000)
            n += len(items)
        for variant, (own, backend) in totals.items():
            figures = {
                "python_ms": round(own / n * 1000, 2),
                "postgres_ms": round(backend / n * 1000, 2),
                "cpu_ms": round((own + backend) / n * 1000, 2),
                "block_cpu_ms_median": round(statistics.median(per_block[variant]), 2),
                "wall_p50_ms": round(statistics.median(walls[variant]), 2),
                "wall_p95_ms": round(sorted(walls[variant])[int(0.95 * (len(walls[variant]) - 1))], 2),
                "wall_max_ms": round(max(walls[variant]), 2),
            }
            self.results[f"{name}_{variant}"] = figures
            self.log(f"{name} {variant}: {n} requests, {figures}")

    def lists(self, store, units: list[str]) -> None:
        on = vietnam_today()

        def without(store) -> None:
            with store.transaction(write=True) as cur:
                cur.execute("DROP INDEX IF EXISTS member_spans_holder")

        def with_index(store) -> None:
            with store.transaction(write=True) as cur:
                cur.execute(HOLDER_INDEX)
                cur.execute("ANALYZE member_spans")

        def run(transaction):
            lists = RegisterLists(transaction)

            def request(unit: str) -> list[str]:
                unions = lists.unions_under(lists.units_under(unit, on), on)
                return lists.member_ids(on, unions=unions, status=None, gender=None, among=None, after=None, limit=101)

            return request

        def run_few(few: int):
            def run_with(transaction):
                browse.FEW_UNIONS = few
                return run(transaction)

            return run_with

        few = browse.FEW_UNIONS
        variants = {"before": (without, run_few(few)), "holder_index": (with_index, run_few(few))}
        if self.args.few_unions:
            variants[f"holder_index_few{self.args.few_unions}"] = (with_index, run_few(self.args.few_unions))
        self.compare("list", store, variants, lambda: self.rng.choice(units))
        browse.FEW_UNIONS = few
        with_index(store)

    def search(self, store, names: list[str]) -> None:
        key = store.vault.index_key()

        def vault(transaction) -> PersonalDataVault:
            found = PersonalDataVault(transaction)
            found._index_key = key
            return found

        def by_words(transaction):
            found = vault(transaction)
            return lambda q: search_by_words(found, search_words(q))

        def by_pairs(transaction):
            found = vault(transaction)
            return lambda q: found.search(search_words(q), None)

        def draw() -> str:
            words = self.rng.choice(names).split()
            return " ".join(words) if self.rng.random() < 0.5 else " ".join(words[-2:])

        def nothing(_store) -> None:
            pass

        with self.pinned(store) as (transaction, _pid):  # the same members either way
            for q in [draw() for _ in range(50)]:
                assert by_words(transaction)(q) == by_pairs(transaction)(q), q
        variants = {"words": (nothing, by_words), "pairs": (nothing, by_pairs)}
        self.compare("search", store, variants, draw)

    def imports(self, province) -> None:
        """The province imported into a tenant of its own, in turns: names indexed by their words
        only (before) and by their pairs of words too. This process's CPU and the wall time."""
        real = vault_module.word_pairs
        self.platform = bootstrap(self.settings)
        for round_ in range(self.args.import_rounds):
            for variant in ("words", "pairs") if round_ % 2 == 0 else ("pairs", "words"):
                vault_module.word_pairs = real if variant == "pairs" else (lambda words, most: [])
                tenant = f"{self.tenant}-{variant}-{round_}"
                self.platform.provision(tenant, "A/B province")
                began, cpu = time.perf_counter(), time.process_time()
                with self.platform.stores.use(tenant) as store:
                    stats = load_province(Register(store), province, actor="bench")
                cpu, wall = time.process_time() - cpu, time.perf_counter() - began
                figures = {
                    "process_cpu_s": round(cpu, 1),
                    "wall_s": round(wall, 1),
                    "members_s": round(stats["seconds"]["members"], 1),
                }
                self.results.setdefault(f"import_{variant}", []).append(figures)
                self.log(f"import {variant}: {figures}")
                self.dropped(tenant)
        vault_module.word_pairs = real

    def dropped(self, tenant: str) -> None:
        with psycopg.connect(self.settings.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name(tenant))))

    def export(self, store) -> None:
        """The whole member list as a CSV file, as GET /members?format=csv writes it, in this process:
        its sealed data opened in this process (before) or in a process of its own (now), in turns.
        CPU of this process (every thread), of the opening process, and wall time, per row."""
        from application.reads import MEMBER_COLUMNS
        from service.files import FILE_PAGE, _csv, walk

        reads = Register(store).reads
        offloaded = vault_module.OFFLOADED
        totals: dict[str, list[float]] = {"in_process": [], "opening_process": []}
        for round_ in range(self.args.export_rounds):
            order = ("in_process", "opening_process") if round_ % 2 == 0 else ("opening_process", "in_process")
            for variant in order:
                vault_module.OFFLOADED = offloaded if variant == "opening_process" else 1 << 62
                opener = vault_module._opener
                child = list(opener._processes) if opener is not None and opener._processes else []
                before = sum(backend_cpu(pid) for pid in child)
                began, cpu = time.perf_counter(), time.process_time()
                first = reads.member_rows(limit=FILE_PAGE)
                rows = walk(first, lambda after: reads.member_rows(after=after, limit=FILE_PAGE))
                written = sum(len(chunk) for chunk in _csv(list(MEMBER_COLUMNS), rows, set()))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - began
                opener = vault_module._opener
                child = list(opener._processes) if opener is not None and opener._processes else child
                opening = sum(backend_cpu(pid) for pid in child) - before if variant == "opening_process" else 0.0
                totals[variant].append(wall)
                n = self.args.members
                figures = {
                    "bytes": written,
                    "process_cpu_us_per_row": round(cpu / n * 1e6, 2),
                    "opening_process_cpu_us_per_row": round(opening / n * 1e6, 2),
                    "rows_per_process_cpu_s": round(n / cpu),
                    "rows_per_s": round(n / wall),
                }
                self.results.setdefault(f"export_{variant}", []).append(figures)
                self.log(f"export {variant}: {figures}")
        vault_module.OFFLOADED = offloaded

    def cleanup(self) -> None:
        if self.platform is not None:
            self.platform.close()
        if self.args.keep:
            self.log(f"kept: schemas {schema_name(self.tenant)}, {self.settings.control_schema}")
            return
        with psycopg.connect(self.settings.conninfo(), autocommit=True) as conn:
            for schema in (schema_name(self.tenant), self.settings.national_schema, self.settings.control_schema):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200, help="of each variant")
    parser.add_argument("--block", type=int, default=20)
    parser.add_argument("--few-unions", type=int, default=0, help="a third list variant: this FEW_UNIONS")
    parser.add_argument("--imports", action="store_true", help="the import, names with and without pairs")
    parser.add_argument("--import-rounds", type=int, default=2)
    parser.add_argument("--export", action="store_true", help="the member file instead of lists and search")
    parser.add_argument("--export-rounds", type=int, default=4)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--tenant", default=None, help="a tenant kept by --keep (then --control too)")
    parser.add_argument("--control", default=None, help="its control schema")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    ab = AB(args)
    try:
        results = ab.run()
    finally:
        ab.cleanup()
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
