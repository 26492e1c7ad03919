"""A small province for the console's tests, its figures worked out by hand.

d1 (district, 2018) holds w1 and w2 (40 workers each) with unions u1 and u2 (2019-02-01), and
w3 (12 workers, no union). Members: m1 "Nguyễn Văn An", m2 "Trần Thị Bình" and m3 "Lê Văn Cường"
join u1 on 2024-03-01, m4 "Phạm Thị Dung" joins u2 on 2024-05-01. A target of 10 members'
net growth is set for 2024.

So, at 2024-12-31 and today: members 4; eligible workplaces (10 or more workers) 3, covered 2,
coverage 66.7% ("66,7%" in Vietnamese); net growth in 2024: 4 of the 10 targeted.
"""

from __future__ import annotations

from tests.conftest import TenantClient

MEMBERS = (
    ("m1", "u1", "2024-03-01", "Nguyễn Văn An", "male"),
    ("m2", "u1", "2024-03-01", "Trần Thị Bình", "female"),
    ("m3", "u1", "2024-03-01", "Lê Văn Cường", "male"),
    ("m4", "u2", "2024-05-01", "Phạm Thị Dung", "female"),
)


def build_province(tenant: TenantClient) -> TenantClient:
    tenant.post("/units", {"id": "d1", "name": "Huyện Một", "kind": "district", "established_on": "2018-01-01"})
    for n, workers in ((1, 40), (2, 40), (3, 12)):
        tenant.post(
            "/workplaces",
            {
                "id": f"w{n}",
                "name": f"Công ty {n}",
                "sector": "private_enterprise",
                "unit_id": "d1",
                "workers": workers,
                "female_workers": workers // 2,
                "as_of": "2019-01-01",
            },
        )
    for n in (1, 2):
        tenant.post(
            "/unions",
            {
                "id": f"u{n}",
                "name": f"CĐCS Công ty {n}",
                "workplace_id": f"w{n}",
                "unit_id": "d1",
                "founded_on": "2019-02-01",
            },
        )
    for member_id, union_id, admitted_on, full_name, gender in MEMBERS:
        tenant.post(
            "/members",
            {
                "id": member_id,
                "union_id": union_id,
                "admitted_on": admitted_on,
                "full_name": full_name,
                "gender": gender,
            },
        )
    tenant.post(
        "/targets",
        {
            "unit_id": None,
            "indicator": "members_net_growth",
            "period": "2024",
            "value": 10,
            "assigned_on": "2024-01-10",
            "decision_no": "01/QĐ",
        },
    )
    issue(tenant, "federation_admin", ADMIN)
    return tenant


PASSWORD = "mật khẩu thử nghiệm"  # every test user's
ADMIN = "quan-tri"  # the federation_admin user build_province adds


def issue(tenant: TenantClient, role: str, holder: str, scope_unit_id: str | None = None) -> str:
    """A user of ``role`` (perhaps scoped to a unit) named ``holder``, with PASSWORD; its username."""
    user = {"username": holder, "full_name": holder, "role": role, "scope_unit_id": scope_unit_id}
    tenant.post("/users", {**user, "password": PASSWORD})
    return holder


def backfilled_report(tenant: TenantClient) -> str:
    """A 2024 report of 5 members while the register held 4 when it was sent; then m5's admission,
    dated 2024-11-01, is entered: the line is backfilled, and m5's admission is its late event."""
    report = tenant.post("/reports", {"unit_id": None, "period": "2024", "figures": {"members_total": 5}}).get_json()
    tenant.post(
        "/members",
        {"id": "m5", "union_id": "u1", "admitted_on": "2024-11-01", "full_name": "Vũ Thị Em", "gender": "female"},
    )
    return report["id"]


def second_district(tenant: TenantClient) -> TenantClient:
    """d2 "Huyện Hai" (2018) beside d1, with w4 (20 workers) and its union u4 (2019-03-01), and one
    member, m9 "Đặng Văn Hải", from 2024-06-01: the whole province has 5 members, d1 still 4."""
    tenant.post("/units", {"id": "d2", "name": "Huyện Hai", "kind": "district", "established_on": "2018-01-01"})
    workplace = {"id": "w4", "name": "Công ty 4", "sector": "private_enterprise", "unit_id": "d2"}
    tenant.post("/workplaces", {**workplace, "workers": 20, "female_workers": 10, "as_of": "2019-01-01"})
    union = {"id": "u4", "name": "CĐCS Công ty 4", "workplace_id": "w4", "unit_id": "d2", "founded_on": "2019-03-01"}
    tenant.post("/unions", union)
    member = {"id": "m9", "union_id": "u4", "admitted_on": "2024-06-01", "full_name": "Đặng Văn Hải"}
    tenant.post("/members", {**member, "gender": "male"})
    return tenant
