"""Ledgers written by an earlier version (tests/fixtures/legacy, made by make_legacy_ledgers.py with
the code of commit 293a8b0) open with today's code: the stored events' topics resolve, the hash
chain verifies and extends the digest that version gave, the views replay to the same answers,
the members are found by name, and new commands are recorded after the old events."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from application.register import Register
from projections.base import from_day, from_micros
from service.app import create_app
from service.cli import main
from service.resources.audit import AuditPage
from tenants.settings import Settings
from tests.conftest import PG_URL, need_postgres

FIXTURES = Path(__file__).parent.parent / "fixtures" / "legacy"
ANSWERS = json.loads((FIXTURES / "answers.json").read_text())
TENANT, ADMIN, CONTROL = "legacy", "legacy-admin-token", "ctl_legacy"
LOCK = 0x6C656761  # one test run at a time may hold the legacy schemas of the shared server


@pytest.fixture
def legacy(backend, tmp_path):
    """Settings for the legacy ledger, copied (SQLite) or restored (PostgreSQL) for this test."""
    if backend == "sqlite":
        data = tmp_path / "data"
        shutil.copytree(FIXTURES / "sqlite-data", data)
        yield Settings(data_dir=data, admin_token=ADMIN), ANSWERS["sqlite"]
        return
    need_postgres()
    with psycopg.connect(Settings(database_url=PG_URL).conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
        try:
            drop = f'DROP SCHEMA IF EXISTS "{CONTROL}" CASCADE; DROP SCHEMA IF EXISTS "t_{TENANT}" CASCADE'
            conn.execute(drop)
            subprocess.run(
                ["psql", PG_URL, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(FIXTURES / "postgres.sql")],
                check=True,
                capture_output=True,
            )
            yield (
                Settings(database_url=PG_URL, data_dir=tmp_path / "data", admin_token=ADMIN, control_schema=CONTROL),
                ANSWERS["postgres"],
            )
            conn.execute(drop)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))


def test_a_ledger_written_by_an_earlier_version_opens_verifies_and_replays(legacy):
    settings, answers = legacy
    app = create_app(settings)
    try:
        client = app.test_client()
        h = {"Authorization": f"Bearer {answers['token']}"}
        t = f"/v1/tenants/{TENANT}"
        for question, figures in answers["indicators"]:
            # the codes that version had (codes added since are answered too)
            got = client.get(t + "/indicators", query_string=question, headers=h).get_json()["figures"]
            assert {code: got[code] for code in figures} == figures
        for member_id, member in answers["members"].items():
            assert client.get(f"{t}/members/{member_id}", headers=h).get_json() == member
        # members recorded before the name index existed are entered in it when the store opens
        found = client.get(f"{t}/members", query_string={"q": "doan vien 2"}, headers=h).get_json()["members"]
        assert [m["id"] for m in found] == ["m2"]
        erased = client.get(f"{t}/members", query_string={"q": "doan vien 4"}, headers=h).get_json()["members"]
        assert erased == []
        assert (
            len(client.get(t + "/audit", query_string={"limit": 1000}, headers=h).get_json()["entries"])
            == answers["audit_count"]
        )
        digest = answers["digest"]
        assert client.get(t + "/ledger/digest", headers=h).get_json()["hash"] == digest["hash"]
        report = client.post(f"{t}/reports/{answers['report_id']}/verification", headers=h)
        assert report.status_code == 201 and report.get_json()["verdict"] == "consistent"
        admitted = client.post(
            t + "/members",
            headers=h,
            json={
                "id": "m9",
                "union_id": "u1",
                "admitted_on": "2024-01-01",
                "full_name": "Trần Văn Mới",
                "gender": "male",
            },
        )
        assert admitted.status_code == 201, admitted.get_json()
    finally:
        app.extensions["unionledger"].close()
    env = {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": CONTROL,
    }
    extends = ["ledger", "verify", "--tenant", TENANT, "--digest", f"{digest['hash']}@{digest['position']}"]
    for command in (["rebuild", "--tenant", TENANT], extends):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 0, (command, result.output)


def _trail_before(settings: Settings, backend: str) -> list[dict]:
    """The trail as the earlier version kept it, every event's data copied beside it, shaped as its
    audit endpoint shaped it (read from the fixture before today's code opens the store)."""
    query = (
        "SELECT position, recorded_at, actor, event, entity_type, entity_id, business_date, version, data"
        " FROM {table} ORDER BY position"
    )
    if backend == "sqlite":
        import sqlite3

        with closing(sqlite3.connect(settings.data_dir / "tenants" / f"{TENANT}.sqlite")) as conn:
            rows = conn.execute(query.format(table="audit_entries")).fetchall()
    else:
        with psycopg.connect(settings.conninfo()) as conn:
            rows = conn.execute(query.format(table=f"t_{TENANT}.audit_entries")).fetchall()
    entries = [
        {
            "position": p,
            "recorded_at": from_micros(r),
            "actor": a,
            "event": e,
            "entity_type": t,
            "entity_id": i,
            "business_date": from_day(b),
            "version": v,
            "data": json.loads(d),
        }
        for p, r, a, e, t, i, b, v, d in rows
    ]
    return entries


def test_the_trail_read_from_the_ledger_answers_what_its_copy_answered(legacy, backend):
    """The audit trail no longer keeps a copy of each event: its answers, whole and filtered, are
    the same bytes as those of the version that did, before and after a rebuild."""
    settings, answers = legacy
    before = _trail_before(settings, backend)
    assert len(before) == answers["audit_count"]

    def check(app) -> None:
        client, h = app.test_client(), {"Authorization": f"Bearer {answers['token']}"}
        t = f"/v1/tenants/{TENANT}/audit"

        def same(query: dict, entries: list[dict], next_: int | None = None) -> None:
            got = client.get(t, query_string=query, headers=h)
            # the bytes the earlier version answered: its copy, personal data opened and shaped as the API does
            with app.app_context(), app.extensions["unionledger"].stores.use(TENANT) as store:
                opened = Register(store).reads._opened(copy.deepcopy(entries))
                expected = app.json.response(AuditPage().dump({"entries": opened, "next": next_})).get_data()
            assert got.status_code == 200 and got.get_data() == expected, query

        same({"limit": 1000}, before)
        same({"limit": 5}, before[:5], before[4]["position"])
        for kind, entity in {(e["entity_type"], e["entity_id"]) for e in before}:
            mine = [e for e in before if (e["entity_type"], e["entity_id"]) == (kind, entity)]
            same({"entity_type": kind, "entity_id": entity}, mine)
        actor = before[-1]["actor"]
        same({"actor": actor, "after": before[2]["position"]}, [e for e in before[3:] if e["actor"] == actor])

    for rebuilt in (False, True):
        app = create_app(settings)
        try:
            if rebuilt:
                with app.extensions["unionledger"].stores.use(TENANT) as store:
                    store.rebuild()
            check(app)
        finally:
            app.extensions["unionledger"].close()


def _trail_columns(settings: Settings, backend: str, statement: str | None = None) -> tuple[list[tuple], set[str]]:
    """The trail's columns of every event in ledger order and the ledger table's indexes, after
    ``statement`` (run on the tenant's database first, if given)."""
    columns = "SELECT recorded_at, actor, event, entity_type, entity_id, business_date FROM {} ORDER BY 1, 3, 5"
    table = "stored_events" if backend == "sqlite" else "ledger_events"
    if statement:
        statement = statement.replace("ledger_events", table)
    if backend == "sqlite":
        import sqlite3

        with closing(sqlite3.connect(settings.data_dir / "tenants" / f"{TENANT}.sqlite")) as conn:
            if statement:
                conn.executescript(statement.format(schema=""))
                conn.commit()
            rows = conn.execute(columns.format(table)).fetchall()
            names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    else:
        with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
            if statement:
                conn.execute(statement.format(schema=f"t_{TENANT}."))
            rows = conn.execute(columns.format(f"t_{TENANT}.ledger_events")).fetchall()
            names = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (f"t_{TENANT}",)).fetchall()
    return [tuple(r) for r in rows], {n for (n,) in names if n.startswith(f"{table}_")}


def _audit_served(settings: Settings, answers: dict) -> None:
    """The store opened by a process of today's code, which serves its whole trail."""
    app = create_app(settings)
    try:
        client, h = app.test_client(), {"Authorization": f"Bearer {answers['token']}"}
        got = client.get(f"/v1/tenants/{TENANT}/audit", query_string={"limit": 1000}, headers=h)
        assert len(got.get_json()["entries"]) == answers["audit_count"]
    finally:
        app.extensions["unionledger"].close()


def test_a_ledger_left_half_listed_is_finished_on_opening(legacy, backend):
    """A process stopped while it filled the trail's columns (some events without them, the indexes
    not built yet, as the filling builds them last) leaves a store that the next opening finishes:
    the same columns, every index there."""
    settings, answers = legacy
    _audit_served(settings, answers)
    listed, indexes = _trail_columns(settings, backend)
    assert len(listed) == answers["audit_count"] and all(row[2] for row in listed)
    assert {i.rsplit("_", 1)[-1] for i in indexes} >= {"entity", "actor", "recorded", "unlisted"}
    half = (
        "DROP INDEX {schema}ledger_events_entity; DROP INDEX {schema}ledger_events_actor;"
        " DROP INDEX {schema}ledger_events_recorded; DROP INDEX {schema}ledger_events_unlisted;"
        " UPDATE {schema}ledger_events SET recorded_at = NULL, actor = NULL, event = NULL, entity_type = NULL,"
        " entity_id = NULL, business_date = NULL WHERE originator_version % 2 = 1"
    )
    emptied, _ = _trail_columns(settings, backend, half)
    assert sum(1 for row in emptied if row[2] is None) > 0
    for statement in (None, "DROP INDEX {schema}ledger_events_unlisted"):  # half filled; filled, indexes missing
        if statement:
            _trail_columns(settings, backend, statement)
        _audit_served(settings, answers)
        assert _trail_columns(settings, backend) == (listed, indexes)
