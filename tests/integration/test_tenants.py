"""Tenants live apart (a schema or a file each) and open stores stay bounded."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing

from tenants.settings import schema_name
from tests.conftest import new_tenant

# Tenants' schemas are named after them: ids of this run's own, so that two runs of the suite can
# share one PostgreSQL server.
STOPPED, SHARED = (f"demo-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("stopped", "shared"))


def kept(settings, tenant_id: str) -> tuple[set[str], int]:
    """The tables in the tenant's own SQLite file or PostgreSQL schema, and how many events its ledger holds."""
    if settings.backend == "sqlite":
        path = settings.data_dir / "tenants" / f"{tenant_id}.sqlite"
        assert path.exists()
        with closing(sqlite3.connect(path)) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return tables, conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
    import psycopg

    schema = schema_name(tenant_id)
    with psycopg.connect(settings.conninfo()) as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
            )
        }
        return tables, conn.execute(f'SELECT COUNT(*) FROM "{schema}".ledger_events').fetchone()[0]


def test_each_tenant_has_its_own_schema_or_file(app, client, admin, settings, backend):
    """A file of its own on SQLite, a schema of its own on PostgreSQL: the ledger, its keys and
    chain, and the views, holding the tenant's events and no other tenant's."""
    tenant = new_tenant(client, admin, f"ha-tinh-{STOPPED[-8:]}")
    neighbour = new_tenant(client, admin)
    tenant.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"})
    for unit in ("d1", "d2"):
        neighbour.post("/units", {"id": unit, "name": unit, "kind": "district", "established_on": "2018-01-01"})
    ledger = "stored_events" if backend == "sqlite" else "ledger_events"
    for tenant_id, events in ((tenant.id, 1), (neighbour.id, 2)):
        tables, stored = kept(settings, tenant_id)
        assert {ledger, "ledger_chain", "personal_keys", "view_positions", "member_spans", "ledger_voids"} <= tables
        assert stored == events


def test_open_stores_stay_bounded_and_closed_ones_reopen(app, client, admin, settings):
    platform = app.extensions["unionledger"]
    limit = settings.max_open_tenants
    tenants = [new_tenant(client, admin) for _ in range(limit + 3)]
    for n, tenant in enumerate(tenants):
        tenant.post("/units", {"id": f"d{n}", "name": f"D{n}", "kind": "district", "established_on": "2018-01-01"})
        assert len(platform.stores._open) <= limit
    for n, tenant in enumerate(tenants):
        assert tenant.get(f"/units/d{n}").get_json()["name"] == f"D{n}"
        tenant.get(f"/units/d{n + 1}", expect=404)


def test_no_token_is_stored_in_clear(app, client, admin, settings, backend):
    tenant = new_tenant(client, admin)
    registry = app.extensions["unionledger"].registry
    with registry.transaction() as cur:
        stored = [r[0] for r in cur.execute("SELECT token_hash FROM tokens").fetchall()]
    assert tenant.token not in stored
    assert len(stored) == 1 and len(stored[0]) == 64


def test_a_demo_build_stopped_half_way_is_built_again_not_served(settings, monkeypatch):
    from datetime import date
    from itertools import islice

    import pytest

    import demo.province
    from application.register import Register
    from service.startup import ensure_demo
    from tenants.bootstrap import bootstrap

    today = date(2015, 3, 31)  # 163 admissions by then, and no departure yet
    commands = demo.province.demo_commands

    def stopped(day, *args, **kwargs):
        yield from islice(commands(day, *args, **kwargs), 150)
        raise KeyboardInterrupt

    platform = bootstrap(settings)
    try:
        monkeypatch.setattr(demo.province, "demo_commands", stopped)
        with pytest.raises(KeyboardInterrupt):
            ensure_demo(platform, today, tenant_id=STOPPED)
        with platform.stores.use(STOPPED) as store:
            assert store.projector.ledger_position() > 0  # half a province, not to be served
        monkeypatch.setattr(demo.province, "demo_commands", commands)
        token = ensure_demo(platform, today, tenant_id=STOPPED)
        with platform.stores.use(STOPPED) as store:
            built = store.projector.ledger_position()
            _question, figures = Register(store).reads.draft("2015", None, today)
        assert figures["members_total"] == 163
        assert figures["members_admitted"] == 163
        assert platform.registry.authenticate(token).tenant_id == STOPPED
        assert ensure_demo(platform, today, tenant_id=STOPPED) == token
        with platform.stores.use(STOPPED) as store:
            assert store.projector.ledger_position() == built  # built once, not again
    finally:
        platform.close()


def test_a_demo_built_from_another_data_folder_is_taken_as_it_is(settings):
    from datetime import date

    from service.startup import ensure_demo
    from tenants.bootstrap import bootstrap

    today = date(2015, 2, 28)
    platform = bootstrap(settings)
    try:
        first = ensure_demo(platform, today, tenant_id=SHARED)
        with platform.stores.use(SHARED) as store:
            built = store.projector.ledger_position()
        for name in ("demo-token", "demo-built"):  # as if another start, sharing the database
            (settings.data_dir / name).unlink()
        second = ensure_demo(platform, today, tenant_id=SHARED)
        with platform.stores.use(SHARED) as store:
            assert store.projector.ledger_position() == built  # kept, not built again
        assert second != first
        assert platform.registry.authenticate(second).tenant_id == SHARED
        assert platform.registry.authenticate(first).tenant_id == SHARED
        assert ensure_demo(platform, today, tenant_id=SHARED) == second
    finally:
        platform.close()
