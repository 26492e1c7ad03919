"""A single admission's CPU outside its group's transaction, through the service's WSGI app, in process.

    python -m bench.admission_path [--members 5000] [--requests 3000] [--turns 3] [--unscoped]
        [--profile out.prof] [--top 40]

Loads a scratch province as bench/api_profile.py does, builds the app as gunicorn's worker does
(metrics in multiprocess mode, JSON log lines), then calls the WSGI app itself with a gunicorn-like
environ for each admission (a scoped clerk's bearer token unless ``--unscoped``), one at a time.
Per call it takes this thread's CPU (``time.thread_time_ns``) in all and inside the group's
transaction (``Register._commit_group``, the leader's part), and prints, per turn, the median
and mean of the difference: what a request's own path costs a worker (gunicorn's own part
excepted); and that path's CPU per µs of the group's transaction, whose code both sides of an
A/B share: a figure less moved by how loaded the machine is. ``--profile`` writes a cProfile of
that path alone (off while the group commits); ``--split`` times each step. Every answer's status
is checked (the log lines go to ``ADMISSION_PATH_LOG`` if set). Run it from each side's worktree,
alternated (its own copy, on PYTHONPATH=that tree).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import logging
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="unionledger-path-metrics-"))

from application import register as register_module
from application.register import Register
from bench import kept
from bench.admissions import admission_bodies, busiest_unit
from demo.generator import generate_province, load_province
from domain.clock import vietnam_today
from tenants.bootstrap import bootstrap


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--unscoped", action="store_true")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--split", action="store_true", help="also each step's CPU (a few wrappers' cost added)")
    parser.add_argument(
        "--hot", type=int, default=0, help="then turns of this many calls with the group's transaction stubbed"
    )
    args = parser.parse_args(argv)

    suffix = uuid.uuid4().hex[:8]
    settings = kept.settings(suffix, "bench_ctl", "path", 4)
    tenant = f"bench-{suffix}"
    platform = bootstrap(settings)
    profile = cProfile.Profile() if args.profile else None
    inside = [0]
    original = Register._commit_group
    commit_with = [original]  # what the timed group commit calls (the stub of ``--hot``)

    def timed_commit(self, take):  # type: ignore[no-untyped-def]
        if profile:
            profile.disable()
        started = time.thread_time_ns()
        try:
            return commit_with[0](self, take)
        finally:
            inside[0] += time.thread_time_ns() - started
            if profile:
                profile.enable()

    register_module.Register._commit_group = timed_commit  # type: ignore[method-assign]
    try:
        token = platform.provision(tenant, "Admission path")
        province = generate_province(args.members, args.seed, vietnam_today())
        with platform.stores.use(tenant) as store:
            load_province(Register(store), province, actor="bench")
            unions = province.open_unions()
            today = vietnam_today()
            unit, scoped = busiest_unit(store, unions, today)
        if not args.unscoped:
            token = platform.registry.issue_token(tenant, "clerk", "bench-clerk", unit)

        from service import logs
        from service.app import create_app

        log_file = open(os.environ.get("ADMISSION_PATH_LOG", os.devnull), "w")  # noqa: SIM115 - the worker's standard error
        logs.install(logging.INFO, log_file)
        app = create_app(platform=platform)
        steps: dict[str, list[int]] = {}
        if args.split:
            _split(app, steps, inside)
        admit = admission_bodies(random.Random(args.seed), scoped, today)
        path = f"/v1/tenants/{tenant}/members"

        def environ(body: bytes) -> dict:
            return {
                "REQUEST_METHOD": "POST",
                "SCRIPT_NAME": "",
                "PATH_INFO": path,
                "QUERY_STRING": "",
                "RAW_URI": path,
                "SERVER_PROTOCOL": "HTTP/1.1",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "REMOTE_ADDR": "127.0.0.1",
                "REMOTE_PORT": "50000",
                "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_HOST": "127.0.0.1:8000",
                "HTTP_AUTHORIZATION": f"Bearer {token}",
                "HTTP_USER_AGENT": "bench",
                "HTTP_ACCEPT": "*/*",
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": "http",
                "wsgi.multithread": True,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
            }

        answered: list = []

        def start_response(status: str, headers: list, exc_info=None):  # type: ignore[no-untyped-def]
            answered.append(status)

        def call(n: int) -> tuple[int, int]:
            body = json.dumps(admit(f"path-{suffix}-{n}", n)).encode()
            env = environ(body)
            answered.clear()
            inside[0] = 0
            started = time.thread_time_ns()
            if profile:
                profile.enable()
            out = b"".join(app(env, start_response))
            if profile:
                profile.disable()
            spent = time.thread_time_ns() - started
            assert answered == ["201 CREATED"], (answered, out)
            return spent, inside[0]

        for n in range(200):  # warm: the store opened, the token known
            call(10**7 + n)
        time.sleep(1.0)
        gc.freeze()  # as gunicorn's worker does once the app is loaded (service/gunicorn.conf.py)
        if os.environ.get("ADMISSION_PATH_NO_GC"):
            gc.disable()
        collected = [0]
        gc.callbacks.append(lambda phase, info: collected.__setitem__(0, collected[0] + (phase == "start")))
        n = 0
        for turn in range(args.turns):
            outside, totals, leading = [], [], []
            for _ in range(args.requests):
                spent, committing = call(n)
                n += 1
                outside.append((spent - committing) / 1000)
                totals.append(spent / 1000)
                leading.append(committing / 1000)
            print(
                f"turn {turn + 1}: outside the group's transaction median {statistics.median(outside):.1f} µs,"
                f" mean {statistics.mean(outside):.1f}; the group's transaction (unchanged code: the machine's"
                f" pace) mean {statistics.mean(leading):.1f} µs, outside per µs of it"
                f" {sum(outside) / sum(leading):.3f}; whole call median {statistics.median(totals):.1f} µs"
                f" ({args.requests} admissions, {collected[0]} collections, load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            for name, (spent, calls) in steps.items():
                print(f"  {name:<40} {spent / 1000 / max(calls, 1):7.1f} µs ({calls} calls)")
                steps[name] = [0, 0]
        if args.hot:
            _hot(args, call, commit_with)
        if profile:
            profile.dump_stats(args.profile)
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
        log_file.close()
    finally:
        register_module.Register._commit_group = original  # type: ignore[method-assign]
        platform.close()
        kept.drop(settings, tenant)
        shutil.rmtree(settings.data_dir, ignore_errors=True)
        metrics = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        if os.path.basename(metrics).startswith("unionledger-path-metrics-"):  # made above
            shutil.rmtree(metrics, ignore_errors=True)


def _hot(args, call, commit_with) -> None:  # type: ignore[no-untyped-def]
    """The same path with the group's transaction replaced by the last member's answer: nothing
    waits, so the path runs with warm caches, and its CPU is its instructions' alone."""
    real = commit_with[0]
    taken: list = []

    def keep(self, take):  # type: ignore[no-untyped-def]
        real(self, lambda: taken.extend(take()) or taken)

    def stub(self, take):  # type: ignore[no-untyped-def]
        for item in take():
            item.result, item.done = taken[0].result, True

    commit_with[0] = keep
    call(-1)
    commit_with[0] = stub
    try:
        for turn in range(args.turns):
            outside = [(lambda spent, inside: (spent - inside) / 1000)(*call(-2 - i)) for i in range(args.hot)]
            print(
                f"hot turn {turn + 1}: outside the stubbed transaction median {statistics.median(outside):.1f} µs,"
                f" mean {statistics.mean(outside):.1f} ({args.hot} calls, load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    finally:
        commit_with[0] = real


def _split(app, steps: dict[str, list[int]], inside: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Each named step's thread CPU, less the group's transaction where a step holds it."""
    from service import admissions, auth, metrics

    def timed(name, fn):  # type: ignore[no-untyped-def]
        steps[name] = [0, 0]

        def wrapper(*a, **k):  # type: ignore[no-untyped-def]
            before, started = inside[0], time.thread_time_ns()
            try:
                return fn(*a, **k)
            finally:
                step = steps[name]
                step[0] += time.thread_time_ns() - started - (inside[0] - before)
                step[1] += 1

        return wrapper

    route = app.wsgi_app
    for name in ("_principal", "_body", "_arguments", "_admitted", "encode", "answer"):
        if name == "answer":
            route.answer.dump = timed("answer.dump", route.answer.dump)
        else:
            setattr(route, name, timed(name, getattr(route, name)))
    admissions.admit_member = timed("admit_member", admissions.admit_member)
    auth.principal_register = timed("auth.principal_register", auth.principal_register)
    admissions.auth = auth
    metrics.count = timed("metrics.count", metrics.count)
    admissions.metrics = metrics
    from service import logs

    logs.accepted_request_id = timed("logs.accepted_request_id", logs.accepted_request_id)
    logs.info = timed("logs.info", logs.info)
    Register.execute = timed("Register.execute", Register.execute)  # type: ignore[method-assign]
    Register._sealed_ahead = timed("Register._sealed_ahead", Register._sealed_ahead)  # type: ignore[method-assign]
    from application import grouping

    grouping.GroupCommit.submit = timed("GroupCommit.submit", grouping.GroupCommit.submit)  # type: ignore[method-assign]
    stores = app.extensions["unionledger"].stores
    use = stores.use

    def timed_use(*a, **k):  # type: ignore[no-untyped-def]
        return _TimedContext(steps, "stores.use enter+exit", use(*a, **k), inside)

    steps["stores.use enter+exit"] = [0, 0]
    stores.use = timed_use


class _TimedContext:
    def __init__(self, steps, name, context, inside):  # type: ignore[no-untyped-def]
        self.steps, self.name, self.context, self.inside = steps, name, context, inside

    def __enter__(self):  # type: ignore[no-untyped-def]
        started = time.thread_time_ns()
        try:
            return self.context.__enter__()
        finally:
            self.steps[self.name][0] += time.thread_time_ns() - started
            self.steps[self.name][1] += 1

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        started = time.thread_time_ns()
        try:
            return self.context.__exit__(*exc)
        finally:
            self.steps[self.name][0] += time.thread_time_ns() - started


if __name__ == "__main__":
    main()
