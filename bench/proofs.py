"""bench.run's phase for the Merkle tree (integrity.tree): what keeping it costs, and its proofs' latency.

- ``tree_import_overhead``: the time the load spent adding leaves and nodes to the tree
  (``Tree.link``, timed in the bench's own process, where the load runs), against the rest of
  the load's time.
- ``tree_api_overhead``: 1 - (single admissions per second) / (the same with the tree left out
  of commands: bench/untreed_app.py), both served by gunicorn with the service's config, in
  ``--tree-pairs`` pairs of short turns (each side going first in every other pair; before each
  turn a checkpoint brings the tree level with the ledger again, untimed): the median of the
  pairs' own overheads, a drift of the machine between pairs weighing on neither side.
  ``tree_api_overhead_spread`` gives their lowest, quartiles and highest; ``tree_cpu_ms`` each
  side's workers' CPU per answer and ``tree_cpu_overhead`` 1 - untreed / tree of it (what the
  machine's other load changes least).
- ``proof_p95_ms``: the largest of the p95 latencies of ``GET /ledger/checkpoint``,
  ``/ledger/consistency`` (random ``from``, ``to`` the tree's size) and ``/ledger/inclusion``
  (random position, the tree's size), one request at a time; each is also reported.
"""

from __future__ import annotations

import http.client
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.admissions import admission_bodies
from bench.serving import Gunicorn, call, combined, hammer, hammer_workers, percentile, service_env
from domain.clock import vietnam_today
from integrity.tree import Tree

KEYS = (
    "proof_p95_ms",
    "checkpoint_p95_ms",
    "consistency_p95_ms",
    "inclusion_p95_ms",
    "tree_import_overhead",
    "tree_api_overhead",
    "tree_cpu_overhead",
    "tree_api_errors",
)
BARS = {
    "proof_p95_ms": ("<=", 20),
    "tree_import_overhead": ("<=", 0.05),
    "tree_api_overhead": ("<=", 0.05),
    "tree_api_errors": ("=", 0),
}


class Timer:
    seconds = 0.0


@contextmanager
def timed_tree() -> Iterator[Timer]:
    """Time every ``Tree.link`` of this process while the block runs."""
    timer, link = Timer(), Tree.link

    def timed(self: Tree, *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            link(self, *args, **kwargs)
        finally:
            timer.seconds += time.perf_counter() - started

    Tree.link = timed  # type: ignore[method-assign]
    try:
        yield timer
    finally:
        Tree.link = link  # type: ignore[method-assign]


def import_overhead(timer: Timer, load_seconds: dict[str, float]) -> float:
    total = sum(load_seconds.values())
    return timer.seconds / max(total - timer.seconds, 1e-9)


def run(bench: Any, compare: bool = True) -> None:
    """The API's admissions with and without the tree (unless not to ``compare``), then the proofs' latencies."""
    rng = random.Random(bench.args.seed + 28)
    path = f"/v1/tenants/{bench.tenant}/members"
    env = service_env(bench.url, bench.settings.control_schema, bench.admin_token, bench.tmp)
    unions, run_id = bench.scope_unions, f"t{rng.randrange(10**6):06d}"
    admit = admission_bodies(rng, unions, vietnam_today())

    def admissions(tag: str):
        def admission(_c: int, n: int) -> dict:
            return admit(f"tree-{run_id}-{tag}-{n}", n)

        return admission

    pairs = bench.args.tree_pairs
    load = {
        "clients": bench.args.clients,
        "seconds": bench.args.api_seconds / pairs,
        "limit": bench.args.api_max_requests // pairs,
    }
    checkpoint = f"/v1/tenants/{bench.tenant}/ledger/checkpoint"
    if not compare:
        with Gunicorn("service.wsgi:app", env, bench.tmp / "service-tree.log") as treed:
            proofs(bench, treed, rng)
        return
    with (
        Gunicorn("service.wsgi:app", env, bench.tmp / "service-tree.log") as treed,
        Gunicorn("bench.untreed_app:app", env, bench.tmp / "service-untreed.log") as untreed,
    ):
        for name, server in (("tree", treed), ("untreed", untreed)):
            hammer(server.port, path, bench.token, admissions(f"warm-{name}"), **{**load, "seconds": 2})
        treed.workers_warm()
        untreed.workers_warm()
        parts: dict[str, list] = {"tree": [], "untreed": []}
        for n in range(pairs):
            sides = (("tree", treed), ("untreed", untreed))
            for name, server in sides if n % 2 == 0 else sides[::-1]:  # in turn first, as the machine drifts
                assert treed.request("GET", checkpoint, bench.token)[0] == 200  # the tree level with the ledger
                bench.settle()
                parts[name].append(hammer_workers(server, path, bench.token, admissions(f"{name}{n}"), **load))
            tree, without = parts["tree"][-1], parts["untreed"][-1]
            bench.log(
                f"tree A/B pair {n + 1}: tree {tree['rps']:.0f}/s ({tree['cpu_ms']:.2f} ms CPU an answer),"
                f" untreed {without['rps']:.0f}/s ({without['cpu_ms']:.2f} ms),"
                f" overhead {1 - tree['rps'] / without['rps']:+.3f}"
            )
        overheads = [1 - t["rps"] / u["rps"] for t, u in zip(parts["tree"], parts["untreed"], strict=True)]
        tree, without = combined(parts["tree"]), combined(parts["untreed"])
        bench.results.update(
            tree_api_rps=tree["rps"],
            untreed_api_rps=without["rps"],
            tree_api_overhead=statistics.median(overheads),
            tree_api_overhead_spread=spread(overheads),
            tree_cpu_ms={"tree": round(tree["cpu_ms"], 2), "untreed": round(without["cpu_ms"], 2)},
            tree_cpu_overhead=1 - without["cpu_ms"] / tree["cpu_ms"],
            tree_api_errors=tree["errors"] + without["errors"],
        )
        proofs(bench, treed, rng)


def spread(values: list[float]) -> dict[str, float]:
    """The lowest, the quartiles and the highest of ``values``, rounded: how far the pairs agree."""
    q1, q2, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    named = zip(("min", "q1", "median", "q3", "max"), (min(values), q1, q2, q3, max(values)), strict=True)
    return {name: round(value, 4) for name, value in named}


def proofs(bench: Any, server: Gunicorn, rng: random.Random) -> None:
    base = f"/v1/tenants/{bench.tenant}/ledger"
    status, head = server.request("GET", f"{base}/checkpoint", bench.token)
    assert status == 200, head
    size = head["size"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    latencies: dict[str, list[float]] = {"checkpoint": [], "consistency": [], "inclusion": []}
    failed = 0
    for _ in range(bench.args.proof_requests):
        for kind, query in (
            ("checkpoint", ""),
            ("consistency", f"?from={rng.randint(1, size)}&to={size}"),
            ("inclusion", f"?position={rng.randint(1, size)}&size={size}"),
        ):
            started = time.perf_counter()
            status, _ = call(conn, "GET", f"{base}/{kind}{query}", bench.token)
            latencies[kind].append((time.perf_counter() - started) * 1000)
            failed += status != 200
    conn.close()
    for kind, values in latencies.items():
        bench.results[f"{kind}_p95_ms"] = percentile(values, 95)
    bench.results["proof_p95_ms"] = max(bench.results[f"{kind}_p95_ms"] for kind in latencies)
    if failed:
        bench.results["proof_errors"] = failed
    bench.log(
        "proofs at "
        + f"{size:,} events: "
        + ", ".join(f"{kind} p95 {bench.results[f'{kind}_p95_ms']:.1f} ms" for kind in latencies)
        + f", {failed} failed"
    )
