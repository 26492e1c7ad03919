"""Breakdowns of the whole province in process: time per request, a profile, the answers written out.

    python -m bench.breakdown_reads --members 150000 --keep           # load a province, keep it
    python -m bench.breakdown_reads --reuse SUFFIX [--requests 60] [--profile] [--dump FILE]

Asks what bench/run.py's browsing asks (``/indicators?group_by=unit`` of the whole province, a
random year and ``as_of`` in it, every base code) of the tenant's reads in this process, after 3
not counted, and prints the p50 and p95 of the wall and thread CPU time in ms. ``--reuse`` opens a
province kept by this script or by ``bench.run --keep`` (its suffix); ``--by`` another grouping;
``--dump`` writes every answer (to compare two versions of the code on the same questions).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import timedelta
from pathlib import Path

from application.reads import RegisterReads
from application.register import Register
from bench import kept
from bench.plan_records import load_plan_records
from bench.serving import percentile
from demo.generator import LAST_DAY, generate_province, load_province
from domain.clock import vietnam_today
from domain.periods import parse_period
from tenants.bootstrap import bootstrap


def main() -> None:
    parser = kept.parser(__doc__, members=150_000)
    parser.add_argument("--keep", action="store_true", help="load a province and keep it")
    parser.add_argument("--reuse", help="the suffix of a kept province")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--by", default="unit")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-out", help="with --profile: the profile's file too (for pstats)")
    parser.add_argument("--dump")
    args = parser.parse_args()
    suffix = args.reuse or uuid.uuid4().hex[:8]
    tenant = f"bench-{suffix}"
    settings = kept.settings(suffix, "bench_ctl", "breakdown", max_open_tenants=2)
    today = vietnam_today()
    platform = bootstrap(settings)
    try:
        if not args.reuse:
            province = generate_province(args.members, args.seed, today)
            platform.provision(tenant, "Breakdown province")
            with platform.stores.use(tenant) as store:
                load_province(Register(store), province, actor="bench")
                load_plan_records(Register(store), province, "bench", today)
            print(f"loaded: suffix {suffix}")
        with platform.stores.use(tenant) as store:
            started = time.perf_counter()
            store.indicators.warm()
            print(f"columns read in {time.perf_counter() - started:.2f} s")
            reads = RegisterReads(store)
            rng = random.Random(args.seed)
            last = min(today, LAST_DAY)

            def question() -> tuple[str, object]:
                year = rng.randint(2016, last.year)
                span = parse_period(str(year))
                return str(year), span.start + timedelta(days=rng.randint(0, (min(span.end, today) - span.start).days))

            for _ in range(3):
                period, as_of = question()
                reads.indicators(period, None, as_of, group_by=args.by)  # type: ignore[arg-type]
            questions = [question() for _ in range(args.requests)]
            walls, cpus, answers = [], [], []
            profile = None
            if args.profile:
                import cProfile

                profile = cProfile.Profile()
                profile.enable()
            for period, as_of in questions:
                wall, cpu = time.perf_counter(), time.thread_time()
                answer = reads.indicators(period, None, as_of, group_by=args.by)  # type: ignore[arg-type]
                cpus.append((time.thread_time() - cpu) * 1000)
                walls.append((time.perf_counter() - wall) * 1000)
                answers.append(answer)
            if profile is not None:
                import pstats

                profile.disable()
                if args.profile_out:
                    profile.dump_stats(args.profile_out)
                pstats.Stats(profile).sort_stats("tottime").print_stats(30)
                pstats.Stats(profile).sort_stats("cumtime").print_stats(40)
            print(
                json.dumps(
                    {
                        "requests": len(questions),
                        "wall_p50_ms": percentile(walls, 50),
                        "wall_p95_ms": percentile(walls, 95),
                        "cpu_p50_ms": percentile(cpus, 50),
                        "cpu_p95_ms": percentile(cpus, 95),
                    }
                )
            )
            if args.dump:
                Path(args.dump).write_text(json.dumps(answers, default=str, sort_keys=True, indent=0))
    finally:
        platform.close()
        if not args.keep and not args.reuse:
            kept.drop(settings, tenant)


if __name__ == "__main__":
    main()
