"""Tenants live apart (a schema or a file each) and open stores stay bounded."""

from __future__ import annotations

from tests.conftest import new_tenant


def test_each_tenant_has_its_own_schema_or_file(app, client, admin, settings, backend):
    tenant = new_tenant(client, admin, "ha-tinh")
    tenant.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"})
    if backend == "sqlite":
        assert (settings.data_dir / "tenants" / "ha-tinh.sqlite").exists()
        return
    import psycopg

    with psycopg.connect(settings.conninfo()) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 't_ha_tinh'")}
    assert {"ledger_events", "view_positions", "member_spans", "audit_entries", "personal_keys"} <= tables


def test_open_stores_stay_bounded_and_closed_ones_reopen(app, client, admin, settings):
    platform = app.extensions["unionledger"]
    limit = settings.max_open_tenants
    tenants = [new_tenant(client, admin) for _ in range(limit + 3)]
    for n, tenant in enumerate(tenants):
        tenant.post("/units", {"id": f"d{n}", "name": f"D{n}", "kind": "district", "established_on": "2018-01-01"})
        assert len(platform.stores._open) <= limit  # noqa: SLF001
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
