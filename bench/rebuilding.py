"""The ledger read in order (the rebuild's baseline) and a rebuild of the views in a process of its
own (bench.rebuild_child), as bench.run and bench.rebuild_ab both measure them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tenants.settings import Settings, schema_name

# bench.rebuild_child run as a module of the tree it is started in, then the CPU it used
CHILD = (
    "import json, resource, runpy, sys; sys.argv = ['rebuild_child', *sys.argv[1:]];"
    " runpy.run_module('bench.rebuild_child', run_name='__main__');"
    " u = resource.getrusage(resource.RUSAGE_SELF); print(json.dumps({'cpu': u.ru_utime + u.ru_stime}))"
)


def scan(conninfo: str, tenant: str) -> tuple[int, float]:
    """Read every event in ledger order (server-side cursor) and decode its JSON; returns how many
    and the seconds it took."""
    events = sql.Identifier(schema_name(tenant), "ledger_events")
    started, count = time.perf_counter(), 0
    with psycopg.connect(conninfo) as conn, conn.cursor(name="scan") as cur:
        cur.execute(sql.SQL("SELECT notification_id, topic, state FROM {} ORDER BY notification_id").format(events))
        while rows := cur.fetchmany(2000):
            for _, _, state in rows:
                json.loads(state)
            count += len(rows)
    return count, time.perf_counter() - started


def rebuild(root: Path, url: str, tenant: str, control: str) -> dict:
    """The tenant's views rebuilt by the code of the tree ``root``, in a process of its own:
    bench.rebuild_child's figures and the process's CPU seconds (``cpu``)."""
    lines = run_in_tree(root, CHILD, ["--database-url", url, "--control-schema", control, "--tenant", tenant])
    return {**json.loads(lines[-2]), **json.loads(lines[-1])}


def run_in_tree(root: Path, code: str, args: list[str]) -> list[str]:
    """Run ``code`` with ``args`` in a Python process importing the project from the tree ``root``;
    returns the lines it printed."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"a child run from {root} failed: " + out.stderr[-3000:])
    return out.stdout.strip().splitlines()


def tree_of(commit: str, into: Path, repository: Path) -> Path:
    """The files of ``commit`` of ``repository`` written into the new folder ``into`` (``git archive``)."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=repository, capture_output=True, check=True).stdout
    subprocess.run(["tar", "x"], cwd=into, input=archive, check=True)
    return into


def drop(url: str, tenant: str, control: str) -> None:
    """Drop a bench's tenant with its control and national schemas."""
    with psycopg.connect(url, autocommit=True) as conn:
        national = Settings(database_url=url, control_schema=control).national_schema
        for schema in (schema_name(tenant), control, national):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
