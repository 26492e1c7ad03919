"""The entity pages' switch "as the register stood at": a date (as_of) and an instant (known_at)
show the entity and its figures as they stood, read as the API reads them. The province is
tests/console/province.py's: u1 founded 2019-02-01 holds m1-m3 from 2024-03-01; d1 holds u1 and
u2 (m4 from 2024-05-01)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from tests.console.province import ADMIN, build_province, issue, second_district
from tests.console.test_pages import sign_in


@pytest.fixture
def province(tenant):
    return build_province(tenant)


def then(client, path: str) -> tuple[int, str, dict[str, str], dict[str, str]]:
    """The page's status, its text, the state shown "then" (label: value) and its figures (code: text)."""
    page = client.get(path)
    body = page.get_data(as_text=True)
    block = re.search(r'<dl class="state" id="state-then">(.*?)</dl>', body, re.S)
    state = {}
    if block:
        for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block.group(1), re.S):
            state[dt.strip()] = re.sub(r"<[^>]+>|\s+", " ", dd).strip()
    figures = dict(re.findall(r'id="then-([a-z_]+)">([^<]*)<', body))
    return page.status_code, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)), state, figures


def test_a_union_and_its_unit_as_they_stood_on_a_date(client, province):
    assert sign_in(client, province.id, ADMIN).status_code == 302
    status, _text, state, figures = then(client, "/union/u1?as_of=2024-02-01")
    assert status == 200 and state["Trạng thái"] == "đang hoạt động"
    assert figures == {"members_total": "0", "members_female": "0"}  # m1-m3 join on 2024-03-01
    _, _, _, figures = then(client, "/union/u1?as_of=2024-03-01")
    assert figures == {"members_total": "3", "members_female": "1"}  # m2 "Trần Thị Bình" is the woman
    _, _, _, unit = then(client, "/unit/d1?as_of=2024-04-30")
    assert (unit["members_total"], unit["unions_total"], unit["coverage_pct"]) == ("3", "2", "66,7%")  # m4 not yet
    _, _, _, unit = then(client, "/unit/d1?as_of=2024-05-01")
    assert unit["members_total"] == "4"
    assert province.figures("2024", unit_id="d1", as_of="2024-04-30")["members_total"] == 3  # as the API says
    status, words, state, _ = then(client, "/union/u1?as_of=2019-01-31")
    assert status == 200 and not state and "Khi đó nó chưa có trong sổ đăng ký." in words  # not founded yet


def test_a_member_as_known_at_an_instant_before_a_late_transfer(client, province):
    assert sign_in(client, province.id, ADMIN).status_code == 302
    time.sleep(0.01)
    before = datetime.now(UTC)
    time.sleep(0.01)
    province.post("/members/m1/transfer", {"to_union_id": "u2", "effective_on": "2024-06-01"})
    _, _, now, _ = then(client, "/member/m1?as_of=2024-12-31")
    assert now["Công đoàn cơ sở"] == "u2" and now["Họ và tên"] == "Nguyễn Văn An"
    known = before.isoformat().replace("+00:00", "Z")
    _, words, was, _ = then(client, f"/member/m1?as_of=2024-12-31&known_at={known}")
    assert was["Công đoàn cơ sở"] == "u1"  # the transfer was not yet recorded at that instant
    _, _, early, _ = then(client, "/member/m1?as_of=2024-05-31")
    assert early["Công đoàn cơ sở"] == "u1"  # recorded, but effective later
    page = client.get(f"/member/m1?as_of=2024-12-31&known_at={known}").get_data(as_text=True)
    assert page.count('class="later"') == 1  # the transfer's row, not counted then
    _, _, _, u2 = then(client, f"/union/u2?as_of=2024-12-31&known_at={known}")
    assert u2["members_total"] == "1"  # m4 alone, as the API's known_at answers
    assert province.figures("2024", unit_id="d1", as_of="2024-12-31", known_at=before.isoformat())["members_total"] == 4
    _, _, _, u2 = then(client, "/union/u2?as_of=2024-12-31")
    assert u2["members_total"] == "2"


def test_a_bad_or_future_date_is_said_beside_the_field_and_a_viewer_sees_no_names(client, province):
    assert sign_in(client, province.id, ADMIN).status_code == 302
    page = client.get("/member/m1?as_of=2999-01-01").get_data(as_text=True)
    assert re.search(r'id="as_of-error">Không được là ngày trong tương lai.<', page)
    page = client.get("/member/m1?known_at=yesterday").get_data(as_text=True)
    assert 'id="known_at-error"' in page and 'id="state-then"' not in page
    viewer = client.application.test_client()
    assert sign_in(viewer, province.id, issue(province, "viewer", "xem")).status_code == 302
    status, words, state, _ = then(viewer, "/member/m2?as_of=2024-12-31")
    assert status == 200 and state["Công đoàn cơ sở"] == "u1" and "Trần Thị Bình" not in words


def test_a_union_under_a_unit_closed_into_a_successor_stands_under_the_successor(client, province):
    second_district(province)
    assert sign_in(client, province.id, ADMIN).status_code == 302
    time.sleep(0.01)
    before = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.01)
    province.post("/units/d1/closure", {"closed_on": "2025-01-01", "successor_id": "d2"})
    _, _, state, figures = then(client, "/union/u1?as_of=2025-02-01")
    assert state["Công đoàn cấp trên"] == "d2" and figures["members_total"] == "3"  # moved with d1's closure
    _, _, state, _ = then(client, "/union/u1?as_of=2024-12-31")
    assert state["Công đoàn cấp trên"] == "d1"  # the day before
    _, _, state, figures = then(client, f"/union/u1?as_of=2025-02-01&known_at={before}")
    assert state["Công đoàn cấp trên"] == "d1" and figures["members_total"] == "3"  # the closure not yet recorded
    _, _, state, _ = then(client, "/workplace/w3?as_of=2025-02-01")
    assert state["Công đoàn cấp trên"] == "d2"
