"""Provisioning takes no store it did not make, and a provisioning cut off half-way is completed by a repeat."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import replace

import pytest

from tenants.settings import Settings, schema_name
from tests.conftest import ADMIN_TOKEN, PG_URL, drop_schemas, need_postgres
from tests.integration.test_private_files import register_a_member


def fingerprint(settings, tenant_id: str) -> str:
    """A tenant's store as it stands: its file's bytes, or its schema's events."""
    if settings.backend == "sqlite":
        return hashlib.sha256((settings.data_dir / "tenants" / f"{tenant_id}.sqlite").read_bytes()).hexdigest()
    import psycopg

    with psycopg.connect(settings.conninfo()) as conn:
        rows = conn.execute(
            f'SELECT notification_id, topic, state FROM "{schema_name(tenant_id)}".ledger_events'
            " ORDER BY notification_id"
        ).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def schema_mark(settings, tenant_id: str) -> str | None:
    import psycopg

    with psycopg.connect(settings.conninfo()) as conn:
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (schema_name(tenant_id),),
        ).fetchone()
    return row[0] if row else None


@pytest.fixture
def second(settings, tmp_path):
    """A second deployment: on PostgreSQL another control schema in the same database, on SQLite
    another data folder (into which a copy of the first's tenant file may be restored)."""
    from service.app import create_app

    other = replace(settings, data_dir=tmp_path / "second", control_schema=f"{settings.control_schema}_b")
    app = create_app(other)
    yield app
    platform = app.extensions["unionledger"]
    made = [t["id"] for t in platform.registry.tenants()] if other.backend == "postgres" else []
    platform.close()
    if other.backend == "postgres":
        drop_schemas(other, made)  # its control schema, and a tenant it won a race for


def test_a_second_deployment_cannot_provision_a_tenant_of_the_first(app, client, admin, settings, second):
    first = register_a_member(client, admin, f"rel-b-{uuid.uuid4().hex[:8]}")
    found = second.extensions["unionledger"].settings  # where the second deployment finds the ledger
    if settings.backend == "sqlite":  # a copy of the first's file, restored into the second's data folder
        app.extensions["unionledger"].stores.forget(first.id)
        (found.data_dir / "tenants").mkdir(mode=0o700, exist_ok=True)
        name = f"tenants/{first.id}.sqlite"
        shutil.copy(settings.data_dir / name, found.data_dir / name)
        where = f'file "tenants/{first.id}.sqlite"'
    else:
        where = f'schema "{schema_name(first.id)}"'
    before = fingerprint(found, first.id)

    response = second.test_client().post(
        "/v1/tenants", json={"id": first.id, "name": "Another federation"}, headers=admin
    )
    assert response.status_code == 409
    problem = response.get_json()
    assert problem["rule"] == "store_exists" and "token" not in problem
    assert problem["errors"]["id"] == [problem["detail"]]
    assert problem["detail"].startswith(f"{where} exists already")
    listed = second.test_client().get("/v1/tenants", headers=admin).get_json()["tenants"]
    assert first.id not in [t["id"] for t in listed]
    assert fingerprint(found, first.id) == before
    assert first.get("/members/dv1").get_json()["full_name"] == "Member dv1"


def test_a_provisioning_cut_off_before_the_tenant_was_registered_is_completed_by_a_repeat(
    app, client, admin, settings, monkeypatch
):
    from tenants.registry import Registry

    tenant_id = f"cut-{uuid.uuid4().hex[:8]}"
    platform = app.extensions["unionledger"]

    def cut_off(*args, **kwargs):
        raise KeyboardInterrupt  # the process stopped: the store is made, the tenant not registered

    with monkeypatch.context() as patched:
        patched.setattr(Registry, "add_tenant", cut_off)
        with pytest.raises(KeyboardInterrupt):
            platform.provision(tenant_id, "Cut off")
    assert platform.registry.tenant(tenant_id) is None
    if settings.backend == "sqlite":
        assert (settings.data_dir / "tenants" / f"{tenant_id}.sqlite").exists()
    else:
        assert schema_mark(settings, tenant_id) == f"unionledger:{settings.control_schema}"

    tenant = register_a_member(client, admin, tenant_id)
    assert tenant.get("/members/dv1").get_json()["full_name"] == "Member dv1"
    again = client.post("/v1/tenants", json={"id": tenant_id, "name": "Twice"}, headers=admin)
    assert again.status_code == 409 and again.get_json()["rule"] == "unique_id"


def test_a_schema_made_by_hand_is_not_adopted(tmp_path, admin):
    import psycopg

    from service.app import create_app

    need_postgres()
    settings = Settings(
        database_url=PG_URL,
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        control_schema=f"ctl_{uuid.uuid4().hex[:8]}",
    )
    tenant_id = f"hand-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema_name(tenant_id)}"')
    app = create_app(settings)
    try:
        response = app.test_client().post("/v1/tenants", json={"id": tenant_id, "name": "By hand"}, headers=admin)
        assert response.status_code == 409 and response.get_json()["rule"] == "store_exists"
        assert response.get_json()["errors"] == {
            "id": [f'schema "{schema_name(tenant_id)}" exists already and was not made by this deployment']
        }
        assert app.extensions["unionledger"].registry.tenant(tenant_id) is None
    finally:
        app.extensions["unionledger"].close()
        drop_schemas(settings, [tenant_id])


def test_an_emptied_store_keeps_its_mark_and_serves_again(app, client, admin, settings, second):
    tenant = register_a_member(client, admin)
    platform = app.extensions["unionledger"]
    platform.empty_store(tenant.id)
    tenant.get("/members/dv1", expect=404)
    tenant.post("/units", {"id": "d2", "name": "D2", "kind": "district", "established_on": "2020-01-01"})
    if settings.backend == "postgres":
        assert schema_mark(settings, tenant.id) == f"unionledger:{settings.control_schema}"
        response = second.test_client().post("/v1/tenants", json={"id": tenant.id, "name": "X"}, headers=admin)
        assert response.status_code == 409 and response.get_json()["rule"] == "store_exists"


def test_two_deployments_provisioning_one_id_at_once_never_share_a_store(client, admin, settings, second):
    """On PostgreSQL one is made and the other refused; on SQLite two data folders are two registers."""
    import threading

    from tests.conftest import TenantClient

    tenant_id = f"race-{uuid.uuid4().hex[:8]}"
    clients = {"first": client, "second": second.test_client()}
    answers: dict = {}
    start = threading.Barrier(2)

    def provision(which: str) -> None:
        start.wait()
        answers[which] = clients[which].post("/v1/tenants", json={"id": tenant_id, "name": which}, headers=admin)

    threads = [threading.Thread(target=provision, args=(which,)) for which in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = {which: r for which, r in answers.items() if r.status_code == 201}
    refused = {which: r for which, r in answers.items() if r.status_code != 201}
    if settings.backend == "postgres":
        assert len(made) == 1 and [r.status_code for r in refused.values()] == [409]
        assert [r.get_json()["rule"] for r in refused.values()] == ["store_exists"]
    else:
        assert len(made) == 2
    for which, response in made.items():
        tenant = TenantClient(clients[which], tenant_id, response.get_json()["token"])
        tenant.post("/units", {"id": which, "name": which, "kind": "district", "established_on": "2018-01-01"})
    for which, response in made.items():  # each reads only what it recorded
        tenant = TenantClient(clients[which], tenant_id, response.get_json()["token"])
        tenant.get(f"/units/{which}")
        tenant.get(f"/units/{'second' if which == 'first' else 'first'}", expect=404)
