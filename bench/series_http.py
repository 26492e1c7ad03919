"""A whole-tenant series through the service's app in process (Flask's test client): CPU per request
beside the engine's alone, the answer's sha256, and (``--profile``) where the request's time goes.

    python -m bench.series_http --reuse SUFFIX [--requests 12] [--profile]

Reads a kept province (read-only, a token issued in its control schema as bench/run.py does).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import statistics
import tempfile
import time

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="unionledger-series-metrics-"))

from bench.kept import settings as kept_settings
from tenants.bootstrap import bootstrap

URLS = (
    "/indicators/series?period=2023-2028&step=month",
    "/indicators/series?period=2023-2028&step=quarter",
    "/indicators/series?period=2016-2028&step=year",
    "/indicators/series?period=2024-2025&step=month&unit_id={unit}",
    "/indicators/series?period=2024&step=month&known_at=2026-12-01T00:00:00Z",
    "/indicators/series?period=2023-2028&step=quarter&unit_id={unit}&known_at=2026-06-01T00:00:00Z",
)


def main() -> None:
    from service.app import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", required=True)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--profile", choices=("cpu", "wall"), help="profile 5 requests by CPU or wall time")
    parser.add_argument("--hashes", action="store_true")
    parser.add_argument("--statements", action="store_true", help="print the statements of one request")
    args = parser.parse_args()
    settings = kept_settings(args.reuse, "bench_ctl", "series-http", 2)
    tenant = f"bench-{args.reuse}"
    platform = bootstrap(settings)
    token = platform.registry.issue_token(tenant, "federation_admin", "bench")
    with platform.stores.use(tenant) as store:
        started = time.perf_counter()
        store.warm()  # as a worker does when it opens the tenant
        print(f"warm-up: {time.perf_counter() - started:.1f} s", flush=True)
        with store.transaction() as cur:
            row = cur.execute("SELECT unit_id FROM unit_state ORDER BY unit_id LIMIT 1 OFFSET 3").fetchone()
        unit = row[0]
    app = create_app(platform=platform)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/v1/tenants/{tenant}"

    def get(url: str) -> bytes:
        response = client.get(base + url.format(unit=unit), headers=headers)
        assert response.status_code == 200, response.data[:300]
        return response.data

    for n in range(2):  # the first two after the warm-up: what a worker's first request pays
        cpu, wall = time.thread_time(), time.perf_counter()
        get(URLS[0])
        cpu, wall = (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
        print(f"request {n + 1}: CPU {cpu:.1f} ms, wall {wall:.1f} ms", flush=True)
    if args.statements:
        import psycopg

        seen: list[str] = []
        for cls in (psycopg.Cursor, psycopg.Connection):
            original = cls.execute

            def traced(self, query, *a, _original=original, **k):
                seen.append(" ".join(str(getattr(query, "_obj", query)).split())[:150])
                return _original(self, query, *a, **k)

            cls.execute = traced  # type: ignore[method-assign]
        for cls in (psycopg.Connection,):
            for name in ("commit", "rollback"):
                original = getattr(cls, name)

                def traced_end(self, _original=original, _name=name):
                    seen.append(_name)
                    return _original(self)

                setattr(cls, name, traced_end)
        get(URLS[0])
        print("\n".join(seen), flush=True)
        return
    if args.hashes:
        for url in URLS:
            print(hashlib.sha256(get(url)).hexdigest()[:16], url, flush=True)
    url = URLS[0]
    for _ in range(2):
        get(url)
    from application.reads import RegisterReads
    from domain.indicators import BASE_CODES, parse_indicator

    with platform.stores.use(tenant) as store:
        reads = RegisterReads(store)
        calc = store.indicators
        wanted = [parse_indicator(c) for c in BASE_CODES]
        questions: list = []

        def engine() -> None:
            if not questions:
                from domain.periods import parse_period, steps
                from projections.indicators import Question

                last = reads.today()
                span = parse_period("2023-2028")
                questions.extend(
                    Question(s, None, min(s.end, last), None) for s in steps(span, "month") if s.start <= last
                )
            calc.series(wanted, questions)

        parts = {
            "request": lambda: get(url),
            "RegisterReads.series": lambda: reads.series("2023-2028", "month"),
            "IndicatorCalculator.series": engine,
        }
        spent: dict[str, list[float]] = {k: [] for k in parts}
        for i in range(args.requests + 2):
            for key in list(parts) if i % 2 == 0 else list(parts)[::-1]:
                cpu = time.thread_time()
                parts[key]()
                if i >= 2:
                    spent[key].append((time.thread_time() - cpu) * 1000)
        for key, values in spent.items():
            print(f"{key}: CPU median {statistics.median(values):.1f} ms", flush=True)
    times, walls = [], []
    for _ in range(args.requests):
        cpu, wall = time.thread_time(), time.perf_counter()
        get(url)
        times.append((time.thread_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    print(f"request CPU: median {statistics.median(times):.1f} ms, all {[round(t, 1) for t in times]}", flush=True)
    print(f"request wall: median {statistics.median(walls):.1f} ms", flush=True)
    if args.profile:
        profile = cProfile.Profile(time.thread_time if args.profile == "cpu" else time.perf_counter)
        profile.enable()
        for _ in range(5):
            get(url)
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
