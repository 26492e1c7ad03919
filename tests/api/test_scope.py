"""Scopes worked by hand across the 2025 reorganisation, personal data hidden from viewers, and
scoped tokens as the federation's admin issues them."""

from __future__ import annotations

from application import scoped_reads
from tests.conftest import TenantClient


def issue(tenant: TenantClient, role: str, scope_unit_id: str | None) -> TenantClient:
    body = {"role": role, "holder": f"{role}-{scope_unit_id}", "scope_unit_id": scope_unit_id}
    return TenantClient(tenant.client, tenant.id, tenant.post("/tokens", body).get_json()["token"])


def reorganised(tenant: TenantClient) -> None:
    """District huyen-a with commune xa-1 under it; union u1 under the district, u2 under the
    commune, a member in each (2022). On 1 July 2025 the new commune xa-moi takes u1 by transfer,
    and xa-1 and the district close into it. m3 joins u1 in August."""
    post = tenant.post
    post("/units", {"id": "huyen-a", "name": "Huyện A", "kind": "district", "established_on": "2020-01-01"})
    post(
        "/units",
        {"id": "xa-1", "name": "Xã 1", "kind": "commune", "established_on": "2020-01-01", "parent_id": "huyen-a"},
    )
    post("/units", {"id": "xa-moi", "name": "Xã Mới", "kind": "commune", "established_on": "2025-07-01"})
    for n, unit in (("1", "huyen-a"), ("2", "xa-1")):
        post(
            "/workplaces",
            {
                "id": f"w{n}",
                "name": f"DN {n}",
                "sector": "private_enterprise",
                "unit_id": unit,
                "workers": 40,
                "female_workers": 20,
                "as_of": "2021-01-01",
            },
        )
        post(
            "/unions",
            {"id": f"u{n}", "name": f"CĐ {n}", "workplace_id": f"w{n}", "unit_id": unit, "founded_on": "2021-02-01"},
        )
        post(
            "/members",
            {
                "id": f"m{n}",
                "union_id": f"u{n}",
                "admitted_on": "2022-01-01",
                "full_name": f"Phạm Thị {n}",
                "gender": "female",
                "id_number": f"00119000000{n}",
            },
        )
    post("/unions/u1/transfer", {"to_unit_id": "xa-moi", "effective_on": "2025-07-01"})
    post("/units/xa-1/closure", {"closed_on": "2025-07-01", "successor_id": "xa-moi"})
    post("/units/huyen-a/closure", {"closed_on": "2025-07-01", "successor_id": "xa-moi"})
    post(
        "/members",
        {"id": "m3", "union_id": "u1", "admitted_on": "2025-08-01", "full_name": "Võ Văn Ba", "gender": "male"},
    )


def ids(answer, kind: str) -> list[str]:
    return [item["id"] for item in answer.get_json()[kind]]


def trail(client: TenantClient, **params) -> list[tuple[str, str]]:
    entries = client.get("/audit", limit=1000, **params).get_json()["entries"]
    return [(e["event"], e["entity_id"]) for e in entries]


def test_the_new_communes_officer_sees_the_unions_moved_under_it_from_their_transfer_date(tenant):
    reorganised(tenant)
    commune = issue(tenant, "officer", "xa-moi")
    assert ids(commune.get("/unions", as_of="2025-07-01"), "unions") == ["u1", "u2"]
    assert ids(commune.get("/unions", as_of="2025-06-30"), "unions") == []
    assert ids(commune.get("/members"), "members") == ["m1", "m2", "m3"]
    assert commune.get("/unions/u1").get_json()["unit_id"] == "xa-moi"
    assert commune.get("/members/m1").get_json()["full_name"] == "Phạm Thị 1"
    assert commune.figures("2025-H1")["members_total"] == 0  # at 30 June nothing lay under it
    assert commune.figures("2025")["members_total"] == 3
    assert commune.figures("2025")["members_admitted"] == 1  # m3; the unions' earlier flows are the district's
    # u1's history from the day it came: its founding in 2021 was the district's
    events = commune.get("/unions/u1/history").get_json()["events"]
    assert [e["event"] for e in events] == ["UnionTransferred"]
    commune.get("/units/huyen-a", expect=404)
    commune.get("/indicators", period="2025-H1", unit_id="huyen-a", expect=404)
    commune.get("/unions", unit_id="huyen-a", as_of="2025-06-30", expect=404)
    assert commune.get("/units/tree").get_json()["roots"] == [
        {"id": "xa-moi", "name": "Xã Mới", "kind": "commune", "children": []}
    ]
    clerk = issue(tenant, "clerk", "xa-moi")
    early = {"id": "m4", "union_id": "u1", "admitted_on": "2025-06-15", "full_name": "Đỗ Văn Bốn", "gender": "male"}
    refused = clerk.post("/members", early, expect=404).get_json()
    assert refused["errors"] == {"union_id": ["union 'u1' does not exist"]}
    clerk.post("/members", {**early, "admitted_on": "2025-07-15"})
    assert trail(commune) == [
        ("UnitEstablished", "xa-moi"),
        ("UnionTransferred", "u1"),
        ("MemberAdmitted", "m3"),
        ("MemberAdmitted", "m4"),
    ]


def test_the_closed_districts_officer_still_sees_its_history_up_to_the_closure(tenant):
    reorganised(tenant)
    district = issue(tenant, "officer", "huyen-a")
    assert district.get("/units/huyen-a").get_json()["status"] == "closed"
    assert ids(district.get("/unions", as_of="2025-06-30"), "unions") == ["u1", "u2"]
    assert ids(district.get("/unions"), "unions") == []  # today nothing lies under it
    assert ids(district.get("/members", as_of="2025-06-30"), "members") == ["m1", "m2"]
    assert district.figures("2025-H1")["members_total"] == 2
    assert district.figures("2022")["members_admitted"] == 2
    district.get("/unions/u1", expect=404)  # today under the new commune
    events = district.get("/unions/u1/history").get_json()["events"]
    assert [e["event"] for e in events] == ["UnionFounded", "UnionTransferred"]  # its days, and the day it left
    district.get("/members/m3/history", expect=404)  # admitted after u1 had left
    district.get("/units/xa-moi", expect=404)
    seen = trail(district)
    assert ("UnionTransferred", "u1") in seen and ("UnitClosed", "xa-1") in seen and ("UnitClosed", "huyen-a") in seen
    assert {e for _event, e in seen} == {"huyen-a", "xa-1", "w1", "w2", "u1", "u2", "m1", "m2"}


def test_a_scoped_audit_trail_pages_through_in_bounded_batches(tenant, monkeypatch):
    """With a page reading at most 3 entries, pages of 1 come back partly empty, with a cursor,
    and together hold exactly the entries of the whole trail that lie within the scope."""
    reorganised(tenant)
    district = issue(tenant, "officer", "huyen-a")
    whole = district.get("/audit", limit=1000).get_json()
    assert whole["next"] is None
    monkeypatch.setattr(scoped_reads, "AUDIT_SCAN", 3)
    paged, after, pages = [], None, 0
    while True:
        params = {"limit": 1} if after is None else {"limit": 1, "after": after}
        page = district.get("/audit", **params).get_json()
        paged += page["entries"]
        pages += 1
        if page["next"] is None:
            break
        after = page["next"]
    assert [e["position"] for e in paged] == [e["position"] for e in whole["entries"]]
    assert pages > len(paged) - 1


def test_a_viewer_never_sees_personal_data_nor_lists_of_members(tenant):
    reorganised(tenant)
    viewer = issue(tenant, "viewer", "xa-moi")
    member = viewer.get("/members/m3").get_json()
    assert (member["full_name"], member["birth_date"], member["id_number"]) == (None, None, None)
    assert member["gender"] == "male" and member["personal_data_erased"] is False
    admitted = viewer.get("/members/m3/history").get_json()["events"]
    assert [e["event"] for e in admitted] == ["MemberAdmitted"] and admitted[0]["data"]["full_name"] is None
    viewer.get("/members/m1/history", expect=404)  # admitted in 2022, under the district
    entries = viewer.get("/audit", entity_type="member").get_json()["entries"]
    assert entries and all(e["data"].get("full_name") is None and e["data"].get("id_number") is None for e in entries)
    assert "Võ Văn Ba" not in str(entries)
    viewer.get("/members", expect=403)
    assert viewer.figures("2025")["members_total"] == 3
    unscoped = issue(tenant, "viewer", None)
    assert unscoped.get("/members/m1").get_json()["full_name"] is None
    assert tenant.get("/members/m1").get_json()["full_name"] == "Phạm Thị 1"  # the federation's admin does


def test_a_token_is_scoped_to_an_existing_unit_and_never_for_the_whole_tenant_roles(tenant):
    reorganised(tenant)
    for body, field in (
        ({"role": "officer", "holder": "x", "scope_unit_id": "nope"}, "scope_unit_id"),
        ({"role": "auditor", "holder": "x", "scope_unit_id": "xa-moi"}, "scope_unit_id"),
        ({"role": "federation_admin", "holder": "x", "scope_unit_id": "xa-moi"}, "scope_unit_id"),
        ({"role": "officer", "holder": "x", "scope_unit_id": "bad id!"}, "scope_unit_id"),
    ):
        refused = tenant.post("/tokens", body, expect=422)
        assert refused.mimetype == "application/problem+json"
        assert list(refused.get_json()["errors"]) == [field], body
    issue(tenant, "inspector", "huyen-a")
    issue(tenant, "auditor", None)
    listed = {t["holder"]: t["scope_unit_id"] for t in tenant.get("/tokens").get_json()["tokens"]}
    assert listed == {"federation_admin": None, "inspector-huyen-a": "huyen-a", "auditor-None": None}


def test_outside_the_scope_answers_404_as_problem_json_the_same_as_a_missing_entity(tenant):
    reorganised(tenant)
    commune = issue(tenant, "officer", "xa-moi")
    outside = commune.get("/units/huyen-a", expect=404)
    missing = commune.get("/units/no-such-unit", expect=404)
    assert outside.mimetype == missing.mimetype == "application/problem+json"
    assert outside.get_json()["title"] == missing.get_json()["title"]
    assert set(outside.get_json()) == set(missing.get_json())


def test_admissions_sent_together_are_each_kept_to_the_clerks_scope(app, tenant):
    """Admissions that commit as one group: each within the scope is recorded, each outside is
    404 alone, and nothing else is written."""
    from concurrent.futures import ThreadPoolExecutor

    reorganised(tenant)
    clerk = issue(tenant, "clerk", "xa-moi")
    before = len(tenant.get("/audit", limit=1000).get_json()["entries"])

    def admit(n: int) -> int:
        client = TenantClient(app.test_client(), tenant.id, clerk.token)
        union = "u2" if n % 2 else "u1"
        on = "2025-07-10" if n % 4 < 2 else "2025-06-10"  # before 1 July neither union lay under xa-moi
        body = {"id": f"c{n}", "union_id": union, "admitted_on": on, "full_name": f"Người {n}", "gender": "male"}
        return client.post("/members", body, expect=None).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(admit, range(16)))
    assert statuses == [201 if n % 4 < 2 else 404 for n in range(16)]
    assert len(tenant.get("/audit", limit=1000).get_json()["entries"]) == before + 8
