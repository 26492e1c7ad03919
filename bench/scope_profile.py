"""A scoped clerk's admission and the federation admin's, side by side in process: thread CPU per call.

    python -m bench.scope_profile --members 200000 --reuse SUFFIX [--rounds 20] [--batch 50] [--profile DIR]

On a province a ``bench.run --keep`` run loaded (``--reuse``: its suffix, the same ``--members``
and ``--seed``), builds the app as a gunicorn worker does and calls its WSGI app (the admission
route in front of Flask) directly, one admission at a time, ``--batch`` scoped then ``--batch``
unscoped, ``--rounds`` times: each call's thread CPU (the request's thread is the group's leader
here, so it includes the work under the tenant lock). With ``--profile DIR`` a cProfile of each
side is written there (scoped.prof, unscoped.prof).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="unionledger-scope-metrics-"))

from bench import kept
from bench.admissions import admission_bodies
from demo.generator import generate_province
from domain.clock import vietnam_today
from projections.placement import Placements, holder_on
from tenants.bootstrap import bootstrap


def environ_for(path: str, token: str, body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", required=True, help="the suffix of a province a bench.run --keep loaded")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--profile", default=None, help="a directory for scoped.prof and unscoped.prof")
    parser.add_argument("--warm", type=int, default=30, help="admissions of each side before the measured ones")
    args = parser.parse_args(argv)

    settings = kept.settings(args.reuse, "bench_ctl", "scope", 4)
    tmp = settings.data_dir
    tenant = f"bench-{args.reuse}"
    today = vietnam_today()
    province = generate_province(args.members, args.seed, today)
    platform = bootstrap(settings)
    try:
        unions = province.open_unions()
        with platform.stores.use(tenant) as store:
            spans = Placements(store.transaction).spans("union", [u for u, _f in unions])
        holder = {u: holder_on(spans.get(u, []), today.toordinal())[0] for u, _f in unions}
        unit = Counter(holder.values()).most_common(1)[0][0]
        scoped = [(u, f) for u, f in unions if holder[u] == unit]
        tokens = {
            "scoped": platform.registry.issue_token(tenant, "clerk", "bench-clerk", unit),
            "unscoped": platform.registry.issue_token(tenant, "federation_admin", "bench"),
        }
        print(f"clerk scoped to {unit} ({len(scoped)} open unions)")

        from service import logs
        from service.app import create_app

        log_file = open(tmp / "service.log", "w")  # noqa: SIM115 - the worker's standard error
        logs.install(logging.INFO, log_file)
        app = create_app(platform=platform)
        wsgi = app.wsgi_app
        run = uuid.uuid4().hex[:6]
        admit = admission_bodies(__import__("random").Random(args.seed), scoped, today)
        path = f"/v1/tenants/{tenant}/members"
        statuses: list[str] = []

        def start_response(status: str, _headers: list, _exc=None) -> None:
            statuses.append(status)

        counter = iter(range(10**9))

        def call(side: str) -> float:
            n = next(counter)
            body = json.dumps(admit(f"sp-{run}-{n}", n)).encode()
            environ = environ_for(path, tokens[side], body)
            began = time.thread_time()
            b"".join(wsgi(environ, start_response))
            spent = time.thread_time() - began
            assert statuses[-1].startswith("201"), statuses[-1]
            return spent * 1000

        for side in ("scoped", "unscoped"):
            for _ in range(args.warm):
                call(side)
        profiles = {side: cProfile.Profile() for side in tokens} if args.profile else {}
        cpu: dict[str, list[float]] = {side: [] for side in tokens}
        per_round: dict[str, list[float]] = {side: [] for side in tokens}
        for r in range(args.rounds):
            for side in ("scoped", "unscoped") if r % 2 == 0 else ("unscoped", "scoped"):
                profile = profiles.get(side)
                if profile:
                    profile.enable()
                spent = [call(side) for _ in range(args.batch)]
                if profile:
                    profile.disable()
                cpu[side] += spent
                per_round[side].append(statistics.median(spent))
        for side, each in cpu.items():
            print(
                f"{side:9s} {len(each)} admissions: thread CPU ms median {statistics.median(each):.3f},"
                f" mean {statistics.mean(each):.3f}; round medians {[round(x, 3) for x in per_round[side]]}"
            )
        diffs = [s - u for s, u in zip(per_round["scoped"], per_round["unscoped"])]
        rounded = [round(d, 3) for d in diffs]
        print(f"scoped - unscoped, per round (ms): median {statistics.median(diffs):.3f}, {rounded}")
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            for side, profile in profiles.items():
                profile.dump_stats(str(Path(args.profile) / f"{side}.prof"))
        log_file.close()
    finally:
        platform.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
