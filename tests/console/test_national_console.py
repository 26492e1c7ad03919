"""The national level in the console: a national target handed to one province through the form,
its progress beside the other province's figure, and a province's whole-tenant report verified
against its ledger, with never a name nor a member list. Province A is tests/console/province.py's
(4 members, net growth 4 in 2024); province B the same with second_district (5 members, growth 5)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import new_tenant
from tests.console.province import backfilled_report, build_province, second_district
from tests.console.test_pages import csrf, text


@pytest.fixture
def national_client(client, admin):
    secret = client.post("/v1/national/tokens", json={"holder": "tw", "role": "national"}, headers=admin).get_json()
    form = {"csrf_token": csrf(client, "/login/national"), "token": secret["token"]}
    assert client.post("/login/national", data=form).status_code == 302
    return client


def cells(body: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', body, re.S)
    assert row, row_id
    return [
        re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row.group(1), re.S)
    ]


def test_a_national_target_for_one_province_shows_beside_the_other(client, admin, tenant, national_client):
    a = build_province(tenant)
    b = second_district(build_province(new_tenant(client, admin)))
    token = csrf(national_client, "/national")
    form = {"csrf_token": token, "tenant_id": a.id, "indicator": "members_net_growth", "period": "2024"}
    bad = national_client.post("/national/targets", data={**form, "value": "nhiều"})
    assert bad.status_code == 422 and re.search(r'id="value-error">[^<]+<', bad.get_data(as_text=True))
    missing = national_client.post("/national/targets", data={**form, "tenant_id": "", "value": "8"})
    assert re.search(r'id="tenant_id-error">Trường này là bắt buộc.<', missing.get_data(as_text=True))
    nowhere = national_client.post("/national/targets", data={**form, "tenant_id": "khong-co", "value": "8"})
    assert nowhere.status_code == 422 and 'id="tenant_id-error"' in nowhere.get_data(as_text=True)
    done = national_client.post("/national/targets", data={**form, "value": "8"})
    assert done.status_code == 302 and done.headers["Location"].startswith("/national?period=2024")
    body = national_client.get("/national?period=2024&as_of=2024-12-31").get_data(as_text=True)
    names = {a.id: f"Tenant {a.id}", b.id: f"Tenant {b.id}"}
    assert cells(body, f"compare-members_net_growth-{a.id}") == [names[a.id], "4", "8", "8", "50,0%", "chậm tiến độ"]
    assert cells(body, f"compare-members_net_growth-{b.id}") == [names[b.id], "5", "—", "—", "—", "chưa có chỉ tiêu"]
    assert "Nguyễn Văn An" not in body and "/member/" not in body


def test_the_national_level_verifies_a_provinces_report_without_names(client, tenant, national_client):
    a = build_province(tenant)
    report = backfilled_report(a)  # 5 reported for 2024 while 4 were recorded; m5 "Vũ Thị Em" entered late
    listing = national_client.get("/national/reports?period=2024").get_data(as_text=True)
    row = cells(listing, f"report-{a.id}-{report}")
    assert row[1] == report and row[6] == "chưa kiểm tra"
    token = csrf(national_client, "/national/reports")
    verified = national_client.post(f"/national/reports/{a.id}/{report}/verification", data={"csrf_token": token})
    assert verified.status_code == 200
    body = verified.get_data(as_text=True)
    assert cells(body, "line-members_total")[1:] == ["5", "4", "5", "nhập bổ sung"]  # reported / then / now / status
    words = text(verified)
    assert "Kết nạp" in words and "01/11/2024" in words  # the late admission, dated before the cut-off
    assert "Vũ Thị Em" not in words and "m5" not in words  # which member: never said at the national level
    assert a.get(f"/reports/{report}").get_json()["verification"]["verified_by"] == "tw"  # the national holder
    again = national_client.get("/national/reports?period=2024").get_data(as_text=True)
    assert cells(again, f"report-{a.id}-{report}")[6] != "chưa kiểm tra"
    other = national_client.post(f"/national/reports/{a.id}/khong-co/verification", data={"csrf_token": token})
    assert other.status_code == 404
    assert national_client.get("/members").status_code == 403
