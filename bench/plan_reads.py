"""Indicator questions with and without the plans' codes, side by side on one PostgreSQL tenant.

    python -m bench.plan_reads --members 50000 [--requests 200] [--seed 1]

Loads a province of demo/generator.py with its plan records (bench/plan_records.py), then asks the
same random questions as bench/run.py (periods, units, ``as_of``, ``known_at``) of the tenant's
indicator engine in this process, taking turns: the codes before the plans' (``before``) and every
code (``every``); then as many monthly series of 2023-2028 and breakdowns by unit of a random year
(``--browse``) of each. Prints the p50 and p95 of each in ms, and what reading the columns took.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from application.reads import RegisterReads
from application.register import Register
from bench import kept
from bench.plan_records import load_plan_records
from bench.serving import percentile
from demo.generator import LAST_DAY, generate_province, load_province
from domain.clock import vietnam_today
from domain.indicators import BASE_CODES, parse_indicator
from domain.periods import parse_period
from projections.base import micros
from projections.indicators import PLAN_PARTS, Question
from tenants.bootstrap import bootstrap


def main() -> None:
    parser = kept.parser(__doc__, members=50_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--browse", type=int, default=20, help="series and breakdowns of each variant")
    parser.add_argument("--profile", action="store_true", help="print where 5 series of every code spend their time")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    tenant = f"plan-{suffix}"
    settings = kept.settings(suffix, "plan_ctl", "plan", max_open_tenants=4)
    today = vietnam_today()
    province = generate_province(args.members, args.seed, today)
    platform = bootstrap(settings)
    results: dict = {"members": args.members}
    try:
        platform.provision(tenant, "Plan province")
        with platform.stores.use(tenant) as store:
            started = time.perf_counter()
            load_province(Register(store), province, actor="bench")
            recorded_from = datetime.now(UTC)
            results["plan_records"] = load_plan_records(Register(store), province, "bench", today)
            results["load_s"] = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            store.indicators.warm()
            results["columns_s"] = round(time.perf_counter() - started, 2)
            before = [parse_indicator(c) for c in BASE_CODES if c not in PLAN_PARTS]
            every = [parse_indicator(c) for c in BASE_CODES]
            rng = random.Random(args.seed)
            units = [u["id"] for u in province.units]
            last, now = min(today, LAST_DAY), datetime.now(UTC)
            times: dict[str, list[float]] = {"before": [], "every": []}
            for _ in range(args.requests):
                year = rng.randint(2016, last.year)
                period = rng.choice((str(year), f"{year}-H{rng.randint(1, 2)}", f"{year}-Q{rng.randint(1, 4)}"))
                span = parse_period(period)
                hi = min(span.end, last)
                as_of = span.start + timedelta(days=rng.randint(0, max(0, (hi - span.start).days)))
                unit = rng.choice(units) if rng.random() < 0.7 else None
                known = micros(recorded_from + (now - recorded_from) * rng.random()) if rng.random() < 0.5 else None
                q = Question(span, unit, min(as_of, hi), known)
                for name, codes in (("before", before), ("every", every)):
                    started = time.perf_counter()
                    store.indicators.figures(codes, q)
                    times[name].append((time.perf_counter() - started) * 1000)
            # a monthly series of 2023-2028 and breakdowns by unit, as bench/run.py's browsing asks
            reads = RegisterReads(store)
            codes = {"before": ",".join(c.code for c in before), "every": ",".join(c.code for c in every)}
            for _ in range(args.browse):
                year = str(rng.randint(2016, last.year))
                for name in ("before", "every"):
                    started = time.perf_counter()
                    reads.series("2023-2028", "month", codes=codes[name])
                    times.setdefault(f"series_{name}", []).append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    reads.indicators(year, None, None, None, codes[name], group_by="unit")
                    times.setdefault(f"breakdown_{name}", []).append((time.perf_counter() - started) * 1000)
            if args.profile:
                import cProfile
                import pstats

                profile = cProfile.Profile()
                profile.enable()
                for _ in range(5):
                    reads.series("2023-2028", "month", codes=codes["every"])
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            for name, values in times.items():
                results[f"{name}_p50_ms"] = percentile(values, 50)
                results[f"{name}_p95_ms"] = percentile(values, 95)
                results[f"{name}_mean_ms"] = round(statistics.mean(values), 2)
    finally:
        platform.close()
        kept.drop(settings, tenant)
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
