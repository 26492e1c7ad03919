"""What the server does beside a benchmark: samples of its busy backends, written as JSON lines.

    python -m bench.beside --out beside.jsonl [--interval 0.5] [--schema-like 'bench%']

Every ``--interval`` seconds until interrupted: the time, the load average, each backend that is
not idle (its type, state, wait, the first of its statement, its CPU so far from /proc), and any
VACUUM or ANALYZE in progress with the table it works on. Read beside a run's log, it tells what
overlapped a phase (autovacuum of the tables an import just wrote, a checkpoint, another tenant).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import psycopg

from bench.serving import backend_seconds

ACTIVITY = """
SELECT pid, backend_type, state, wait_event_type, wait_event, left(query, 120), datname
FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND (state IS DISTINCT FROM 'idle')
  AND backend_type NOT IN ('walwriter', 'logical replication launcher', 'archiver')
"""
VACUUMS = """
SELECT p.pid, p.phase, n.nspname, c.relname, p.heap_blks_total, p.heap_blks_scanned, p.index_vacuum_count
FROM pg_stat_progress_vacuum p LEFT JOIN pg_class c ON c.oid = p.relid
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
"""
ANALYZES = """
SELECT p.pid, p.phase, n.nspname, c.relname
FROM pg_stat_progress_analyze p LEFT JOIN pg_class c ON c.oid = p.relid
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--url", default=os.environ.get("UNIONLEDGER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    stop = False

    def ended(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, ended)
    signal.signal(signal.SIGINT, ended)
    with psycopg.connect(args.url, autocommit=True) as conn, open(args.out, "a") as out:
        while not stop:
            sample: dict[str, object] = {"t": round(time.time(), 2), "load": os.getloadavg()[0]}
            rows = conn.execute(ACTIVITY).fetchall()
            sample["busy"] = [
                {
                    "pid": pid,
                    "type": kind,
                    "state": state,
                    "wait": f"{wtype}:{wevent}" if wtype else None,
                    "query": query,
                    "db": db,
                    "cpu_s": backend_seconds(pid),
                }
                for pid, kind, state, wtype, wevent, query, db in rows
            ]
            sample["vacuum"] = [
                {"pid": p, "phase": ph, "table": f"{s}.{r}", "blocks": t, "scanned": sc, "index_passes": ip}
                for p, ph, s, r, t, sc, ip in conn.execute(VACUUMS).fetchall()
            ]
            sample["analyze"] = [
                {"pid": p, "phase": ph, "table": f"{s}.{r}"} for p, ph, s, r in conn.execute(ANALYZES).fetchall()
            ]
            out.write(json.dumps(sample) + "\n")
            out.flush()
            time.sleep(args.interval)
    sys.exit(0)


if __name__ == "__main__":
    main()
