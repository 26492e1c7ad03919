"""What the fault suite checks once a scenario's load is over, from outside the service.

The ledger is read straight from the tenant's store (the truth the views derive from); the
views are dumped, rebuilt from the ledger and dumped again; the hash chain is verified by the
``unionledger ledger verify`` command, as an operator would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from application.imports import ADMITTED_TOPIC
from tenants.bootstrap import Platform, bootstrap
from tenants.settings import Settings
from tenants.stores import TenantStore

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> list[str]:
    """The ``unionledger`` command installed beside this Python (``make setup``), with ``args``."""
    script = Path(sys.executable).parent / "unionledger"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from service.cli import main; main()", *args]


class Inspector:
    """The tenants' stores opened by the suite itself, beside the service."""

    def __init__(self, settings: Settings):
        self.platform: Platform = bootstrap(settings)

    def close(self) -> None:
        self.platform.close()

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def store(self, tenant: str) -> Iterator[TenantStore]:
        with self.platform.stores.use(tenant) as store:
            yield store

    def admissions(self, tenant: str) -> Counter:
        """member id -> MemberAdmitted events in the ledger (more than one is a duplicate)."""
        with self.store(tenant) as store, store.transaction() as cur:
            table = store.event_store.events_table
            rows = cur.execute(f"SELECT state FROM {table} WHERE topic = ?", (ADMITTED_TOPIC,)).fetchall()
        return Counter(json.loads(bytes(state))["member_id"] for (state,) in rows)

    def admitted_count(self, tenant: str) -> int:
        """MemberAdmitted events committed to the ledger (a reader's view, without any lock)."""
        with self.store(tenant) as store, store.transaction() as cur:
            table = store.event_store.events_table
            return cur.scalar(f"SELECT COUNT(*) FROM {table} WHERE topic = ?", (ADMITTED_TOPIC,))

    def views_equal_rebuild(self, tenant: str) -> tuple[bool, str]:
        """Every view table of the tenant as it is, against the same after a rebuild from the
        ledger; the tables that differ, with their row counts."""
        with self.store(tenant) as store:
            tables = [table for projection in store.projector.projections for table in projection.tables]
            live = store.views.dump(tables)
            store.rebuild()
            rebuilt = store.views.dump(tables)
        differ = [f"{t} ({len(live[t])} rows, rebuilt {len(rebuilt[t])})" for t in tables if live[t] != rebuilt[t]]
        return not differ, ("views differ from a rebuild: " + ", ".join(differ)) if differ else ""


def chain_verifies(env: dict[str, str], tenant: str) -> tuple[bool, str]:
    """``unionledger ledger verify --tenant T`` exits 0."""
    done = subprocess.run(
        cli("ledger", "verify", "--tenant", tenant),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode == 0:
        return True, ""
    return False, "ledger verify: " + (done.stderr.strip() or done.stdout.strip())[-300:]
