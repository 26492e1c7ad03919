"""Where an /indicators question and a verification spend their time, per code, on a kept province.

    python -m bench.indicator_profile --members N --reuse SUFFIX [--requests 200] [--profile]

Reads the province a ``bench.run --keep`` run loaded (read-only: nothing is written), in this
process: the same random questions as bench/run.py's ``indicators()`` (every code), each timed
whole, then again code by code over one answer in the order the codes are asked (each code's
time is what it adds: the first code that needs a shared count pays for it). Then the two
questions of a verification of a tenant-wide 2025 report, on one snapshot. Prints JSON.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench import kept
from bench.serving import percentile
from demo.generator import LAST_DAY, generate_province
from domain.clock import vietnam_today
from domain.indicators import BASE_CODES, parse_indicator
from domain.periods import parse_period
from projections.base import micros
from projections.indicators import Question, _Answer
from tenants.bootstrap import bootstrap

TERMS = ("2015-2020", "2018-2022", "2020-2025", "2023-2028")


def questions(n: int, units: list[str], recorded_from: datetime, now: datetime, seed: int) -> list[Question]:
    """bench/run.py's indicator questions: period, as_of, unit (70%), known_at (50%, between the
    first event recorded and ``now``)."""
    rng, today = random.Random(seed), vietnam_today()
    last = min(today, LAST_DAY)
    out = []
    while len(out) < n:
        year = rng.randint(2016, last.year)
        period = rng.choice(
            (
                str(year),
                f"{year}-H{rng.randint(1, 2)}",
                f"{year}-Q{rng.randint(1, 4)}",
                f"{year}-{rng.randint(1, 12):02d}",
                rng.choice(TERMS),
            )
        )
        span = parse_period(period)
        lo, hi = max(span.start, date(2016, 1, 1)), min(span.end, last)
        if hi < lo:
            continue
        as_of = lo + timedelta(days=rng.randint(0, (hi - lo).days))
        unit = rng.choice(units) if rng.random() < 0.7 else None
        known = micros(recorded_from + (now - recorded_from) * rng.random()) if rng.random() < 0.5 else None
        out.append(Question(span, unit, as_of, known))
    return out


def main() -> None:
    parser = kept.parser(__doc__, members=None)
    parser.add_argument("--reuse", required=True, help="the suffix of a province a run with --keep loaded")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="print the questions' cProfile")
    parser.add_argument("--dump", help="write every answer to this JSON file (to compare two checkouts)")
    args = parser.parse_args()
    settings = kept.settings(args.reuse, "bench_ctl", "profile", max_open_tenants=2)
    province = generate_province(args.members, args.seed, vietnam_today())
    units = [u["id"] for u in province.units]
    every = [parse_indicator(c) for c in BASE_CODES]
    platform = bootstrap(settings)
    results: dict = {"members": args.members}
    try:
        with platform.stores.use(f"bench-{args.reuse}") as store:
            calc = store.indicators
            with store.transaction() as cur:
                first, last = cur.execute(
                    f"SELECT MIN(recorded_at), MAX(recorded_at) FROM {store.event_store.events_table}"
                ).fetchone()
            # as many instants after the last event as during the events: the same questions from
            # one run to the next, half of those known at an instant asked of part of the register
            recorded_from = datetime.fromtimestamp(first / 1_000_000, UTC)
            now = datetime.fromtimestamp((2 * last - first) / 1_000_000, UTC)
            asked = questions(args.requests, units, recorded_from, now, args.seed)
            started = time.perf_counter()
            calc.warm()
            results["columns_s"] = round(time.perf_counter() - started, 2)
            with calc.transaction(snapshot=True) as cur:
                snap = calc.columns.snapshot(cur)
            started = time.perf_counter()
            _Answer(snap, asked[0]).figures(every)
            results["first_question_ms"] = round((time.perf_counter() - started) * 1000, 1)
            profile = None
            if args.profile:
                import cProfile

                profile = cProfile.Profile()
                profile.enable()
            whole, kinds, answers = [], defaultdict(list), []
            for q in asked:
                started = time.perf_counter()
                answers.append(calc.figures(every, q))
                took = (time.perf_counter() - started) * 1000
                whole.append(took)
                kinds[("unit" if q.unit_id else "tenant", "known_at" if q.known_at else "now")].append(took)
            if profile is not None:
                import pstats

                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            if args.dump:
                Path(args.dump).write_text(json.dumps([[repr(q), a] for q, a in zip(asked, answers)], indent=0))
            results["p50_ms"], results["p95_ms"] = percentile(whole, 50), percentile(whole, 95)
            results["by_kind_mean_ms"] = {"/".join(k): round(statistics.mean(v), 2) for k, v in kinds.items()}
            per_code: dict[str, list[float]] = defaultdict(list)
            for q in asked:
                answer = _Answer(snap, q)
                for ind in every:
                    started = time.perf_counter()
                    answer.figures([ind])
                    per_code[ind.code].append((time.perf_counter() - started) * 1000)
            results["per_code_mean_ms"] = {c: round(statistics.mean(v), 2) for c, v in per_code.items()}
            results["per_code_p95_ms"] = {c: percentile(v, 95) for c, v in per_code.items()}
            # a verification's two questions: the register at submission (a known_at) and now
            period = parse_period("2025")
            base = Question(period, None, date(2025, 11, 30), None)
            then = Question(period, None, date(2025, 11, 30), micros(datetime.now(UTC)) - 1)
            times = []
            for _ in range(3):
                started = time.perf_counter()
                calc.figures(every, then)
                calc.figures(every, base)
                times.append((time.perf_counter() - started) * 1000)
            results["verification_questions_ms"] = [round(t, 1) for t in times]
    finally:
        platform.close()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
