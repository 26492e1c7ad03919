"""A rebuild of the same ledger by an earlier commit's code and by the code as it stands, side by side.

    python -m bench.rebuild_ab --members 20000 --before 2b8b9b7 [--rounds 2] [--keep]
    python -m bench.rebuild_ab --members 0 --before 2b8b9b7 --tenant T --control-schema S  # a kept one

Loads one province on PostgreSQL (``UNIONLEDGER_BENCH_DATABASE_URL``, default the local test
database), then in turns, each behind a fresh scan-and-decode of the ledger (the bench's
baseline), rebuilds its views with ``bench.rebuild_child`` run from the earlier commit's tree
(``git archive``) and from this one. On a shared machine only figures of one run compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from bench.rebuilding import drop, rebuild, scan, tree_of
from bench.run import DEFAULT_URL
from bench.serving import ROOT
from tenants.settings import Settings


def load(url: str, tenant: str, control: str, members: int, data_dir: Path, plans: bool = True) -> None:
    from application.register import Register
    from bench.plan_records import load_plan_records
    from demo.generator import generate_province, load_province
    from domain.clock import vietnam_today
    from tenants.bootstrap import bootstrap

    settings = Settings(database_url=url, data_dir=data_dir, admin_token=uuid.uuid4().hex, control_schema=control)
    province = generate_province(members, 1, vietnam_today())
    platform = bootstrap(settings)
    try:
        platform.provision(tenant, "Rebuild A/B")
        with platform.stores.use(tenant) as store:
            load_province(Register(store), province, actor="bench")
            if plans:
                load_plan_records(Register(store), province, "bench", vietnam_today())
    finally:
        platform.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the province (to profile it); drop it after")
    parser.add_argument("--tenant", help="a province kept by an earlier run (with --control-schema): not loaded again")
    parser.add_argument("--control-schema")
    args = parser.parse_args(argv)
    url = os.environ.get("UNIONLEDGER_BENCH_DATABASE_URL") or DEFAULT_URL
    suffix = uuid.uuid4().hex[:8]
    kept = args.tenant is not None
    tenant, control = (args.tenant, args.control_schema) if kept else (f"ab-{suffix}", f"ab_ctl_{suffix}")
    scratch = Path(tempfile.mkdtemp(prefix="unionledger-ab-"))
    before = tree_of(args.before, scratch / "before", ROOT)
    try:
        if not kept:
            load(url, tenant, control, args.members, scratch / "data")
        for round_ in range(args.rounds):
            pair = (("before", before), ("after", ROOT))
            for name, root in pair if round_ % 2 == 0 else pair[::-1]:  # A B B A ...
                count, seconds = scan(url, tenant)
                rate = count / seconds
                child = rebuild(root, url, tenant, control)
                eps = child["events"] / child["seconds"]
                print(
                    f"{name:6} round {round_}: {child['events']:,} events in {child['seconds']:.1f} s,"
                    f" {eps:,.0f} events/s, scan {rate:,.0f}/s, ratio {eps / rate:.3f},"
                    f" peak RSS {child['rss_mb']} MB, Python CPU {child['cpu']:.1f} s",
                    flush=True,
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if args.keep or kept:
            print(f"kept: --tenant {tenant} --control-schema {control}", flush=True)
        else:
            drop(url, tenant, control)


if __name__ == "__main__":
    main()
