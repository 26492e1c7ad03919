"""Tenants spread over two PostgreSQL servers (the main test server and a second cluster of the
machine's, tests/servers.py): where each is placed, and the national level across both.

By hand, with province A (2 current members: a3 left) and province B (5 members) of
tests/api/test_national.py: A is placed on ``second`` by name; the next tenant, named nowhere,
goes to ``main`` (0 members against 2); filled with B's 5 members, ``main`` holds more, so the
third goes to ``second``. Nationally: members_total 2 + 5 = 7, unions_total 2, coverage 2/3.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import psycopg
import pytest

from tenants.settings import Settings, parse_servers, schema_name
from tests.api.test_national import END, PERIOD, Nation, national_token, province_a, province_b
from tests.conftest import ADMIN_TOKEN, PG_URL, TenantClient, drop_schemas, need_postgres
from tests.servers import need_second_server

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def schemas_on(url: str) -> set[str]:
    with psycopg.connect(Settings(database_url=url).conninfo()) as conn:
        return {n for (n,) in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}


@pytest.fixture
def spread(tmp_path: Path):
    """Settings naming two servers, main (the control store's) and second; everything dropped after,
    on both servers: a tenant moved away leaves its old copy (fenced) where it was."""
    need_postgres()
    second = need_second_server()
    settings = Settings(
        database_url=PG_URL,
        servers=(("main", PG_URL), ("second", second)),
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        control_schema=f"ctl_{uuid.uuid4().hex[:8]}",
        max_open_tenants=4,
    )
    yield settings
    from tenants.registry import Registry

    registry = Registry(settings)
    placed = [t["id"] for t in registry.tenants()]
    registry.close()
    drop_schemas(settings, placed)
    with psycopg.connect(settings.conninfo("second"), autocommit=True) as conn:
        for tenant_id in placed:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema_name(tenant_id)}" CASCADE')


@pytest.fixture
def app(spread: Settings):
    from service.app import create_app

    app = create_app(spread)
    yield app
    app.extensions["unionledger"].close()


def create(client, tenant_id: str, server: str | None = None, expect: int = 201):
    body = {"id": tenant_id, "name": tenant_id.upper()} | ({"server": server} if server else {})
    answer = client.post("/v1/tenants", json=body, headers=ADMIN)
    assert answer.status_code == expect, answer.get_json()
    return answer.get_json()


def test_tenants_are_placed_on_the_server_named_or_on_the_least_loaded_and_read_together(app, spread):
    client = app.test_client()
    run = uuid.uuid4().hex[:6]
    ids = [f"a-{run}", f"b-{run}", f"c-{run}"]
    made = create(client, ids[0], "second")
    assert made["server"] == "second" and made["token"].startswith("ul_")
    a = TenantClient(client, ids[0], made["token"])
    province_a(a)
    made = create(client, ids[1])  # main holds 0 members, second 2
    assert made["server"] == "main"
    b = TenantClient(client, ids[1], made["token"])
    province_b(b)
    assert create(client, ids[2])["server"] == "second"  # main holds 5 now, second 2

    listed = client.get("/v1/tenants", headers=ADMIN).get_json()["tenants"]
    assert {t["id"]: t["server"] for t in listed} == {ids[0]: "second", ids[1]: "main", ids[2]: "second"}
    main, second = schemas_on(spread.server_urls["main"]), schemas_on(spread.server_urls["second"])
    assert {schema_name(ids[0]), schema_name(ids[2])} <= second and schema_name(ids[1]) in main
    assert not {schema_name(ids[0]), schema_name(ids[2])} & main and schema_name(ids[1]) not in second
    assert spread.control_schema in main and spread.control_schema not in second

    a_members = a.get("/members").get_json()
    assert sorted(m["id"] for m in a_members["members"]) == ["a1", "a2", "a3"]  # read from second

    nation = Nation(client, national_token(client, ADMIN))
    figures = nation.get("/indicators", period=PERIOD, as_of=END).get_json()
    assert (figures["figures"]["members_total"], figures["figures"]["unions_total"]) == (7, 2)
    assert figures["figures"]["coverage_pct"] == 66.7
    per = {t["tenant_id"]: t["figures"]["members_total"] for t in figures["tenants"]}
    assert per == {ids[0]: 2, ids[1]: 5, ids[2]: 0}

    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()["servers"]) == (200, {"main": "ready", "second": "ready"})


def test_a_server_no_configuration_names_is_refused_naming_the_field(app):
    client = app.test_client()
    answer = client.post("/v1/tenants", json={"id": "x-nowhere", "name": "X", "server": "third"}, headers=ADMIN)
    assert answer.status_code == 422
    body = answer.get_json()
    assert "third" in body["errors"]["server"][0] and "main, second" in body["errors"]["server"][0]
    assert client.get("/v1/tenants", headers=ADMIN).get_json()["tenants"] == []


def test_the_command_line_places_a_tenant_on_the_server_named(spread, monkeypatch):
    from click.testing import CliRunner

    from service.cli import main

    for name, value in {
        "UNIONLEDGER_DATABASE_URL": "",
        "UNIONLEDGER_DATABASE_URLS": f"main={PG_URL},second={spread.server_urls['second']}",
        "UNIONLEDGER_CONTROL_SCHEMA": spread.control_schema,
        "UNIONLEDGER_DATA_DIR": str(spread.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    tenant_id = f"cli-{uuid.uuid4().hex[:6]}"
    done = CliRunner().invoke(main, ["tenants", "create", tenant_id, "--name", "Tỉnh", "--server", "second"])
    assert done.exit_code == 0, done.output
    assert f"Provisioned {tenant_id} on server second." in done.output and "ul_" in done.output
    listed = CliRunner().invoke(main, ["tenants", "list"])
    assert f"{tenant_id}\tsecond\tTỉnh" in listed.output
    assert schema_name(tenant_id) in schemas_on(spread.server_urls["second"])
    refused = CliRunner().invoke(main, ["tenants", "create", "other", "--name", "O", "--server", "third"])
    assert refused.exit_code != 0 and "no server 'third'" in refused.output


def test_servers_are_read_from_the_environment_or_a_file(tmp_path: Path):
    assert parse_servers({}) == ()
    one = "postgresql://u@h1:5432/d"
    two = "postgresql://u:p@h2:5433/d"
    assert parse_servers({"UNIONLEDGER_DATABASE_URLS": f"main={one}, second={two}"}) == (("main", one), ("second", two))
    listed = tmp_path / "servers"
    listed.write_text(f"# the province servers\nmain={one}\n\nsecond={two}  # the new one\n")
    assert parse_servers({"UNIONLEDGER_DATABASE_URLS_FILE": str(listed)}) == (("main", one), ("second", two))
    settings = Settings.from_env({"UNIONLEDGER_DATABASE_URLS": f"a={one} b={two}"})
    assert (settings.database_url, settings.default_server, settings.postgres("b")["POSTGRES_PORT"]) == (
        one,
        "a",
        "5433",
    )
    assert (
        Settings.from_env(
            {"UNIONLEDGER_DATABASE_URL": two, "UNIONLEDGER_DATABASE_URLS": f"a={one} b={two}"}
        ).default_server
        == "b"
    )
    single = Settings.from_env({"UNIONLEDGER_DATABASE_URL": one})
    assert (single.server_urls, single.default_server) == ({"main": one}, "main")
    for wrong, says in [
        ({"UNIONLEDGER_DATABASE_URLS": f"Main={one}"}, "lowercase"),
        ({"UNIONLEDGER_DATABASE_URLS": one}, "name=postgresql"),
        ({"UNIONLEDGER_DATABASE_URLS": f"a={one} a={two}"}, "named twice"),
        ({"UNIONLEDGER_DATABASE_URLS": f"a={one}", "UNIONLEDGER_DATABASE_URL": two}, "must be one of"),
    ]:
        with pytest.raises(ValueError, match=says):
            Settings.from_env(wrong)


def test_the_national_level_answers_for_the_tenants_it_reaches_and_names_the_others(app, spread):
    """A (2 members) on main, B (5) on second; an app that finds second away answers A's figures
    alone and names B and its server; with second back, the sum is 7 again."""
    from service.app import create_app
    from tests.servers import free_port_url

    client = app.test_client()
    run = uuid.uuid4().hex[:6]
    a = TenantClient(client, f"na-{run}", create(client, f"na-{run}", "main")["token"])
    b = TenantClient(client, f"nb-{run}", create(client, f"nb-{run}", "second")["token"])
    province_a(a)
    province_b(b)
    token = national_token(client, ADMIN)
    away = create_app(dataclasses.replace(spread, servers=(("main", PG_URL), ("second", free_port_url()))))
    try:
        nation = Nation(away.test_client(), token)
        answer = nation.get("/indicators", period=PERIOD, as_of=END).get_json()
        assert (answer["figures"]["members_total"], answer["figures"]["coverage_pct"]) == (2, 50.0)
        assert [t["tenant_id"] for t in answer["tenants"]] == [a.id]
        assert answer["unreachable"] == [{"tenant_id": b.id, "name": b.id.upper(), "server": "second"}]
        reports = nation.get("/reports").get_json()
        assert (reports["reports"], [u["tenant_id"] for u in reports["unreachable"]]) == ([], [b.id])
        ready = away.test_client().get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["detail"].startswith("server second unreachable")
    finally:
        away.extensions["unionledger"].close()
    answer = Nation(client, token).get("/indicators", period=PERIOD, as_of=END).get_json()
    assert (answer["figures"]["members_total"], answer["unreachable"]) == (7, [])


def test_a_server_away_delays_only_its_own_tenants(app, spread):
    """While a request waits for a tenant whose server is away (then 503), another tenant's
    request on the server that answers is served at once."""
    import threading
    import time

    from service.app import create_app
    from tests.servers import free_port_url

    client = app.test_client()
    run = uuid.uuid4().hex[:6]
    a = TenantClient(client, f"wa-{run}", create(client, f"wa-{run}", "main")["token"])
    b = TenantClient(client, f"wb-{run}", create(client, f"wb-{run}", "second")["token"])
    province_a(a)
    away = create_app(dataclasses.replace(spread, servers=(("main", PG_URL), ("second", free_port_url()))))
    try:
        there, elsewhere = (
            TenantClient(away.test_client(), a.id, a.token),
            TenantClient(away.test_client(), b.id, b.token),
        )
        answers: dict[str, tuple[int, float]] = {}

        def timed(name: str, tenant: TenantClient) -> None:
            started = time.monotonic()
            status = tenant.get("/units", expect=None).status_code
            answers[name] = (status, time.monotonic() - started)

        waiting = threading.Thread(target=timed, args=("b", elsewhere))
        waiting.start()
        time.sleep(0.3)  # b's store is being opened, and waits for its server
        timed("a", there)
        waiting.join()
        assert answers["b"][0] == 503 and answers["b"][1] >= spread.db_timeout - 0.5
        assert answers["a"][0] == 200 and answers["a"][1] < spread.db_timeout - 1, answers  # not after b
    finally:
        away.extensions["unionledger"].close()
