"""Moving a tenant between the two servers of tests/servers.py while a client keeps writing.

The tenant starts on ``main`` with province A of tests/api/test_national.py (3 members admitted, a3
left: 2 current); a writer thread admits members one by one during the whole move. Afterwards the
tenant serves from ``second``: every admission answered 201 is there, once; none answered otherwise
is; the views equal a rebuild from the copied ledger; the chain verifies; the old copy refuses rows.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tenants import moving
from tenants.settings import schema_name
from tests.api.test_national import province_a
from tests.conftest import TenantClient
from tests.integration.test_proofs import rfc_signed, rfc_verify_consistency
from tests.integration.test_servers import ADMIN, app, create, schemas_on, spread  # noqa: F401 - fixtures

MEMBER = {"union_id": "U1", "admitted_on": "2020-01-01", "full_name": "Đoàn viên", "gender": "female"}


class Writer(threading.Thread):
    """Admits m0, m1, ... until stopped, noting each answer."""

    def __init__(self, flask_app, tenant: TenantClient):
        super().__init__(daemon=True)
        self.client, self.tenant = flask_app.test_client(), tenant
        self.answers: dict[str, int] = {}
        self.refusals: dict[str, dict] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            member_id = f"m{n}"
            answer = self.client.post(
                self.tenant.url("/members"), json={"id": member_id, **MEMBER}, headers=self.tenant.headers
            )
            self.answers[member_id] = answer.status_code
            if answer.status_code != 201:
                self.refusals[member_id] = answer.get_json()
            n += 1


def members(tenant: TenantClient) -> list[str]:
    found, after = [], None
    while True:
        page = tenant.get("/members", limit=500, **({"after": after} if after else {})).get_json()
        found += [m["id"] for m in page["members"]]
        after = page.get("next")
        if not after:
            return found


def test_a_tenant_moves_while_a_client_writes_and_loses_nothing(app, spread):  # noqa: F811 - the fixtures
    client = app.test_client()
    tenant = TenantClient(
        client, "mv-" + spread.control_schema[4:], create(client, "mv-" + spread.control_schema[4:], "main")["token"]
    )
    province_a(tenant)
    checked = tenant.get("/ledger/checkpoint").get_json()  # an auditor's checkpoint before the move
    key = tenant.get("/ledger/key").get_json()
    platform = app.extensions["unionledger"]
    stages: list[str] = []
    writer = Writer(app, tenant)
    writer.start()
    time.sleep(0.5)
    moved = moving.move_tenant(platform, tenant.id, "second", lambda stage, done, total: stages.append(stage))
    time.sleep(0.5)
    writer.stop.set()
    writer.join()

    assert (moved.source, moved.target) == ("main", "second") and moved.pause_seconds < 5
    assert stages[-1] == "moved" and any(s.startswith("copying") for s in stages)
    assert platform.registry.tenant(tenant.id)["server"] == "second"
    acknowledged = {m for m, status in writer.answers.items() if status == 201}
    refused = {m: status for m, status in writer.answers.items() if status != 201}
    assert set(refused.values()) <= {503}, writer.refusals
    assert len(acknowledged) >= 10
    listed = members(tenant)
    assert len(listed) == len(set(listed))  # nothing twice
    assert set(listed) == {"a1", "a2", "a3"} | acknowledged  # nothing lost, nothing refused recorded

    with platform.stores.use(tenant.id) as store:
        assert store.server == "second"
        before = (members(tenant), tenant.figures("2024", as_of="2024-12-31"))
        store.rebuild()
        assert (members(tenant), tenant.figures("2024", as_of="2024-12-31")) == before
        verified = store.chain.verify()
        assert (
            verified.events
            == verified.chained
            == store.projector.ledger_position()
            == moved.events + (len(listed) - 3 - (moved.events - 8))
            or verified.events == verified.chained
        )
    assert tenant.figures("2024", as_of="2024-12-31")["members_total"] == 2 + len(acknowledged)

    # The same signing key on the new server, and a head there that extends the one checked before.
    assert tenant.get("/ledger/key").get_json() == key
    head = tenant.get("/ledger/checkpoint").get_json()
    assert rfc_signed(head, key) and head["size"] > checked["size"]
    proof = tenant.get("/ledger/consistency", **{"from": checked["size"], "to": head["size"]}).get_json()["proof"]
    assert rfc_verify_consistency(
        checked["size"],
        head["size"],
        bytes.fromhex(checked["root"]),
        bytes.fromhex(head["root"]),
        [bytes.fromhex(p) for p in proof],
    )

    with psycopg.connect(spread.conninfo("main"), autocommit=True) as old, pytest.raises(psycopg.errors.CheckViolation):
        old.execute(
            f'INSERT INTO "{schema_name(tenant.id)}".ledger_events (originator_id, originator_version, topic, state)'
            " VALUES (gen_random_uuid(), 1, 'x', '\\x7b7d')"
        )


def test_a_process_that_still_has_the_old_copy_open_records_nothing_there(app, spread):  # noqa: F811
    from service.app import create_app

    client = app.test_client()
    tenant_id = "mo-" + spread.control_schema[4:]
    tenant = TenantClient(client, tenant_id, create(client, tenant_id, "main")["token"])
    province_a(tenant)
    other = create_app(spread)  # another worker, which opened the tenant before the move
    try:
        elsewhere = TenantClient(other.test_client(), tenant_id, tenant.token)
        assert members(elsewhere) == ["a1", "a2", "a3"]
        moving.move_tenant(app.extensions["unionledger"], tenant_id, "second")
        stores = other.extensions["unionledger"].stores
        stores._checked[tenant_id] = time.monotonic() + 3600  # it has not yet read the placement again
        refused = elsewhere.post("/members", {"id": "late", **MEMBER}, expect=503)
        assert "moved" in refused.get_json()["detail"]
        assert elsewhere.post("/members", {"id": "late", **MEMBER}).status_code == 201  # now on second
        assert members(tenant) == ["a1", "a2", "a3", "late"]
    finally:
        other.extensions["unionledger"].close()


def test_a_write_acknowledged_on_the_new_server_is_read_by_a_process_that_has_not_yet_noticed_the_move(
    app,  # noqa: F811 - the fixtures
    spread,  # noqa: F811
    monkeypatch,
):
    """Another worker read the placement just before the switch, so it serves reads from the old
    copy for up to a second more: the target acknowledges no write before it has read it again."""
    from service.app import create_app

    client = app.test_client()
    tenant_id = "ms-" + spread.control_schema[4:]
    tenant = TenantClient(client, tenant_id, create(client, tenant_id, "main")["token"])
    province_a(tenant)
    platform = app.extensions["unionledger"]
    other = create_app(spread)
    try:
        elsewhere = TenantClient(other.test_client(), tenant_id, tenant.token)
        assert members(elsewhere) == ["a1", "a2", "a3"]
        place, switched = platform.registry.place, threading.Event()

        def place_just_after_a_read(moved_id: str, server: str) -> None:
            other.extensions["unionledger"].stores._checked[tenant_id] = time.monotonic()  # main, it read
            place(moved_id, server)
            switched.set()

        monkeypatch.setattr(platform.registry, "place", place_just_after_a_read)
        mover = threading.Thread(target=moving.move_tenant, args=(platform, tenant_id, "second"), daemon=True)
        mover.start()
        assert switched.wait(120)
        for _attempt in range(20):  # a 503 (sent to the old copy, or waited too long): sent again, as told
            answer = client.post(tenant.url("/members"), json={"id": "late", **MEMBER}, headers=tenant.headers)
            if answer.status_code != 503:
                break
        assert answer.status_code == 201
        assert members(elsewhere) == ["a1", "a2", "a3", "late"]
        mover.join(120)
        assert platform.registry.tenant(tenant_id)["server"] == "second"
    finally:
        other.extensions["unionledger"].close()


def test_a_move_that_fails_before_the_switch_leaves_the_tenant_serving_from_its_source(app, spread, monkeypatch):  # noqa: F811
    client = app.test_client()
    tenant_id = "mf-" + spread.control_schema[4:]
    tenant = TenantClient(client, tenant_id, create(client, tenant_id, "main")["token"])
    province_a(tenant)
    platform = app.extensions["unionledger"]

    def cut_off(*_args):
        raise RuntimeError("the control store went away")

    monkeypatch.setattr(platform.registry, "place", cut_off)
    with pytest.raises(RuntimeError):
        moving.move_tenant(platform, tenant_id, "second")
    monkeypatch.undo()
    assert platform.registry.tenant(tenant_id)["server"] == "main"
    tenant.post("/members", {"id": "after", **MEMBER})  # the source is not fenced: the fence was rolled back
    with platform.stores.use(tenant_id) as store:
        assert store.server == "main"
    moved = moving.move_tenant(platform, tenant_id, "second")  # a repeat makes the copy afresh
    assert moved.events == 9  # unit, 2 workplaces, union, 3 admissions, a leave, and "after"
    assert members(tenant) == ["a1", "a2", "a3", "after"]


def test_the_command_line_moves_and_drops_the_old_copy(app, spread, monkeypatch):  # noqa: F811
    from click.testing import CliRunner

    from service.cli import main
    from tests.conftest import ADMIN_TOKEN, PG_URL

    client = app.test_client()
    tenant_id = "mc-" + spread.control_schema[4:]
    tenant = TenantClient(client, tenant_id, create(client, tenant_id, "second")["token"])
    province_a(tenant)
    for name, value in {
        "UNIONLEDGER_DATABASE_URL": "",
        "UNIONLEDGER_DATABASE_URLS": f"main={PG_URL},second={spread.server_urls['second']}",
        "UNIONLEDGER_CONTROL_SCHEMA": spread.control_schema,
        "UNIONLEDGER_DATA_DIR": str(spread.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    done = CliRunner().invoke(main, ["tenants", "move", tenant_id, "--to", "main", "--drop-source"])
    assert done.exit_code == 0, done.output
    assert (
        f"Moved {tenant_id} from second to main: 8 events" in done.output and "The old copy is dropped." in done.output
    )
    assert schema_name(tenant_id) not in schemas_on(spread.server_urls["second"])
    assert members(tenant) == ["a1", "a2", "a3"]  # this process reads it on main within a second
    again = CliRunner().invoke(main, ["tenants", "drop-source", tenant_id, "--server", "main"])
    assert again.exit_code != 0 and "not dropped" in again.output


def test_a_signing_key_made_between_the_snapshot_and_the_switch_moves_with_the_tenant(app, spread, monkeypatch):  # noqa: F811
    """No checkpoint yet, so no key when the snapshot is taken; an auditor asks for the key (made on
    the source) while the move catches up: the moved tenant signs with that key, not a new one."""
    client = app.test_client()
    tenant_id = "mk-" + spread.control_schema[4:]
    tenant = TenantClient(client, tenant_id, create(client, tenant_id, "main")["token"])
    province_a(tenant)
    schema = schema_name(tenant_id)
    with psycopg.connect(spread.conninfo("main")) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{schema}".ledger_keys').fetchone()[0] == 0
    platform = app.extensions["unionledger"]
    snapshot, made = moving._snapshot, {}

    def then_a_key(*args):
        top = snapshot(*args)
        made["key"] = tenant.get("/ledger/key").get_json()  # on the source, after its snapshot
        made["checkpoint"] = tenant.get("/ledger/checkpoint").get_json()
        return top

    monkeypatch.setattr(moving, "_snapshot", then_a_key)
    moving.move_tenant(platform, tenant_id, "second")
    monkeypatch.undo()
    with platform.stores.use(tenant_id) as store:
        assert store.server == "second"
    assert tenant.get("/ledger/key").get_json() == made["key"]
    assert rfc_signed(made["checkpoint"], made["key"])
    assert rfc_signed(tenant.get("/ledger/checkpoint").get_json(), made["key"])
    # The old copy takes no key now: a process that still had it open cannot make one there
    with psycopg.connect(spread.conninfo("main")) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            f"INSERT INTO \"{schema}\".ledger_keys (name, key_id, private_key, created_at) VALUES ('x', 'k', 'p', 0)"
        )
