"""The hash chain finds tampering done straight in the database; an export audits offline to the API's figures."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import sqlite3
from datetime import UTC, date, datetime

import click
import pytest
from click.testing import CliRunner

from domain.commands import EstablishUnit
from integrity.chain import Chain
from integrity.offline import projections
from service.cli_ledger import audit, export, ledger
from tenants.settings import schema_name
from tests.conftest import ADMIN_TOKEN, recorded_without_views
from tests.integration.test_views import build_history

cli = click.Group("unionledger", commands={"ledger": ledger, "export": export, "audit": audit})


@pytest.fixture
def run(settings):
    env = {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
    }
    return lambda *args: CliRunner().invoke(cli, list(args), env=env)


def digest(tenant) -> str:
    head = tenant.get("/ledger/digest").get_json()
    return f"{head['hash']}@{head['position']}"


class Tampering:
    """Straight SQL on the tenant's event table, as someone with database access would do it."""

    def __init__(self, settings, tenant_id: str):
        self.settings, self.tenant_id = settings, tenant_id

    def _run(self, sql: str, params: tuple = ()) -> list:
        if self.settings.backend == "postgres":
            import psycopg

            table, key, mark = f'"{schema_name(self.tenant_id)}".ledger_events', "notification_id", "%s"
            with psycopg.connect(self.settings.conninfo(), autocommit=True) as conn:
                cur = conn.execute(sql.format(table=table, key=key).replace("?", mark), params)
                return cur.fetchall() if cur.description else []
        with sqlite3.connect(self.settings.data_dir / "tenants" / f"{self.tenant_id}.sqlite") as conn:
            rows = conn.execute(sql.format(table="stored_events", key="rowid"), params).fetchall()
        conn.close()
        return rows

    def row(self, position: int) -> tuple[str, bytes]:
        topic, state = self._run("SELECT topic, state FROM {table} WHERE {key} = ?", (position,))[0]
        return topic, bytes(state)

    def set_row(self, position: int, topic: str, state: bytes) -> None:
        self._run("UPDATE {table} SET topic = ?, state = ? WHERE {key} = ?", (topic, state, position))

    def change_actor(self, position: int) -> None:
        topic, state = self.row(position)
        self.set_row(position, topic, json.dumps({**json.loads(state), "actor": "mallory"}).encode())

    def delete(self, position: int) -> None:
        self._run("DELETE FROM {table} WHERE {key} = ?", (position,))

    def swap(self, a: int, b: int) -> None:
        row_a, row_b = self.row(a), self.row(b)
        self.set_row(a, *row_b)
        self.set_row(b, *row_a)


def test_a_clean_ledger_verifies_and_an_earlier_digest_still_holds(tenant, run):
    build_history(tenant)
    earlier = digest(tenant)
    assert earlier.endswith("@15")
    tenant.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    tenant.post("/members/m2/departure", {"left_on": "2024-02-01", "reason": "changed_job"})

    result = run("ledger", "verify", "--tenant", tenant.id, "--digest", earlier)
    assert result.exit_code == 0, result.output
    assert "17 events, chained up to position 17" in result.output
    later = digest(tenant)
    assert later.endswith("@17") and later != earlier
    result = run("ledger", "verify", "--tenant", tenant.id, "--digest", later)
    assert result.exit_code == 0 and "chained up to position 17;" in result.output

    forged = ("0" if earlier[0] != "0" else "1") + earlier[1:]
    result = run("ledger", "verify", "--tenant", tenant.id, "--digest", forged)
    assert result.exit_code == 1
    assert "at position 15: the ledger no longer extends the digest" in result.output
    result = run("ledger", "verify", "--tenant", tenant.id, "--digest", earlier.split("@")[0] + "@40")
    assert result.exit_code == 1 and "position 40: the ledger has no position 40" in result.output
    result = run("ledger", "verify", "--tenant", "nowhere")
    assert result.exit_code == 1 and "does not exist" in result.output


@pytest.mark.parametrize(
    "tamper, position, says",
    [
        (lambda t: t.change_actor(6), 6, "no longer matches its chain link"),
        (lambda t: t.delete(9), 9, "is missing (deleted)"),
        (lambda t: t.delete(15), 15, "is missing (deleted)"),
        (lambda t: t.swap(4, 11), 4, "no longer matches its chain link"),
    ],
)
def test_tampering_in_the_database_is_found_at_its_position(tenant, run, settings, tamper, position, says):
    build_history(tenant)
    earlier = digest(tenant)
    tamper(Tampering(settings, tenant.id))
    result = run("ledger", "verify", "--tenant", tenant.id)
    assert result.exit_code == 1, result.output
    assert f"fails verification at position {position}: " in result.output and says in result.output
    result = run("ledger", "verify", "--tenant", tenant.id, "--digest", earlier)
    assert result.exit_code == 1 and f"at position {position}: " in result.output


def test_rewriting_the_chain_too_is_caught_by_an_earlier_digest(app, tenant, run, settings):
    build_history(tenant)
    earlier = digest(tenant)
    Tampering(settings, tenant.id).change_actor(3)
    with app.extensions["unionledger"].stores.use(tenant.id) as store, store.transaction(write=True) as cur:
        cur.execute("DELETE FROM ledger_chain")  # the chain recomputed over the forged events
    assert digest(tenant) != earlier
    result = run("ledger", "verify", "--tenant", tenant.id)  # the Merkle tree still holds the event recorded
    assert result.exit_code == 1 and "at position 3: the Merkle tree's leaf" in result.output
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.chain.tree.rebuild_locked()  # and the tree made again over the forged events too
    assert run("ledger", "verify", "--tenant", tenant.id).exit_code == 0
    result = run("ledger", "verify", "--tenant", tenant.id, "--digest", earlier)
    assert result.exit_code == 1 and "at position 15: the ledger no longer extends the digest" in result.output


def test_the_chain_stops_at_a_deleted_event_it_has_not_chained_yet(app, tenant, run, settings, tmp_path):
    build_history(tenant)
    digest(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        # As a bulk import does: written and in the views, chained only on the next digest or command.
        for unit in ("d3", "d4"):
            recorded_without_views(
                store, EstablishUnit(id=unit, name=unit, kind="district", established_on=date(2019, 1, 1), actor="x")
            )
        store.projector.follow()
    Tampering(settings, tenant.id).delete(16)
    answer = tenant.get("/ledger/digest", expect=409).get_json()
    assert answer["rule"] == "ledger_chain_broken" and answer["detail"].startswith("position 16: ")
    result = run("ledger", "verify", "--tenant", tenant.id)
    assert result.exit_code == 1 and "at position 16: the event at position 16 is missing" in result.output
    result = run("export", "--tenant", tenant.id, "--out", str(tmp_path / "x.gz"))
    assert result.exit_code == 1 and "position 16" in result.output


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_position_that_never_held_an_event_is_chained_as_void(app, tenant, run, settings, tmp_path):
    """PostgreSQL uses up a sequence value on a rolled-back insert or a crash: no event was
    ever at that position, so the chain goes on over it, and an export audits offline."""
    build_history(tenant)
    earlier = digest(tenant)
    tampering = Tampering(settings, tenant.id)
    tampering._run("SELECT nextval(pg_get_serial_sequence('{table}', '{key}'))")
    tenant.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    assert [e["position"] for e in tenant.get("/audit").get_json()["entries"]][-2:] == [15, 17]
    later = digest(tenant)
    assert later.endswith("@17")

    result = run("ledger", "verify", "--tenant", tenant.id, "--digest", earlier)
    assert result.exit_code == 0, result.output
    out = tmp_path / "ledger.jsonl.gz"
    assert run("export", "--tenant", tenant.id, "--out", str(out)).exit_code == 0
    lines = read_lines(out)
    # By hand, as tenants/chain.py's docstring defines a link: a void position has version 0
    # and an empty originator id, topic and state; the event after it is chained onto it.
    void_link = hashlib.sha256(
        bytes.fromhex(earlier.split("@")[0]) + (16).to_bytes(8, "big") + (0).to_bytes(8, "big") + bytes(4) * 3
    ).hexdigest()
    assert lines[16] == {"position": 16, "void": True, "link": void_link}
    event = lines[17]
    fields = [event["originator_id"].encode(), event["topic"].encode(), base64.b64decode(event["state"])]
    assert (
        later.split("@")[0]
        == event["link"]
        == hashlib.sha256(
            bytes.fromhex(void_link)
            + (17).to_bytes(8, "big")
            + event["originator_version"].to_bytes(8, "big")
            + b"".join(len(f).to_bytes(4, "big") + f for f in fields)
        ).hexdigest()
    )
    result = run("audit", str(out), "--digest", later, "--period", "2025")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["figures"] == tenant.figures("2025")

    # A void link is for a position with no event: an event put there later shows.
    topic, state = tampering.row(17)
    tampering._run(
        "INSERT INTO {table} (notification_id, originator_id, originator_version, topic, state)"
        " VALUES (16, gen_random_uuid(), 1, ?, ?)",
        (topic, state),
    )
    result = run("ledger", "verify", "--tenant", tenant.id)
    assert result.exit_code == 1 and "position 16: the stored event no longer matches its chain link" in result.output


def test_a_rebuild_keeps_the_chain(app, tenant, run):
    build_history(tenant)
    before = digest(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.rebuild()
        assert Chain(store).head()["position"] == 15
    assert digest(tenant) == before


def read_lines(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def test_an_export_audits_offline_to_the_api_figures(tenant, run, tmp_path):
    build_history(tenant)
    known_at = datetime.now(UTC).isoformat()
    # Recorded after known_at: a late departure dated 2024, and a new district.
    tenant.post("/members/m2/departure", {"left_on": "2024-03-01", "reason": "changed_job"})
    tenant.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    anchor = digest(tenant)
    out = tmp_path / "ledger.jsonl.gz"
    result = run("export", "--tenant", tenant.id, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"Exported 17 events of {tenant.id}" in result.output and anchor in result.output

    lines = read_lines(out)
    assert lines[0]["format"] == "unionledger-export/1" and lines[0]["tenant"] == tenant.id
    assert lines[0]["events"] == 17 and [e["position"] for e in lines[1:]] == list(range(1, 18))
    assert lines[-1]["link"] == anchor.split("@")[0]
    assert set(lines[1]) == {"position", "originator_id", "originator_version", "topic", "state", "link"}

    assert tenant.figures("2024", known_at=known_at)["members_left"] == 0  # the departure was recorded later
    assert tenant.figures("2024")["members_left"] == 1
    questions = [
        {"period": "2025"},
        {"period": "2024", "known_at": known_at},
        {"period": "2024", "unit_id": "d2", "as_of": "2024-06-30"},
        {"period": "2020", "unit_id": "d1"},
        {"period": "2025-H2", "unit_id": "c1", "indicators": "members_total,coverage_pct@25,unions_total"},
        {"period": "2019-2023", "as_of": "2022-12-31"},
    ]
    for q in questions:
        api = tenant.get("/indicators", **q).get_json()
        args = ["audit", str(out), "--digest", anchor, "--period", q["period"]]
        for option, key in (
            ("--unit", "unit_id"),
            ("--as-of", "as_of"),
            ("--known-at", "known_at"),
            ("--indicators", "indicators"),
        ):
            if key in q:
                args += [option, q[key]]
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "Chain OK: 17 events" in result.stderr
        offline = json.loads(result.stdout)
        assert offline["figures"] == api["figures"], q
        assert (offline["period"], offline["unit_id"], offline["as_of"]) == (
            api["period"],
            api["unit_id"],
            api["as_of"],
        )
    assert any(v for v in offline["figures"].values())

    # An earlier digest holds too; a digest the file does not extend fails.
    assert run("audit", str(out), "--digest", anchor.split("@")[0] + "@17", "--period", "2024").exit_code == 0
    result = run("audit", str(out), "--digest", anchor.split("@")[0] + "@16", "--period", "2024")
    assert result.exit_code == 1 and "at position 16: the ledger no longer extends the digest" in result.output
    result = run("audit", str(out), "--digest", anchor, "--period", "2024", "--unit", "nowhere")
    assert result.exit_code == 1 and "does not exist" in result.output


@pytest.mark.parametrize("change", ["state", "drop", "swap"])
def test_a_tampered_export_file_fails_the_chain_check(tenant, run, tmp_path, change):
    build_history(tenant)
    anchor = digest(tenant)
    out = tmp_path / "ledger.jsonl.gz"
    assert run("export", "--tenant", tenant.id, "--out", str(out)).exit_code == 0
    lines = read_lines(out)
    if change == "state":
        event = lines[7]
        state = json.loads(base64.b64decode(event["state"]))
        event["state"] = base64.b64encode(json.dumps({**state, "actor": "mallory"}).encode()).decode()
    elif change == "drop":
        del lines[7]
    else:
        lines[7]["state"], lines[9]["state"] = lines[9]["state"], lines[7]["state"]
    forged = tmp_path / "forged.jsonl.gz"
    with gzip.open(forged, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(line) + "\n" for line in lines)
    result = run("audit", str(forged), "--digest", anchor, "--period", "2024")
    assert result.exit_code == 1
    assert "fails the chain check at position 7: " in result.output
    assert result.stdout == ""


def test_offline_replay_uses_the_store_projections(app, tenant):
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        assert [type(p) for p in store.projector.projections] == [type(p) for p in projections()]
