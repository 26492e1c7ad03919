"""The console's own workbooks (the unit tree, the reports list) written by the API's streamed file
writer, the breakdowns by sector and gender with the API's workbooks, each opened again and
compared with the page; and a user changing their own password. The province is
tests/console/province.py's with second_district: d1 (u1: m1-m3, u2: m4) and d2 (u4: m9), every
workplace a private enterprise; women m2 and m4."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.console.province import ADMIN, PASSWORD, backfilled_report, build_province, issue, second_district
from tests.console.test_pages import csrf, sign_in, text


@pytest.fixture
def province(tenant):
    return second_district(build_province(tenant))


@pytest.fixture
def signed_in(client, province):
    assert sign_in(client, province.id, ADMIN).status_code == 302
    return client


def workbook(client, page: str, link_id: str, prefix: str = "/") -> tuple[str, list[tuple]]:
    """The page's text and the rows of the workbook behind its link ``link_id``."""
    body = client.get(page).get_data(as_text=True)
    found = re.search(rf'id="{link_id}" href="([^"]+)"', body)
    assert found, (link_id, body[:300])
    href = found.group(1).replace("&amp;", "&")
    assert href.startswith(prefix)
    answer = client.get(href)
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    return body, list(load_workbook(BytesIO(answer.get_data())).active.values)


def test_the_unit_tree_downloads_as_the_page_shows_it_on_its_date(signed_in, province):
    province.post(
        "/units", {"id": "c1", "name": "Xã Một", "kind": "commune", "parent_id": "d1", "established_on": "2020-01-01"}
    )
    body, rows = workbook(signed_in, "/units?as_of=2024-12-31", "download-tree")
    assert rows[0] == ("id", "name", "kind", "parent_id", "as_of")
    assert rows[1][0] == "Mã" and rows[1][3] == "Mã đơn vị cấp trên"  # the Vietnamese header row
    listed = re.findall(r'href="/unit/([^"]+)"', body.split('id="unit-tree"')[1])
    assert [r[0] for r in rows[2:]] == listed == ["d1", "c1", "d2"]  # depth first, as the page nests them
    assert [(r[3], r[4].date().isoformat()) for r in rows[2:]] == [
        (None, "2024-12-31"),
        ("d1", "2024-12-31"),
        (None, "2024-12-31"),
    ]
    _, before = workbook(signed_in, "/units?as_of=2019-06-30", "download-tree")
    assert [r[0] for r in before[2:]] == ["d1", "d2"]  # c1 came in 2020


def test_the_reports_list_downloads_with_its_verdicts(signed_in, province):
    backfilled = backfilled_report(province)  # the whole tenant, 5 members reported while 4 were recorded
    d1 = province.post("/reports", {"unit_id": "d1", "period": "2024", "figures": {"members_total": 5}}).get_json()[
        "id"
    ]
    province.post(f"/reports/{backfilled}/verification", {})
    body, rows = workbook(signed_in, "/reports?period=2024", "download-reports")
    columns = rows[0]
    assert columns[:3] == ("id", "unit_id", "period") and "verdict" in columns and "members_total" in columns
    listed = re.findall(r'href="/reports/([^"]+)"', body.split('id="report-list"')[1])
    got = {r[0]: dict(zip(columns, r)) for r in rows[2:]}
    assert [r[0] for r in rows[2:]] == listed == [d1, backfilled]  # the latest first, as the page
    assert (got[backfilled]["unit_id"], got[backfilled]["verdict"], got[backfilled]["members_total"]) == (
        None,
        "consistent",
        5,
    )
    assert (got[d1]["unit_id"], got[d1]["verdict"], got[d1]["members_total"]) == ("d1", None, 5)
    _, only = workbook(signed_in, "/reports?period=2024&unit_id=d1", "download-reports")
    assert [r[0] for r in only[2:]] == [d1]


def page_figures(body: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', body, re.S)
    assert row, row_id
    return re.findall(r'class="num">([^<]*)<', row.group(1))


def test_the_breakdowns_by_sector_and_gender_show_and_download_the_same_figures(signed_in, province):
    body, rows = workbook(signed_in, "/breakdowns?as_of=2024-12-31", "download-by-sector", "/v1/tenants/")
    assert page_figures(body, "sector-non_state") == ["5", "3", "4", "3", "75,0%"]  # w1, w2, w4 of w1-w4
    assert page_figures(body, "sector-state") == ["0", "0", "0", "0", "0,0%"]
    header = rows[0]
    by_key = {r[header.index("key")]: r for r in rows[2:]}
    assert [by_key["non_state"][header.index(c)] for c in ("members_total", "unions_total", "coverage_pct")] == [
        5,
        3,
        75.0,
    ]
    assert by_key[None][header.index("members_total")] == 5  # the total row
    body, rows = workbook(signed_in, "/breakdowns?as_of=2024-12-31", "download-by-gender", "/v1/tenants/")
    assert page_figures(body, "gender-female") == ["2", "2", "0"] and page_figures(body, "gender-male") == [
        "3",
        "3",
        "0",
    ]
    header = rows[0]
    assert {r[header.index("key")]: r[header.index("members_total")] for r in rows[2:]} == {
        "female": 2,
        "male": 3,
        None: 5,
    }
    scoped = signed_in.application.test_client()
    assert sign_in(scoped, province.id, issue(province, "viewer", "xem-d2", scope_unit_id="d2")).status_code == 302
    assert page_figures(scoped.get("/breakdowns?as_of=2024-12-31").get_data(as_text=True), "gender-total")[0] == "1"


def test_a_user_changes_their_own_password_in_the_console(client, province):
    clerk = issue(province, "clerk", "thu-ky", scope_unit_id="d1")
    other = client.application.test_client()
    assert sign_in(other, province.id, clerk).status_code == 302  # a second session of the same user
    assert sign_in(client, province.id, clerk).status_code == 302
    assert 'href="/account/password"' in client.get("/").get_data(as_text=True)
    token = csrf(client, "/account/password")
    short = client.post("/account/password", data={"csrf_token": token, "password": "ngắn", "password_again": "ngắn"})
    assert short.status_code == 422
    assert re.search(
        r'id="password-error">Ít nhất 10 ký tự; một câu bạn dễ nhớ là được.<', short.get_data(as_text=True)
    )
    new = "một câu dài dễ nhớ"
    differ = client.post("/account/password", data={"csrf_token": token, "password": new, "password_again": new + "!"})
    assert differ.status_code == 422 and "Hai mật khẩu không giống nhau." in text(differ)
    assert client.post("/account/password", data={"password": new, "password_again": new}).status_code in (400, 403)
    done = client.post("/account/password", data={"csrf_token": token, "password": new, "password_again": new})
    assert done.status_code == 200 and 'id="password-changed"' in done.get_data(as_text=True)
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one ended
    fresh = client.application.test_client()
    assert sign_in(fresh, province.id, clerk, PASSWORD).status_code == 401
    assert sign_in(fresh, province.id, clerk, new).status_code == 302
    log = [e["event"] for e in province.get("/access-log").get_json()["entries"]]
    assert "password_changed" in log
