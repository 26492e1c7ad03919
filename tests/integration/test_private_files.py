"""The embedded store's data folder is the service's user's alone: folders 0700, files 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tenants.settings import Settings
from tests import scenario
from tests.conftest import new_tenant


def modes(folder: Path) -> dict[str, int]:
    """Every file and folder under the folder (itself included), by path, with its permission bits."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.stat().st_mode)
    return found


def shared(folder: Path) -> dict[str, str]:
    """What the group or others may read, write or enter."""
    return {name: oct(mode) for name, mode in modes(folder).items() if mode & 0o077}


def register_a_member(client, admin: dict, tenant_id: str | None = None):
    tenant = new_tenant(client, admin, tenant_id)
    scenario.unit(tenant, "d1")
    scenario.workplace(tenant, "w1", "d1", 40)
    scenario.union(tenant, "cd1", "w1", "d1", "2019-03-01")
    scenario.admit(tenant, "dv1", "cd1", "2019-04-01")
    return tenant


@pytest.fixture
def loose_umask():
    """A umask that takes nothing away: what is private is so because it was made so."""
    before = os.umask(0)
    yield
    os.umask(before)


def test_a_fresh_data_folder_is_private_from_the_first_byte(tmp_path, loose_umask, monkeypatch):
    from service.app import create_app

    def narrowed_after(path, mode, *args, **kwargs):
        raise AssertionError(f"{path} was created readable and narrowed afterwards")

    monkeypatch.setattr(os, "chmod", narrowed_after)  # nothing may be made open, then closed
    data = tmp_path / "data"
    app = create_app(Settings(data_dir=data))
    try:
        client = app.test_client()
        admin = {"Authorization": f"Bearer {(data / 'admin-token').read_text().strip()}"}
        tenant = register_a_member(client, admin)
        assert tenant.get("/members/dv1").get_json()["full_name"] == "Member dv1"
        found = modes(data)
        tenant_file = f"tenants/{tenant.id}.sqlite"
        assert {tenant_file, tenant_file + "-wal", tenant_file + "-shm", "control.sqlite", "admin-token"} <= set(found)
        assert shared(data) == {}
        assert found["."] == found["tenants"] == 0o700
        assert found["admin-token"] == found[tenant_file] == found[tenant_file + "-wal"] == 0o600
    finally:
        app.extensions["unionledger"].close()


def test_a_data_folder_an_older_version_left_readable_is_made_private_at_start(tmp_path):
    from service.app import create_app

    data = tmp_path / "data"
    app = create_app(Settings(data_dir=data, admin_token="admin"))
    admin = {"Authorization": "Bearer admin"}
    tenant = register_a_member(app.test_client(), admin)
    app.extensions["unionledger"].close()
    (data / "notes.txt").write_text("left here by hand\n")
    for path in [data, *data.rglob("*")]:  # as the earlier versions left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert shared(data)

    app = create_app(Settings(data_dir=data, admin_token="admin"))
    try:
        assert shared(data) == {}
        assert modes(data)["notes.txt"] == 0o600 and modes(data)["tenants"] == 0o700
        tenant.client = app.test_client()
        assert tenant.get("/members/dv1").get_json()["full_name"] == "Member dv1"
        assert shared(data) == {}  # the -wal and -shm made since follow the tenant's file
    finally:
        app.extensions["unionledger"].close()


def test_the_admin_token_is_shown_on_the_start_that_makes_it_and_never_again(tmp_path, monkeypatch, capsys):
    from service.startup import announce

    data = tmp_path / "data"
    monkeypatch.setenv("UNIONLEDGER_DATA_DIR", str(data))
    for name in ("UNIONLEDGER_DATABASE_URL", "UNIONLEDGER_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    announce(demo=False, bind="127.0.0.1:8000")
    first = capsys.readouterr().out
    token = (data / "admin-token").read_text().strip()
    assert token.startswith("ul_") and token in first
    assert stat.S_IMODE((data / "admin-token").stat().st_mode) == 0o600

    announce(demo=False, bind="127.0.0.1:8000")
    second = capsys.readouterr().out
    assert token not in second
    assert f"kept in {data / 'admin-token'}" in second
    assert (data / "admin-token").read_text().strip() == token


def test_make_run_prints_a_ready_curl_line_on_a_fresh_folder_and_on_the_next_start(tmp_path, monkeypatch, capsys):
    """``make run``'s path: ``announce`` with the demo, on a small demo (built as of early 2015)."""
    from datetime import date

    import service.startup
    from service.app import create_app

    data = tmp_path / "data"
    monkeypatch.setenv("UNIONLEDGER_DATA_DIR", str(data))
    for name in ("UNIONLEDGER_DATABASE_URL", "UNIONLEDGER_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    asked: list[date] = []
    monkeypatch.setattr(service.startup, "vietnam_today", lambda: asked.append(date(2015, 2, 28)) or asked[-1])

    lines = []
    for _start in range(2):
        service.startup.announce(demo=True, bind="127.0.0.1:8000")
        lines.append(capsys.readouterr().out)
    demo_token = (data / "demo-token").read_text().strip()
    for out in lines:
        assert (
            f"curl -s -H 'Authorization: Bearer {demo_token}' "
            "'http://127.0.0.1:8000/v1/tenants/quang-tri/indicators?period=2023-2028'"
        ) in out
    assert "Building the demo province" in lines[0] and "Building" not in lines[1]
    # the first start built the demo as of that day, and found it too early for the second,
    # synthetic province (its history starts in 2015); the next start asked nothing
    assert asked == [date(2015, 2, 28)] * 2
    assert "National token" not in lines[0] + lines[1]
    assert shared(data) == {}

    app = create_app(Settings.from_env())
    try:
        response = app.test_client().get(
            "/v1/tenants/quang-tri/indicators?period=2015&as_of=2015-02-28",
            headers={"Authorization": f"Bearer {demo_token}"},
        )
        assert response.status_code == 200 and response.get_json()["figures"]["members_total"] > 0
    finally:
        app.extensions["unionledger"].close()
