"""Members who move between provinces on two PostgreSQL servers (tests/servers.py): the sending
province (and the control store) on ``main``, the receiving one on ``second``. A handoff cut short at
each step between two writes is finished by the next call or the background step, the member active
in exactly one province; and the figures by hand: the move counted once out there and once in here,
the nation's total unchanged by it."""

from __future__ import annotations

import pytest

from application.transfers import STEPS
from tests.api.test_transfers import admit_hoa_and_nam, cut_short_at, finished_once, propose, province
from tests.integration.test_servers import ADMIN, app, spread  # noqa: F401 - the fixtures


@pytest.fixture
def two(app):  # noqa: F811
    client = app.test_client()
    qt = province(client, ADMIN, "quang-tri", "uq", server="main")
    bd = province(client, ADMIN, "binh-duong", "ub", server="second")
    admit_hoa_and_nam(qt)
    return qt, bd


@pytest.mark.parametrize("step", list(STEPS))
def test_a_handoff_between_two_servers_cut_short_at_any_step_is_finished(app, two, step):  # noqa: F811
    qt, bd = two
    transfer_id = cut_short_at(app, qt, bd, step)
    if list(STEPS).index(step) % 2:  # the background step for half the cases, the next call for the others
        from click.testing import CliRunner

        from service.cli import main

        settings = app.extensions["unionledger"].settings
        env = {
            "UNIONLEDGER_DATABASE_URL": settings.database_url,
            "UNIONLEDGER_DATABASE_URLS": ",".join(f"{name}={url}" for name, url in settings.servers),
            "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
            "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
            "UNIONLEDGER_ADMIN_TOKEN": settings.admin_token,
        }
        ran = CliRunner().invoke(main, ["finish-transfers"], env=env)
        assert ran.exit_code == 0 and "1 transfers finished" in ran.output, ran.output
    finished_once(app, qt, bd, step, transfer_id)


def test_the_move_counts_once_in_each_province_and_not_at_all_for_the_nation(app, two):  # noqa: F811
    """By hand: hoa moves on 1 July 2024. Quảng Trị (main) 2 -> 1 members, transferred out 1; Bình
    Dương (second) 0 -> 1, transferred in 1; the nation 2 on 30 June and on 1 July, in 1 and out 1."""
    qt, bd = two
    bd.post(f"/transfers/{propose(qt, bd)}/acceptance", {"union_id": "ub", "member_id": "bd-hoa"})
    codes = "members_total,members_admitted,members_transferred_in,members_transferred_out"
    q = qt.figures("2024-07", as_of="2024-07-01", indicators=codes)
    b = bd.figures("2024-07", as_of="2024-07-01", indicators=codes)
    assert [q[c] for c in codes.split(",")] == [1, 0, 0, 1]
    assert [b[c] for c in codes.split(",")] == [1, 0, 1, 0]
    client = app.test_client()
    token = client.post("/v1/national/tokens", json={"holder": "vgcl", "role": "national"}, headers=ADMIN).get_json()
    nation = {
        as_of: client.get(
            "/v1/national/indicators",
            query_string={"period": "2024-07", "as_of": as_of, "indicators": codes},
            headers={"Authorization": f"Bearer {token['token']}"},
        ).get_json()
        for as_of in ("2024-06-30", "2024-07-01")
    }
    mine = {qt.id, bd.id}
    totals = {
        as_of: sum(t["figures"]["members_total"] for t in answer["tenants"] if t["tenant_id"] in mine)
        for as_of, answer in nation.items()
    }
    assert totals == {"2024-06-30": 2, "2024-07-01": 2}
    july = [t["figures"] for t in nation["2024-07-01"]["tenants"] if t["tenant_id"] in mine]
    assert sum(f["members_transferred_in"] for f in july) == sum(f["members_transferred_out"] for f in july) == 1
