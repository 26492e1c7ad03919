"""The national level over HTTP (contract part 2, "The national level"): national tokens, figures
summed over every tenant, national targets in a ledger of their own, the tenants' reports.

Two small tenants whose figures are worked out by hand (period 2024, cut-off 2024-12-31):

- A: unit D; W1 (20 workers) with union U1 (founded 2019), W2 (10 workers, no union);
  members a1, a2, a3 admitted 2019-02-01 to U1; a3 left 2024-03-01.
  members_total 2, unions_total 1, eligible 2, covered 1, coverage_pct 50.0,
  member_worker_ratio_pct 2/20 = 10.0, admitted 0, left 1, net -1.
- B: unit E; X1 (40 workers) with union V1 (founded 2020); b1..b5 admitted 2024-02-01.
  members_total 5, unions_total 1, eligible 1, covered 1, coverage_pct 100.0,
  member_worker_ratio_pct 5/40 = 12.5, admitted 5, left 0, net 5.

National: members 7, unions 2, eligible 3, covered 2; coverage_pct 2/3 = 66.7 (the average of
the tenants' percentages would be 75.0); member_worker_ratio_pct 7/60 = 11.7 (the average, 11.3).
Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest

from application.register import Register
from tests.conftest import new_tenant
from tests.scenario import admit, leave, union, unit, workplace

PERSONAL = {"full_name", "birth_date", "id_number"}
PERIOD, END = "2024", "2024-12-31"


def province_a(t) -> None:
    unit(t, "D")
    workplace(t, "W1", "D", 20)
    workplace(t, "W2", "D", 10)
    union(t, "U1", "W1", "D", "2019-01-01")
    for m in ("a1", "a2", "a3"):
        admit(t, m, "U1", "2019-02-01")
    leave(t, "a3", "2024-03-01")


def province_b(t) -> None:
    unit(t, "E")
    workplace(t, "X1", "E", 40)
    union(t, "V1", "X1", "E", "2020-01-01")
    for k in range(1, 6):
        admit(t, f"b{k}", "V1", "2024-02-01")


class Nation:
    """The national level as a national token's holder sees it."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, expect: int | None = 200, **params):
        response = self.client.get(f"/v1/national{path}", query_string=params, headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, (path, params, response.get_json())
        return response

    def post(self, path: str, body: dict | None = None, expect: int | None = 201):
        response = self.client.post(f"/v1/national{path}", json=body if body is not None else {}, headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, (path, body, response.get_json())
        return response


def national_token(client, admin: dict, holder: str = "vgcl-planning") -> str:
    response = client.post("/v1/national/tokens", json={"holder": holder, "role": "national"}, headers=admin)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["role"] == "national" and body["holder"] == holder
    return body["token"]


@pytest.fixture
def two(client, admin):
    a, b = new_tenant(client, admin, "tinh-a"), new_tenant(client, admin, "tinh-b")
    province_a(a)
    province_b(b)
    return a, b, Nation(client, national_token(client, admin))


def personal_keys(answer) -> set[str]:
    """Every personal field's key anywhere in an answer."""
    if isinstance(answer, dict):
        return (PERSONAL & set(answer)) | {k for v in answer.values() for k in personal_keys(v)}
    if isinstance(answer, list):
        return {k for v in answer for k in personal_keys(v)}
    return set()


# ---- figures ----------------------------------------------------------------------------------
def test_national_figures_add_the_tenants_counts_and_recompute_percentages_from_their_parts(two):
    a, b, nation = two
    answer = nation.get("/indicators", period=PERIOD, as_of=END).get_json()
    assert answer["period"] == PERIOD and answer["as_of"] == END and answer["known_at"] is None
    figures = answer["figures"]
    assert figures["members_total"] == 7
    assert figures["unions_total"] == 2
    assert figures["workplaces_eligible"] == 3
    assert figures["workplaces_covered"] == 2
    assert figures["coverage_pct"] == 66.7  # 2 / 3, not (50.0 + 100.0) / 2
    assert figures["member_worker_ratio_pct"] == 11.7  # 7 / 60, not (10.0 + 12.5) / 2
    assert (figures["members_admitted"], figures["members_left"], figures["members_net_growth"]) == (5, 1, 4)
    lines = {line["tenant_id"]: line for line in answer["tenants"]}
    assert set(lines) == {"tinh-a", "tinh-b"}
    assert lines["tinh-a"]["name"] == "Tenant tinh-a"
    assert lines["tinh-a"]["figures"]["coverage_pct"] == 50.0
    assert lines["tinh-b"]["figures"]["member_worker_ratio_pct"] == 12.5
    # each tenant's line is that tenant's own answer
    assert lines["tinh-a"]["figures"] == a.figures(PERIOD, as_of=END)
    assert lines["tinh-b"]["figures"] == b.figures(PERIOD, as_of=END)


def test_national_figures_take_the_tenants_own_options(two):
    a, b, nation = two
    # at 15 workers W2 (10) is no longer eligible: A 1/1, B 1/1, the nation 2/2
    codes = "members_total,coverage_pct@15,workplaces_eligible@15"
    answer = nation.get("/indicators", period="2024-Q1", as_of="2024-02-15", indicators=codes).get_json()
    assert answer["figures"] == {"members_total": 8, "coverage_pct@15": 100.0, "workplaces_eligible@15": 2}
    own = {t.id: t.figures("2024-Q1", as_of="2024-02-15", indicators=codes) for t in (a, b)}
    assert {line["tenant_id"]: line["figures"] for line in answer["tenants"]} == own
    assert own["tinh-a"]["members_total"] == 3  # a3 still there on 15 February


def test_national_figures_as_known_at_an_instant(client, admin):
    a = new_tenant(client, admin, "tinh-a")
    nation = Nation(client, national_token(client, admin))
    province_a(a)
    before = nation.get("/indicators", period=PERIOD, as_of=END).get_json()
    admit(a, "a4", "U1", "2024-05-01")
    later = nation.get("/indicators", period=PERIOD, as_of=END).get_json()
    assert (before["figures"]["members_total"], later["figures"]["members_total"]) == (2, 3)
    # the national answer names no instant unless asked; asked, each tenant's answer is as known then
    known = nation.get("/indicators", period=PERIOD, as_of=END, known_at="2000-01-01T00:00:00Z").get_json()
    assert known["figures"]["members_total"] == 0 and known["known_at"] == "2000-01-01T00:00:00+00:00"


def test_bad_questions_are_refused_naming_the_field(two):
    _a, _b, nation = two
    response = nation.get("/indicators", expect=422, period=PERIOD, indicators="members_total,nonsense")
    assert "indicators" in response.get_json()["errors"]
    response = nation.get("/indicators", expect=422, period="2024-13")
    assert "period" in response.get_json()["errors"]
    response = nation.get("/indicators", expect=422, period="2999", as_of="2999-01-01")
    assert "as_of" in response.get_json()["errors"]
    assert "period" in nation.get("/indicators", expect=422).get_json()["errors"]


def test_with_no_tenant_the_nation_counts_nothing(client, admin):
    nation = Nation(client, national_token(client, admin))
    answer = nation.get("/indicators", period=PERIOD, as_of=END, indicators="members_total,coverage_pct").get_json()
    assert answer["figures"] == {"members_total": 0, "coverage_pct": 0.0} and answer["tenants"] == []


# ---- national targets -------------------------------------------------------------------------
def test_national_targets_and_their_progress(two, app):
    a, b, nation = two
    to_a = nation.post("/targets", {"tenant_id": "tinh-a", "indicator": "members_total", "period": PERIOD, "value": 4})
    to_a = to_a.get_json()
    assert to_a["tenant_id"] == "tinh-a" and to_a["value"] == 4 and to_a["assigned_by"] == "vgcl-planning"
    to_b = nation.post(
        "/targets", {"tenant_id": "tinh-b", "indicator": "members_admitted", "period": PERIOD, "value": 10}
    ).get_json()
    nation.post("/targets", {"tenant_id": "tinh-b", "indicator": "members_total", "period": "2025", "value": 9})
    assert to_b["position"] > to_a["position"]

    # at the end of 2024: A 2 members (was 3 on 2023-12-31), expected 3 + (4 - 3) x 1 = 4.0: behind
    # B 5 admitted of 10, a flow expected 10.0 by the period's end: behind
    progress = nation.get("/targets/progress", period=PERIOD, as_of=END).get_json()
    assert progress["period"] == PERIOD
    lines = {line["tenant_id"]: line for line in progress["lines"]}
    assert len(progress["lines"]) == 2  # the 2025 target is not in 2024
    assert lines["tinh-a"] == {
        "target_id": to_a["id"],
        "tenant_id": "tinh-a",
        "indicator": "members_total",
        "target": 4,
        "actual": 2,
        "achieved_pct": 50.0,
        "expected_to_date": 4.0,
        "status": "behind",
    }
    assert (lines["tinh-b"]["actual"], lines["tinh-b"]["expected_to_date"], lines["tinh-b"]["status"]) == (
        5,
        10.0,
        "behind",
    )
    # on 30 June (182 of 366 days): B expected 10 x 182/366 = 5.0 and has 5: on track;
    # A expected 3 + 1 x 182/366 = 3.5 and has 2: behind
    mid = {
        line["tenant_id"]: line
        for line in nation.get("/targets/progress", period=PERIOD, as_of="2024-06-30").get_json()["lines"]
    }
    assert (mid["tinh-b"]["expected_to_date"], mid["tinh-b"]["status"]) == (5.0, "on_track")
    assert (mid["tinh-a"]["expected_to_date"], mid["tinh-a"]["status"]) == (3.5, "behind")

    # reckoned as the tenant's own progress reckons the same target for the whole tenant
    a.post("/targets", {"unit_id": None, "indicator": "members_total", "period": PERIOD, "value": 4})
    own = a.get("/targets/progress", period=PERIOD, as_of="2024-06-30").get_json()["lines"][0]
    assert {k: v for k, v in mid["tinh-a"].items() if k not in ("target_id", "tenant_id")} == {
        k: v for k, v in own.items() if k != "target_id"
    }

    # the national ledger is hash-chained like a tenant's, and is no tenant
    platform = app.extensions["unionledger"]
    with platform.national() as store:
        register = Register(store)
        verified = register.verify_chain()
        head = register.digest()
        assert head["position"] == verified.events == verified.chained == 3 and head["hash"] == verified.head
    tenants = a.client.get("/v1/tenants", headers={"Authorization": "Bearer test-admin-token"}).get_json()["tenants"]
    assert [t["id"] for t in tenants] == ["tinh-a", "tinh-b"]
    assert b.get("/targets").get_json()["targets"] == []  # nothing of it in the tenant's own ledger


def test_a_national_target_names_an_existing_tenant_and_a_known_indicator(two):
    _a, _b, nation = two
    missing = nation.post(
        "/targets", {"tenant_id": "tinh-z", "indicator": "members_total", "period": PERIOD, "value": 4}, expect=404
    ).get_json()
    assert "tenant_id" in missing["errors"] and "tinh-z" in missing["detail"]
    bad = nation.post(
        "/targets", {"tenant_id": "tinh-a", "indicator": "nonsense", "period": PERIOD, "value": 4}, expect=422
    ).get_json()
    assert "indicator" in bad["errors"]
    bad = nation.post(
        "/targets", {"tenant_id": "tinh-a", "indicator": "coverage_pct", "period": PERIOD, "value": 140}, expect=422
    ).get_json()
    assert "value" in bad["errors"]
    assert nation.get("/targets/progress", period=PERIOD).get_json()["lines"] == []


# ---- reports ----------------------------------------------------------------------------------
def test_the_tenants_whole_reports_are_listed_and_verified_against_their_own_ledgers(two):
    a, b, nation = two
    draft = a.get("/reports/draft", period=PERIOD, as_of=END).get_json()["figures"]
    whole_a = a.post("/reports", {"unit_id": None, "period": PERIOD, "as_of": END, "figures": draft}).get_json()
    a.post("/reports", {"unit_id": "D", "period": PERIOD, "as_of": END, "figures": {"members_total": 2}})
    whole_b = b.post(
        "/reports", {"unit_id": None, "period": PERIOD, "as_of": END, "figures": {"members_total": 6}}
    ).get_json()
    b.post("/reports", {"unit_id": None, "period": "2023", "figures": {"members_total": 0}})

    listed = nation.get("/reports", period=PERIOD).get_json()["reports"]
    assert [(r["tenant_id"], r["id"]) for r in listed] == [("tinh-a", whole_a["id"]), ("tinh-b", whole_b["id"])]
    assert all(r["unit_id"] is None for r in listed)
    assert len(nation.get("/reports").get_json()["reports"]) == 3  # every period

    checked_a = nation.post(f"/reports/tinh-a/{whole_a['id']}/verification").get_json()
    assert checked_a["tenant_id"] == "tinh-a" and checked_a["verdict"] == "consistent"
    own = a.post(f"/reports/{whole_a['id']}/verification").get_json()
    assert own["lines"] == checked_a["lines"]  # exactly as the tenant's own verification
    checked_b = nation.post(f"/reports/tinh-b/{whole_b['id']}/verification").get_json()
    assert checked_b["verdict"] == "discrepant"
    assert checked_b["lines"] == [
        {
            "indicator": "members_total",
            "reported": 6,
            "ledger_at_submission": 5,
            "ledger_now": 5,
            "status": "over_reported",
            "late_events": [],
            "late_events_total": 0,
        }
    ]
    # recorded in the tenant's ledger, by the national holder
    seen = b.get(f"/reports/{whole_b['id']}").get_json()["verification"]
    assert (seen["verdict"], seen["verified_by"]) == ("discrepant", "vgcl-planning")
    listed = nation.get("/reports", period=PERIOD).get_json()["reports"]
    assert listed[1]["verification"]["verified_by"] == "vgcl-planning"


def test_only_a_tenants_whole_reports_are_verified_nationally(two):
    a, _b, nation = two
    of_unit = a.post("/reports", {"unit_id": "D", "period": PERIOD, "as_of": END, "figures": {"members_total": 2}})
    of_unit = of_unit.get_json()
    assert nation.post(f"/reports/tinh-a/{of_unit['id']}/verification", expect=404).status_code == 404
    assert nation.post("/reports/tinh-a/rp-nothing/verification", expect=404).status_code == 404
    missing = nation.post(f"/reports/tinh-z/{of_unit['id']}/verification", expect=404).get_json()
    assert "tinh-z" in missing["detail"]


def test_late_events_are_shown_to_the_nation_without_their_member(two):
    a, _b, nation = two
    draft = a.get("/reports/draft", period=PERIOD, as_of=END).get_json()["figures"]
    whole = a.post("/reports", {"unit_id": None, "period": PERIOD, "as_of": END, "figures": draft}).get_json()
    admit(a, "a9", "U1", "2024-06-01")  # recorded after the submission, dated before the cut-off
    checked = nation.post(f"/reports/tinh-a/{whole['id']}/verification").get_json()
    line = next(x for x in checked["lines"] if x["indicator"] == "members_total")
    assert line["status"] == "corrected_later"
    assert [(e["event"], e["entity_type"], e["entity_id"]) for e in line["late_events"]] == [
        ("MemberAdmitted", "member", None)
    ]


# ---- access -----------------------------------------------------------------------------------
def test_a_national_token_reads_the_national_level_only(two, client, admin):
    a, _b, nation = two
    for path in ("/indicators?period=2024", "/members", "/members/a1", "/units", "/reports", "/audit"):
        response = client.get(a.url(path), headers=nation.headers)
        assert response.status_code == 403, (path, response.get_json())
    response = client.post(a.url("/members"), json={"id": "x"}, headers=nation.headers)
    assert response.status_code == 403
    assert client.get("/v1/tenants", headers=nation.headers).status_code == 403
    # the platform admin alone issues national tokens; a national token issues none
    assert nation.post("/tokens", {"holder": "x", "role": "national"}, expect=403).status_code == 403
    refused = client.post("/v1/national/tokens", json={"holder": "x", "role": "auditor"}, headers=admin)
    assert refused.status_code == 422 and "role" in refused.get_json()["errors"]


def test_tenant_and_admin_tokens_may_not_read_the_national_level(two, client, admin):
    a, _b, _nation = two
    for headers in (a.headers, admin):
        for path in ("/indicators?period=2024", "/targets/progress?period=2024", "/reports"):
            assert client.get(f"/v1/national{path}", headers=headers).status_code == 403
        body = {"tenant_id": "tinh-a", "indicator": "members_total", "period": PERIOD, "value": 1}
        assert client.post("/v1/national/targets", json=body, headers=headers).status_code == 403
    assert (
        client.post("/v1/national/tokens", json={"holder": "x", "role": "national"}, headers=a.headers).status_code
        == 403
    )
    assert client.get("/v1/national/indicators?period=2024").status_code == 401


def test_no_national_answer_carries_personal_data(two):
    a, b, nation = two
    draft = a.get("/reports/draft", period=PERIOD, as_of=END).get_json()["figures"]
    whole = a.post("/reports", {"unit_id": None, "period": PERIOD, "as_of": END, "figures": draft}).get_json()
    admit(a, "a9", "U1", "2024-06-01")
    answers = [
        nation.post("/targets", {"tenant_id": "tinh-b", "indicator": "members_total", "period": PERIOD, "value": 6}),
        nation.get("/indicators", period=PERIOD),
        nation.get("/targets/progress", period=PERIOD),
        nation.get("/reports"),
        nation.post(f"/reports/tinh-a/{whole['id']}/verification"),
    ]
    for response in answers:
        body = response.get_json()
        assert body and personal_keys(body) == set(), body
    # the tenant's own answers do carry them, so the walk would have found them
    assert personal_keys(a.get("/members/a1").get_json()) == PERSONAL


def test_national_plan_figures_are_recomputed_from_the_tenants_parts(two):
    a, b, nation = two
    # dues of 2024: A 90 of 100 (90.0), B 300 of 400 (75.0): nationally 390 / 500 = 78.0, not the
    # average 82.5; cards: a1 of A's 2 members, none of B's 5: 1 / 7 = 14.3
    a.post("/unions/U1/dues", {"period": "2024", "due": 100, "collected": 90})
    b.post("/unions/V1/dues", {"period": "2024", "due": 400, "collected": 300})
    a.post("/members/a1/cards", {"card_no": "A-1", "issued_on": "2024-03-01"})
    codes = "dues_collected_pct,members_with_card_pct"
    answer = nation.get("/indicators", period=PERIOD, as_of=END, indicators=codes).get_json()
    assert answer["figures"] == {"dues_collected_pct": 78.0, "members_with_card_pct": 14.3}
    tenants = {t["tenant_id"]: t["figures"] for t in answer["tenants"]}
    assert tenants[a.id] == {"dues_collected_pct": 90.0, "members_with_card_pct": 50.0}
    assert tenants[b.id] == {"dues_collected_pct": 75.0, "members_with_card_pct": 0.0}
