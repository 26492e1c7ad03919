"""The first opening of a ledger kept before the events carried the audit trail's columns, by an
earlier commit's code and by the code as it stands, side by side.

    python -m bench.fill_ab --members 200000 --before d3380ca [--rounds 2]

Loads one province on PostgreSQL (``UNIONLEDGER_BENCH_DATABASE_URL``, default the local test
database), then in turns: gives its ledger the shape an earlier version left (the trail's six
columns and their indexes dropped, the table rewritten by ``VACUUM FULL`` so the rows are as
narrow as they were), and opens the tenant's store in a process of its own run from the earlier
commit's tree (``git archive``) or from this one. The opening fills the columns from each event's
state before the store serves (``TenantStore._list_ledger``); ``open_s`` is that first opening,
``again_s`` a second one of the filled store. Each turn's result is checked against the first's
(the same columns, row for row). On a shared machine only figures of one run compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from bench.rebuild_ab import load
from bench.rebuilding import drop, run_in_tree, tree_of
from bench.run import DEFAULT_URL
from bench.serving import ROOT
from projections.audit import ENTRY_COLUMNS
from tenants.settings import schema_name

# Opens the tenant's store twice in the tree it is started in; prints the seconds of each.
CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from tenants.settings import Settings
from tenants.stores import TenantStore
url, control, tenant = sys.argv[1:4]
with tempfile.TemporaryDirectory() as data:
    settings = Settings(database_url=url, control_schema=control, data_dir=Path(data))
    times = []
    for _ in range(2):
        started = time.perf_counter()
        store = TenantStore(tenant, settings)
        times.append(time.perf_counter() - started)
        store.close()
print(json.dumps({"open_s": times[0], "again_s": times[1]}))
"""


def make_old(url: str, tenant: str) -> int:
    """The ledger as an earlier version kept it: no trail columns, no indexes on them, narrow rows."""
    table = sql.Identifier(schema_name(tenant), "ledger_events")
    drop = sql.SQL(", ").join(sql.SQL("DROP COLUMN IF EXISTS {}").format(sql.Identifier(c)) for c in ENTRY_COLUMNS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER TABLE {} ").format(table) + drop)
        conn.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(table))
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
    assert row is not None
    return int(row[0])


def filled(url: str, tenant: str) -> str:
    """A digest of the trail's columns of every event, in ledger order."""
    table = sql.Identifier(schema_name(tenant), "ledger_events")
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in ENTRY_COLUMNS)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            sql.SQL("SELECT md5(string_agg(row({})::text, '|' ORDER BY notification_id)) FROM {}").format(
                columns, table
            )
        ).fetchone()
    assert row is not None
    return str(row[0])


def open_store(root: Path, url: str, tenant: str, control: str) -> dict:
    started = time.perf_counter()
    lines = run_in_tree(root, CHILD, [url, control, tenant])
    return {**json.loads(lines[-1]), "process_s": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    url = os.environ.get("UNIONLEDGER_BENCH_DATABASE_URL") or DEFAULT_URL
    suffix = uuid.uuid4().hex[:8]
    tenant, control = f"fill-{suffix}", f"fill_ctl_{suffix}"
    scratch = Path(tempfile.mkdtemp(prefix="unionledger-fill-"))
    before = tree_of(args.before, scratch / "before", ROOT)
    try:
        started = time.perf_counter()
        load(url, tenant, control, args.members, scratch / "data", plans=False)
        print(f"loaded {args.members:,} members in {time.perf_counter() - started:.1f} s", flush=True)
        reference = filled(url, tenant)
        for round_ in range(args.rounds):
            for name, root in (("before", before), ("after", ROOT)):
                events = make_old(url, tenant)
                child = open_store(root, url, tenant, control)
                same = filled(url, tenant) == reference
                print(
                    f"{name:6} round {round_}: {events:,} events, first opening {child['open_s']:.1f} s"
                    f" ({events / child['open_s']:,.0f} events/s), second {child['again_s']:.2f} s,"
                    f" columns as written by the recorder: {same}",
                    flush=True,
                )
    finally:
        drop(url, tenant, control)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
