"""The fault suite: the service under concurrency, killed workers and commands, PostgreSQL restarts.

    python -m faults.run [--store postgres|sqlite|both] [--scenario NAME ...] [--members N]

Each scenario runs on a gunicorn of its own (service/gunicorn.conf.py, 2 workers) over a
throwaway PostgreSQL server (never the shared one) or a temporary SQLite data folder, and
prints one row per store: requests acknowledged, lost, duplicated, 5xx after recovery, seconds
to recover, wrong answers, views equal to a rebuild, chain verifies, pass or FAIL, and why.
Exits 1 if any scenario fails. docs/faults.md says what each scenario does and proves.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from faults.moves import SCENARIOS as MOVES
from faults.postgres import ThrowawayPostgres
from faults.province import ProvinceFiles
from faults.scenarios import SCENARIOS, Context, HarnessError, Result
from faults.servers import SERVER_SCENARIOS
from tenants.settings import Settings

STORES = ("postgres", "sqlite")
SCENARIOS = {**SCENARIOS, **SERVER_SCENARIOS, **MOVES}  # across servers, moves between provinces
COLUMNS = (
    ("scenario", 17),
    ("store", 8),
    ("acked", 6),
    ("lost", 5),
    ("dup", 4),
    ("5xx after", 9),
    ("recover s", 9),
    ("wrong", 6),
    ("views=rebuild", 13),
    ("chain", 5),
    ("result", 6),
)


START = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


def yes_no(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def row(result: Result) -> str:
    values = (
        result.scenario,
        result.store,
        result.acknowledged,
        result.lost,
        result.duplicated,
        result.errors_after,
        "-" if result.recover_s is None else f"{result.recover_s:.1f}",
        result.wrong,
        yes_no(result.views_equal),
        yes_no(result.chain_ok),
        "pass" if result.passed else "FAIL",
    )
    return "  ".join(
        f"{v:<{w}}" if i < 2 or i >= 8 else f"{v:>{w}}" for i, ((_, w), v) in enumerate(zip(COLUMNS, values))
    )


def header() -> str:
    return "  ".join(f"{name:<{w}}" if i < 2 or i >= 8 else f"{name:>{w}}" for i, (name, w) in enumerate(COLUMNS))


def explained(result: Result) -> list[str]:
    return [f"    FAIL: {why}" for why in result.failures] + [f"    note: {what}" for what in result.notes]


def selected(names: list[str] | None) -> list[str]:
    """Scenario names, each given as a whole name or a prefix (``kill-import`` is both of its kinds)."""
    if not names:
        return list(SCENARIOS)
    chosen = []
    for name in names:
        matches = [s for s in SCENARIOS if s.startswith(name)]
        if not matches:
            raise SystemExit(f"no scenario {name!r}; there are: {', '.join(SCENARIOS)}")
        chosen += [m for m in matches if m not in chosen]
    return [s for s in SCENARIOS if s in chosen]


def run_store(
    store: str, names: list[str], files: ProvinceFiles, folder: Path, args: argparse.Namespace
) -> list[Result]:
    names = [n for n in names if store in SCENARIOS[n][1]]
    if not names:
        return []
    admin = secrets.token_urlsafe(24)
    pg = None
    if store == "postgres":
        try:
            pg = ThrowawayPostgres().__enter__()
        except Exception as error:  # noqa: BLE001 - every PostgreSQL scenario fails, saying why
            results = [
                Result(name, store, failures=[f"could not run: no PostgreSQL server: {error}"]) for name in names
            ]
            for result in results:
                print(row(result), *explained(result), sep="\n", flush=True)
            return results
        log(f"postgres: a throwaway server on port {pg.port} ({pg.bin})")
        settings = Settings(database_url=pg.url, data_dir=folder / "postgres-data", admin_token=admin)
    else:
        settings = Settings(data_dir=folder / "sqlite-data", admin_token=admin)
    ctx = Context(store, settings, pg, files, folder, log, seconds=args.seconds, kill_at=tuple(args.kill_at))
    results = []
    try:
        for name in names:
            result = Result(name, store)
            log(f"{store} {name}: start")
            began = time.monotonic()
            try:
                SCENARIOS[name][0](ctx, result)
            except HarnessError as error:
                result.fail(f"could not run: {error}")
            except Exception as error:  # noqa: BLE001 - reported as the scenario's failure
                traceback.print_exc()
                result.fail(f"could not run: {type(error).__name__}: {error}")
            result.seconds = time.monotonic() - began
            log(f"{store} {name}: {'pass' if result.passed else 'FAIL'} in {result.seconds:.1f} s")
            print(row(result), flush=True)
            for line in explained(result):
                print(line, flush=True)
            results.append(result)
    finally:
        if pg is not None:
            pg.__exit__()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=(*STORES, "both"), default="both")
    parser.add_argument("--scenario", nargs="+", metavar="NAME", help=f"some of: {', '.join(SCENARIOS)}")
    parser.add_argument("--members", type=int, default=30_000, help="members in the imported file")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of load before a fault and after recovery")
    parser.add_argument(
        "--kill-at",
        type=float,
        nargs="+",
        default=[0.3, 0.6, 0.9],
        metavar="SHARE",
        help="kills mid-import fall at these shares of a whole import's time (or once rows show)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, SQLite files)")
    args = parser.parse_args(argv)
    names = selected(args.scenario)
    stores = STORES if args.store == "both" else (args.store,)
    folder = Path(tempfile.mkdtemp(prefix="unionledger-faults-"))
    try:
        log(f"generating a province of {args.members:,} members")
        files = ProvinceFiles.make(args.members, folder)
        print(header(), flush=True)
        results = [r for store in stores for r in run_store(store, names, files, folder, args)]
    finally:
        if args.keep:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n" + header())
    for result in results:
        print(row(result))
    failed = [r for r in results if not r.passed]
    print(
        f"\n{len(results) - len(failed)} of {len(results)} passed"
        + (": failed " + ", ".join(f"{r.scenario} ({r.store})" for r in failed) if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
