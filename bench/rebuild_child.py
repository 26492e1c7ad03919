"""Rebuild every view of one tenant in a process of its own and print what it took, as JSON.

``python -m bench.rebuild_child --database-url URL --control-schema S --tenant T`` prints
``{"events", "seconds", "rss_mb", "rss_before_mb"}``: ``rss_mb`` is the process's peak
resident set, interpreter and imports included. It is read from ``VmHWM`` in /proc/self/status:
``getrusage``'s ``ru_maxrss`` survives exec on Linux, so a child started from a large parent
would report the parent's size.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux; elsewhere bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--control-schema", required=True)
    parser.add_argument("--tenant", required=True)
    args = parser.parse_args()

    from tenants.settings import Settings
    from tenants.stores import TenantStore

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(database_url=args.database_url, control_schema=args.control_schema, data_dir=Path(data_dir))
        store = TenantStore(args.tenant, settings)
        try:
            before = peak_rss_mb()
            started = time.perf_counter()
            events = store.rebuild()
            seconds = time.perf_counter() - started
        finally:
            store.close()
    print(
        json.dumps(
            {"events": events, "seconds": seconds, "rss_mb": round(peak_rss_mb(), 1), "rss_before_mb": round(before, 1)}
        )
    )


if __name__ == "__main__":
    main()
