"""The service through a real PgBouncer in transaction pooling mode (tests/pgbouncer.py), with
UNIONLEDGER_POOLER=transaction: a province's staff at work, a bulk import, a rebuild of the views,
users and their sessions, and the national level, with every figure as tests/api/test_national.py
works it out by hand (A: 2 members of 3 admitted, B: 5 and the 20 the test adds; the nation 27, coverage 2/3 = 66.7).

Its server connections are fewer than the service's connections to it, so one client's
consecutive transactions run on different server connections: whatever a connection kept from
one transaction to the next (a search_path, a prepared statement, an advisory lock held by the
session) would show here as an error or a wrong answer.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from tenants.settings import Settings, schema_name
from tests.api.test_imports import import_all_csv, with_units
from tests.api.test_national import END, PERIOD, Nation, national_token, province_a, province_b
from tests.conftest import ADMIN_TOKEN, PG_URL, TenantClient, drop_schemas, need_postgres
from tests.pgbouncer import SERVER_CONNECTIONS, pgbouncer, show
from tests.scenario import admit

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def bouncer():
    need_postgres()
    with pgbouncer(PG_URL) as (url, port):
        yield url, port


@pytest.fixture
def pooled(bouncer, tmp_path: Path):
    url, port = bouncer
    settings = Settings(
        database_url=url,
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        control_schema=f"ctl_{uuid.uuid4().hex[:8]}",
        max_open_tenants=4,
        pooler="transaction",
    )
    from service.app import create_app

    app = create_app(settings)
    yield app, port
    platform = app.extensions["unionledger"]
    ids = [t["id"] for t in platform.registry.tenants()]
    platform.close()
    drop_schemas(Settings(database_url=PG_URL, control_schema=settings.control_schema), ids)


def create(client, tenant_id: str) -> TenantClient:
    answer = client.post("/v1/tenants", json={"id": tenant_id, "name": tenant_id}, headers=ADMIN)
    assert answer.status_code == 201, answer.get_json()
    return TenantClient(client, tenant_id, answer.get_json()["token"])


def test_a_province_at_work_through_pgbouncer_in_transaction_mode(pooled):
    app, port = pooled
    client = app.test_client()
    run = uuid.uuid4().hex[:6]
    a, b = create(client, f"pa-{run}"), create(client, f"pb-{run}")
    province_a(a)
    province_b(b)
    assert a.post("/members", {"id": "a1", "union_id": "U1", "admitted_on": "2019-02-01", "full_name": "X",
                               "gender": "male"}, expect=409).get_json()["status"] == 409  # fmt: skip

    # commands from several threads at once: grouped, each under the tenant's lock
    errors: list = []

    def admit_some(k: int) -> None:
        for i in range(5):
            answer = admit(b, f"c{k}-{i}", "V1", "2024-03-01")
            if answer.status_code != 201:
                errors.append(answer.get_json())

    threads = [threading.Thread(target=admit_some, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert b.figures(PERIOD, as_of=END)["members_total"] == 25  # 5 + 4 x 5

    nation = Nation(client, national_token(client, ADMIN))
    figures = nation.get("/indicators", period=PERIOD, as_of=END).get_json()["figures"]
    assert (figures["members_total"], figures["unions_total"], figures["coverage_pct"]) == (27, 2, 66.7)  # 2 + 25

    # a bulk import and a rebuild, both under the tenant lock held across transactions
    c = with_units(create(client, f"pc-{run}"))
    answers = import_all_csv(c)
    assert all(answer["created"] for answer in answers)
    before = c.get("/members").get_json()
    platform = app.extensions["unionledger"]
    with platform.stores.use(c.id) as store:
        applied = store.rebuild()
        assert applied == store.projector.ledger_position()
    assert c.get("/members").get_json() == before
    with platform.stores.use(c.id) as store:
        assert c.get("/ledger/digest").get_json()["position"] == store.projector.ledger_position() == applied
        verified = store.chain.verify()  # raises where a link does not follow
        assert verified.events == verified.chained == applied

    # a user logs in and reads with the session's token
    a.post("/users", {"username": "lan", "full_name": "Lan", "role": "auditor", "password": "một mật khẩu đủ dài 1"})
    login = client.post("/v1/sessions", json={"tenant": a.id, "username": "lan", "password": "một mật khẩu đủ dài 1"})
    assert login.status_code == 201
    session = {"Authorization": f"Bearer {login.get_json()['token']}"}
    assert client.get(a.url("/units/D"), headers=session).status_code == 200

    assert client.get("/readyz").status_code == 200
    scraped = client.get("/metrics", headers=ADMIN).get_data(as_text=True)
    assert f'unionledger_views_behind_events{{tenant="{c.id}"}} 0.0' in scraped

    # it all went through the pooler, on no more server connections than it allows
    pools = [p for p in show(port, "POOLS") if p["database"] == "test"]
    assert pools and all(p["pool_mode"] == "transaction" for p in pools)
    assert sum(p["sv_active"] + p["sv_idle"] + p["sv_used"] + p["sv_tested"] + p["sv_login"] for p in pools) <= (
        SERVER_CONNECTIONS
    )
    stats = [s for s in show(port, "STATS") if s["database"] == "test"]
    assert sum(s["total_xact_count"] for s in stats) > 200
    with psycopg.connect(Settings(database_url=PG_URL).conninfo()) as direct:
        schemas = {n for (n,) in direct.execute("SELECT nspname FROM pg_namespace").fetchall()}
    assert {schema_name(a.id), schema_name(b.id), schema_name(c.id)} <= schemas


def test_the_tenant_lock_through_the_pooler_ends_with_its_holder(pooled):
    """Held by a transaction, not by a server connection's session: once released (or its holder
    fails) the next writer takes it at once, whichever server connection it gets."""
    app, _port = pooled
    client = app.test_client()
    t = create(client, f"lk-{uuid.uuid4().hex[:6]}")
    platform = app.extensions["unionledger"]
    with platform.stores.use(t.id) as store:
        with pytest.raises(RuntimeError), store.lock(wait=1):
            raise RuntimeError("the holder fails")
        for _ in range(2 * SERVER_CONNECTIONS):  # each on whichever server connection comes
            with store.lock(wait=1):
                pass
        with store.lock(wait=1):
            other = threading.Thread(target=lambda: errors.append(_try(store)))
            errors: list = []
            other.start()
            other.join()
        assert errors == ["busy"]
    t.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2020-01-01"})


def _try(store) -> str:
    from tenants.stores import TenantBusy

    try:
        with store.store_locked(__import__("time").monotonic() + 0.3):
            return "taken"
    except TenantBusy:
        return "busy"
