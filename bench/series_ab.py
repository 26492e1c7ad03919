"""A whole-tenant series through ``RegisterReads.series``: this checkout against another's engine, in turns.

    python -m bench.series_ab --reuse SUFFIX [--base-ref main] [--pairs 10] [--profile]

Reads a kept province (read-only) in this process. ``projections/indicators.py`` and
``projections/monthly.py`` of ``--base-ref`` are loaded beside this checkout's, and the same
snapshot answers both in alternating pairs (A B B A ...); prints the median CPU (thread time) of
each after two warm-ups, and the sha256 of each variant's answers to several series.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

from application.reads import RegisterReads
from bench import kept
from tenants.bootstrap import bootstrap


def base_engine(ref: str) -> types.ModuleType:
    """``projections.indicators`` of ``ref``, importing ``projections.monthly`` of ``ref``."""
    folder = Path(tempfile.mkdtemp(prefix="series-base-"))
    for name in ("indicators", "monthly"):
        text = subprocess.run(
            ["git", "show", f"{ref}:projections/{name}.py"], capture_output=True, text=True, check=True
        )
        source = text.stdout.replace("from projections.monthly import", "from base_monthly import")
        source = source.replace('("monthly", kind)', '("base monthly", kind)')
        (folder / f"base_{name}.py").write_text(source)
    sys.path.insert(0, str(folder))
    modules = {}
    for name in ("monthly", "indicators"):
        spec = importlib.util.spec_from_file_location(f"base_{name}", folder / f"base_{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"base_{name}"] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules["indicators"]


def digest(answer: dict) -> str:
    return hashlib.sha256(json.dumps(answer, default=str, sort_keys=True).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", required=True)
    parser.add_argument("--base-ref", default="main")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--period", default="2023-2028")
    parser.add_argument("--unit", help="the unit of the series under a unit (default: the fourth by id)")
    args = parser.parse_args()
    settings = kept.settings(args.reuse, "bench_ctl", "series", 2)
    base = base_engine(args.base_ref)
    platform = bootstrap(settings)
    try:
        with platform.stores.use(f"bench-{args.reuse}") as store:
            calc = store.indicators
            started = time.perf_counter()
            calc.warm()
            print(f"columns read in {time.perf_counter() - started:.1f} s", flush=True)
            reads = RegisterReads(store)
            variants = {
                "base": types.MethodType(base.IndicatorCalculator.series, calc),
                "branch": types.MethodType(type(calc).series, calc),
            }

            def ask(variant: str, **params) -> dict:
                calc.series = variants[variant]  # type: ignore[method-assign]
                return reads.series(**params)

            with store.transaction() as cur:
                row = cur.execute("SELECT unit_id FROM unit_state ORDER BY unit_id LIMIT 1 OFFSET 3").fetchone()
                bounds = cur.execute(
                    f"SELECT MIN(recorded_at), MAX(recorded_at) FROM {store.event_store.events_table}"
                ).fetchone()
            assert bounds is not None  # an aggregate without GROUP BY returns one row
            first, last = bounds
            some_unit = args.unit or (row[0] if row else None)
            midway = datetime.fromtimestamp((first + last) / 2_000_000, UTC)  # half the register known

            shapes = {
                "month": {"period": args.period, "step": "month"},
                "quarter": {"period": args.period, "step": "quarter"},
                "year": {"period": "2016-2028", "step": "year"},
                "unit": {"period": "2024-2025", "step": "month", "unit_id": some_unit},
                "known_at": {"period": "2024", "step": "month", "known_at": datetime.now(UTC) - timedelta(minutes=30)},
                "known_midway": {"period": args.period, "step": "month", "known_at": midway},
                "unit_quarter_midway": {
                    "period": args.period,
                    "step": "quarter",
                    "unit_id": some_unit,
                    "known_at": midway,
                },
            }
            sums = {v: {k: digest(ask(v, **p)) for k, p in shapes.items()} for v in variants}
            print(json.dumps(sums, indent=1), flush=True)
            print("same:", sums["base"] == sums["branch"], flush=True)
            times: dict[str, list[float]] = {v: [] for v in variants}
            order = ["base", "branch"]
            for _ in range(2):
                for v in order:
                    ask(v, **shapes["month"])
            for i in range(args.pairs):
                for v in order if i % 2 == 0 else order[::-1]:
                    cpu = time.thread_time()
                    ask(v, **shapes["month"])
                    times[v].append((time.thread_time() - cpu) * 1000)
            print(
                json.dumps(
                    {
                        v: {"median_ms": round(statistics.median(t), 1), "all": [round(x, 1) for x in t]}
                        for v, t in times.items()
                    }
                ),
                flush=True,
            )
            if args.profile:
                import cProfile
                import pstats

                profile = cProfile.Profile()
                calc.series = variants["branch"]  # type: ignore[method-assign]
                profile.enable()
                for _ in range(5):
                    reads.series(**shapes["month"])
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    finally:
        platform.close()


if __name__ == "__main__":
    main()
