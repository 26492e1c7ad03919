"""Ledgers written by an earlier version (tests/fixtures/legacy, made by make_legacy_ledgers.py with
the code of commit 293a8b0) open with today's code: the stored events' topics resolve, the hash
chain verifies and extends the digest that version gave, the views replay to the same answers,
the members are found by name, and new commands are recorded after the old events."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
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
