"""Targets, progress, reports and their verification over HTTP (the contract's "Register", "Periods",
"Indicators", "Verification").

Every scenario is small enough that its figures are worked out by hand in the comments next
to the assertions. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.indicators import BASE_CODES
from tests.conftest import today
from tests.scenario import admit, leave, union, unit, workplace

# The plans' other indicators (tests/api/test_plan_indicators.py) where nothing of theirs is recorded.
NO_PLAN_RECORDS = dict.fromkeys(
    (
        "unions_rated_good_pct",
        "cla_coverage_pct",
        "womens_committee_pct",
        "members_with_card_pct",
        "dues_collected_pct",
        "officials_trained_pct",
        "workers_conference_pct",
    ),
    0.0,
)

PROBLEM = "application/problem+json"


# ---- scenario helpers ----------------------------------------------------
def target(t, unit_id: str | None, indicator: str, period: str, value) -> dict:
    return t.post("/targets", {"unit_id": unit_id, "indicator": indicator, "period": period, "value": value}).get_json()


def report(t, unit_id: str | None, period: str, figures: dict, **extra) -> dict:
    return t.post("/reports", {"unit_id": unit_id, "period": period, "figures": figures, **extra}).get_json()


def verify(t, report_id: str) -> dict:
    return t.post(f"/reports/{report_id}/verification").get_json()


def history(t, path: str) -> list[dict]:
    return t.get(f"{path}/history").get_json()["events"]


def lines_by_indicator(verification: dict) -> dict:
    return {line["indicator"]: line for line in verification["lines"]}


def late(line: dict) -> list[tuple[str, str]]:
    return [(e["event"], e["entity_id"]) for e in line["late_events"]]


def assert_problem(response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if field:
        assert field in body.get("errors", {}), body


# =============================================================================================
# 1. Targets
# =============================================================================================
def test_assign_targets_for_a_unit_and_for_the_whole_tenant(tenant):
    unit(tenant, "D")
    for_unit = target(tenant, "D", "members_total", "2024", 120)
    for_tenant = target(tenant, None, "coverage_pct@25", "2023-2028", 85.5)
    # the service gives the ids: two different, non-empty strings
    assert isinstance(for_unit["id"], str) and for_unit["id"]
    assert isinstance(for_tenant["id"], str) and for_tenant["id"]
    assert for_unit["id"] != for_tenant["id"]
    # a count stays a whole number, a percentage keeps its decimal; the threshold suffix is kept
    assert (for_unit["unit_id"], for_unit["indicator"], for_unit["period"], for_unit["value"]) == (
        "D",
        "members_total",
        "2024",
        120,
    )
    assert isinstance(for_unit["value"], int)
    assert (for_tenant["unit_id"], for_tenant["indicator"], for_tenant["period"], for_tenant["value"]) == (
        None,
        "coverage_pct@25",
        "2023-2028",
        85.5,
    )
    # GET answers what the 201 said
    got = tenant.get(f"/targets/{for_tenant['id']}").get_json()
    assert (got["id"], got["unit_id"], got["indicator"], got["period"], got["value"]) == (
        for_tenant["id"],
        None,
        "coverage_pct@25",
        "2023-2028",
        85.5,
    )
    assert tenant.get(f"/targets/{for_unit['id']}").get_json()["value"] == 120


def test_a_revision_keeps_both_values_in_the_history(tenant):
    unit(tenant, "D")
    assigned = target(tenant, "D", "members_admitted", "2024-H2", 40)
    revised = tenant.post(
        f"/targets/{assigned['id']}/revision", {"value": 55, "reason": "Resolution 7 of the provincial congress"}
    ).get_json()
    assert revised["value"] == 55
    assert tenant.get(f"/targets/{assigned['id']}").get_json()["value"] == 55
    events = history(tenant, f"/targets/{assigned['id']}")
    assert [e["event"] for e in events] == ["TargetAssigned", "TargetRevised"]
    assert events[0]["data"]["value"] == 40
    assert events[1]["data"]["value"] == 55
    assert events[1]["data"]["reason"] == "Resolution 7 of the provincial congress"


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"unit_id": "D", "indicator": "members_bogus", "period": "2024", "value": 5}, 422, "indicator"),
        ({"unit_id": "D", "indicator": "members_admitted@25", "period": "2024", "value": 5}, 422, "indicator"),
        ({"unit_id": "D", "indicator": "members_total", "period": "2024-Q5", "value": 5}, 422, "period"),
        ({"unit_id": "D", "indicator": "members_total", "period": "2028-2023", "value": 5}, 422, "period"),
        ({"unit_id": "nowhere", "indicator": "members_total", "period": "2024", "value": 5}, 404, None),
        ({"unit_id": "D", "indicator": "coverage_pct", "period": "2024", "value": 100.5}, 422, "value"),
        ({"unit_id": "D", "indicator": "members_total", "period": "2024", "value": 10.5}, 422, "value"),
    ],
)
def test_target_refusals(tenant, body, status, field):
    unit(tenant, "D")
    assert_problem(tenant.post("/targets", body, expect=None), status, field)
    # nothing was recorded
    assert tenant.get("/targets").get_json()["targets"] == []


def test_a_revision_of_a_count_must_be_whole(tenant):
    unit(tenant, "D")
    assigned = target(tenant, "D", "members_total", "2024", 30)
    assert_problem(
        tenant.post(f"/targets/{assigned['id']}/revision", {"value": 31.5, "reason": "x"}, expect=None), 422, "value"
    )
    assert tenant.get(f"/targets/{assigned['id']}").get_json()["value"] == 30


# =============================================================================================
# 2. Progress against targets
# =============================================================================================
def build_progress(t) -> None:
    """District D and district E; the tenant is D + E.

    D: W1 45 workers, W2 20, W3 12, W4 10 (all registered 2019-01-01, all eligible at >= 10)
       U1 (W1) founded 2020-01-01; m1..m4 admitted 2023-03-01
       2024: n1 02-01, n2 03-01, n3 04-01, n4 05-01, n5 06-01, n6 07-01 admitted to U1;
             m1 left 2024-05-15; U2 (W2) founded 2024-03-01, U3 (W3) founded 2024-06-01
       n7 admitted 2024-09-01 (after the mid-year as_of)
    E: WE 30 workers; UE founded 2020-01-01; e1 admitted 2023-03-01; e2 admitted 2024-04-01
    """
    unit(t, "D")
    unit(t, "E")
    for wid, workers in (("W1", 45), ("W2", 20), ("W3", 12), ("W4", 10)):
        workplace(t, wid, "D", workers)
    workplace(t, "WE", "E", 30)
    union(t, "U1", "W1", "D", "2020-01-01")
    union(t, "UE", "WE", "E", "2020-01-01")
    for mid in ("m1", "m2", "m3", "m4"):
        admit(t, mid, "U1", "2023-03-01")
    admit(t, "e1", "UE", "2023-03-01")
    for mid, on in (
        ("n1", "2024-02-01"),
        ("n2", "2024-03-01"),
        ("n3", "2024-04-01"),
        ("n4", "2024-05-01"),
        ("n5", "2024-06-01"),
        ("n6", "2024-07-01"),
        ("n7", "2024-09-01"),
    ):
        admit(t, mid, "U1", on)
    leave(t, "m1", "2024-05-15")
    union(t, "U2", "W2", "D", "2024-03-01")
    union(t, "U3", "W3", "D", "2024-06-01")
    admit(t, "e2", "UE", "2024-04-01")


def test_progress_mid_period_stock_and_flow_targets(tenant):
    build_progress(tenant)
    total = target(tenant, "D", "members_total", "2024", 12)
    admitted = target(tenant, "D", "members_admitted", "2024", 6)
    growth = target(tenant, "D", "members_net_growth", "2024", 12)
    coverage = target(tenant, "D", "coverage_pct", "2024", 100)
    body = tenant.get("/targets/progress", period="2024", unit_id="D", as_of="2024-07-01").get_json()
    assert (body["period"], body["unit_id"]) == ("2024", "D")
    lines = {line["target_id"]: line for line in body["lines"]}
    assert set(lines) == {total["id"], admitted["id"], growth["id"], coverage["id"]}
    for line in body["lines"]:
        assert set(line) >= {"target_id", "indicator", "target", "actual", "achieved_pct", "expected_to_date", "status"}
    # elapsed: 2024-01-01 .. 2024-07-01 inclusive = 31+29+31+30+31+30+1 = 183 of 366 days = 1/2
    #
    # members_total, a stock. Baseline 2023-12-31: m1..m4 = 4.
    #   expected 4 + (12 - 4) x 1/2 = 8.0
    #   actual 2024-07-01: m2 m3 m4 + n1..n6 = 9 (m1 left 05-15) -> 9 >= 8 but < 12: on_track; 100 x 9/12 = 75.0
    assert {
        k: lines[total["id"]][k]
        for k in ("indicator", "target", "actual", "achieved_pct", "expected_to_date", "status")
    } == {
        "indicator": "members_total",
        "target": 12,
        "actual": 9,
        "achieved_pct": 75.0,
        "expected_to_date": 8.0,
        "status": "on_track",
    }
    # members_admitted, a flow: expected 6 x 1/2 = 3.0; actual n1..n6 = 6 -> achieved, 100.0
    assert {
        k: lines[admitted["id"]][k] for k in ("target", "actual", "achieved_pct", "expected_to_date", "status")
    } == {"target": 6, "actual": 6, "achieved_pct": 100.0, "expected_to_date": 3.0, "status": "achieved"}
    # members_net_growth, a flow: expected 12 x 1/2 = 6.0; actual 6 admitted - 1 left = 5 -> behind;
    #   100 x 5/12 = 41.67 -> 41.7
    assert {k: lines[growth["id"]][k] for k in ("target", "actual", "achieved_pct", "expected_to_date", "status")} == {
        "target": 12,
        "actual": 5,
        "achieved_pct": 41.7,
        "expected_to_date": 6.0,
        "status": "behind",
    }
    # coverage_pct, a stock. Baseline 2023-12-31: eligible W1..W4 = 4, covered W1 -> 25.0
    #   expected 25 + (100 - 25) x 1/2 = 62.5
    #   actual 2024-07-01: covered W1 W2 W3 of 4 -> 75.0 >= 62.5: on_track; 100 x 75/100 = 75.0
    assert {
        k: lines[coverage["id"]][k] for k in ("target", "actual", "achieved_pct", "expected_to_date", "status")
    } == {"target": 100.0, "actual": 75.0, "achieved_pct": 75.0, "expected_to_date": 62.5, "status": "on_track"}


def test_progress_stock_behind_its_pro_rata_path(tenant):
    build_progress(tenant)
    # members_total target 30: expected at 2024-07-01 = 4 + (30 - 4) x 1/2 = 17.0; actual 9 -> behind;
    #   100 x 9/30 = 30.0
    # coverage_pct@25 target 100: >= 25 workers only W1 (45), covered since 2020 -> baseline 100.0,
    #   actual 100.0 -> achieved; expected 100 + 0 x 1/2 = 100.0
    total = target(tenant, "D", "members_total", "2024", 30)
    coverage = target(tenant, "D", "coverage_pct@25", "2024", 100)
    lines = {
        line["target_id"]: line
        for line in tenant.get("/targets/progress", period="2024", unit_id="D", as_of="2024-07-01").get_json()["lines"]
    }
    assert (
        lines[total["id"]]["actual"],
        lines[total["id"]]["expected_to_date"],
        lines[total["id"]]["status"],
        lines[total["id"]]["achieved_pct"],
    ) == (9, 17.0, "behind", 30.0)
    assert (lines[coverage["id"]]["indicator"], lines[coverage["id"]]["actual"], lines[coverage["id"]]["status"]) == (
        "coverage_pct@25",
        100.0,
        "achieved",
    )


def test_progress_at_the_periods_end_expects_the_whole_target(tenant):
    build_progress(tenant)
    admitted = target(tenant, "D", "members_admitted", "2024", 8)
    # no as_of: the period's last day 2024-12-31, elapsed 366/366 -> expected 8.0
    # actual n1..n7 = 7 < 8 -> behind; 100 x 7/8 = 87.5
    body = tenant.get("/targets/progress", period="2024", unit_id="D").get_json()
    (line,) = body["lines"]
    assert (line["target_id"], line["actual"], line["expected_to_date"], line["status"], line["achieved_pct"]) == (
        admitted["id"],
        7,
        8.0,
        "behind",
        87.5,
    )


def test_progress_whole_tenant_targets_only_without_a_unit(tenant):
    build_progress(tenant)
    for_d = target(tenant, "D", "members_total", "2024", 12)
    for_tenant = target(tenant, None, "members_total", "2024", 14)
    target(tenant, None, "members_total", "2024-H1", 10)  # another period: never listed for 2024
    # whole tenant: baseline 2023-12-31 m1..m4 + e1 = 5; expected 5 + (14 - 5) x 1/2 = 9.5
    #   actual 2024-07-01: D 9 + E (e1 e2) 2 = 11 -> on_track; 100 x 11/14 = 78.57 -> 78.6
    body = tenant.get("/targets/progress", period="2024", as_of="2024-07-01").get_json()
    assert body["unit_id"] is None
    (line,) = body["lines"]
    assert (
        line["target_id"],
        line["target"],
        line["actual"],
        line["expected_to_date"],
        line["status"],
        line["achieved_pct"],
    ) == (for_tenant["id"], 14, 11, 9.5, "on_track", 78.6)
    # for D: only D's target
    d_lines = tenant.get("/targets/progress", period="2024", unit_id="D", as_of="2024-07-01").get_json()["lines"]
    assert [line["target_id"] for line in d_lines] == [for_d["id"]]
    # for E: none
    assert tenant.get("/targets/progress", period="2024", unit_id="E", as_of="2024-07-01").get_json()["lines"] == []


def test_progress_follows_a_revision(tenant):
    build_progress(tenant)
    total = target(tenant, "D", "members_total", "2024", 30)
    tenant.post(f"/targets/{total['id']}/revision", {"value": 10, "reason": "two enterprises closed"})
    # target now 10: expected 4 + (10 - 4) x 1/2 = 7.0; actual 9 -> on_track; 100 x 9/10 = 90.0
    (line,) = tenant.get("/targets/progress", period="2024", unit_id="D", as_of="2024-07-01").get_json()["lines"]
    assert (line["target"], line["expected_to_date"], line["status"], line["achieved_pct"]) == (
        10,
        7.0,
        "on_track",
        90.0,
    )


def test_progress_refusals(tenant):
    unit(tenant, "D")
    assert_problem(tenant.get("/targets/progress", expect=None, period="2024-H3"), 422, "period")
    assert_problem(tenant.get("/targets/progress", expect=None, period="2024", unit_id="nowhere"), 404)


# =============================================================================================
# 3 and 4. Reports and verification
# =============================================================================================
def build_register(t) -> None:
    """Province P (other) with districts A and B.

    A: WA1 45 workers, WA2 20, WA3 12 (all eligible at >= 10); UA1 (WA1) founded 2020-01-01
       a1 a2 a3 a4 admitted 2023-05-01; a5 admitted 2024-02-01; a6 admitted 2024-03-01
    B: WB 30 workers; UB (WB) founded 2020-01-01; b1 admitted 2023-05-01

    A at 2024-03-31 and 2024-06-30 (before anything recorded late):
      members_total 6, unions_total 1, eligible 3, covered 1 -> coverage_pct 33.3,
      member_worker_ratio_pct 6/45 = 13.3, members_admitted (Q1 or H1) 2, members_left 0
    """
    unit(t, "P", kind="other")
    unit(t, "A", parent_id="P")
    unit(t, "B", parent_id="P")
    workplace(t, "WA1", "A", 45)
    workplace(t, "WA2", "A", 20)
    workplace(t, "WA3", "A", 12)
    workplace(t, "WB", "B", 30)
    union(t, "UA1", "WA1", "A", "2020-01-01")
    union(t, "UB", "WB", "B", "2020-01-01")
    for mid in ("a1", "a2", "a3", "a4"):
        admit(t, mid, "UA1", "2023-05-01")
    admit(t, "b1", "UB", "2023-05-01")
    admit(t, "a5", "UA1", "2024-02-01")
    admit(t, "a6", "UA1", "2024-03-01")


def record_late(t) -> None:
    """Entries recorded after the reports, back-dated into 2024-H1.

    a7 admitted to UA1 on 2024-04-01, a8 on 2024-05-01 (A); b9 admitted to UB on 2024-03-01 (B);
    a1 leaves on 2024-06-15 (A).
    A at 2024-06-30 now: a2..a8 = 7 members; admitted a5 a6 a7 a8 = 4; left a1 = 1; ratio 7/45 = 15.6
    """
    admit(t, "a7", "UA1", "2024-04-01")
    admit(t, "b9", "UB", "2024-03-01")
    admit(t, "a8", "UA1", "2024-05-01")
    leave(t, "a1", "2024-06-15")


# ---- 3. reports ----------------------------------------------------------------------------
def test_submit_a_report(tenant):
    build_register(tenant)
    submitted = report(tenant, "A", "2024-H1", {"members_total": 6, "coverage_pct": 33.3})
    assert isinstance(submitted["id"], str) and submitted["id"]
    # as_of defaults to the period's last day
    assert (submitted["unit_id"], submitted["period"], submitted["as_of"]) == ("A", "2024-H1", "2024-06-30")
    assert submitted["figures"] == {"members_total": 6, "coverage_pct": 33.3}
    assert (submitted["replaces"], submitted["replaced_by"], submitted["status"]) == (None, None, "current")
    got = tenant.get(f"/reports/{submitted['id']}").get_json()
    assert (got["id"], got["as_of"], got["figures"], got["verification"]) == (
        submitted["id"],
        "2024-06-30",
        {"members_total": 6, "coverage_pct": 33.3},
        None,
    )
    # a term defaults to its last day as well; the whole tenant has unit_id null
    term = report(tenant, None, "2023-2025", {"unions_total": 2})
    assert (term["unit_id"], term["as_of"]) == (None, "2025-12-31")
    assert [e["event"] for e in history(tenant, f"/reports/{submitted['id']}")] == ["ReportSubmitted"]


@pytest.mark.parametrize(
    "figures, field",
    [
        ({"members_total": 6, "members_bogus": 3}, "figures.members_bogus"),
        ({"members_admitted@25": 3}, "figures.members_admitted@25"),
        ({"coverage_pct": 101}, "figures.coverage_pct"),
        ({"members_total": 6.5}, "figures.members_total"),
    ],
)
def test_report_with_a_bad_figure_is_422_naming_it(tenant, figures, field):
    build_register(tenant)
    assert_problem(
        tenant.post("/reports", {"unit_id": "A", "period": "2024-H1", "figures": figures}, expect=None), 422, field
    )
    assert tenant.get("/reports", unit_id="A").get_json()["reports"] == []


def test_report_refusals(tenant):
    build_register(tenant)
    base = {"unit_id": "A", "period": "2024-H1", "figures": {"members_total": 6}}
    assert_problem(tenant.post("/reports", {**base, "period": "2024-H3"}, expect=None), 422, "period")
    assert_problem(tenant.post("/reports", {**base, "unit_id": "nowhere"}, expect=None), 404)
    assert_problem(
        tenant.post("/reports", {**base, "as_of": "2099-06-30", "period": "2099-H1"}, expect=None), 422, "as_of"
    )
    assert tenant.get("/reports").get_json()["reports"] == []


def test_a_report_on_a_running_period_is_cut_off_today_by_default(tenant):
    """As the draft and the indicators: the period's last day would lie in the future. The service
    reckons today as it answers: the test's today, or the next day if midnight in Vietnam passed meanwhile."""
    build_register(tenant)
    before = today()
    report = tenant.post("/reports", {"unit_id": "A", "period": str(before.year), "figures": {"members_total": 6}})
    assert report.get_json()["as_of"] in {before.isoformat(), today().isoformat()}


def test_list_reports_by_unit_and_period(tenant):
    build_register(tenant)
    first = report(tenant, "A", "2024-H1", {"members_total": 6})
    report(tenant, "B", "2024-H1", {"members_total": 1})
    report(tenant, "A", "2024-Q1", {"members_total": 6})
    second = report(tenant, "A", "2024-H1", {"members_total": 7})
    listed = tenant.get("/reports", unit_id="A", period="2024-H1").get_json()["reports"]
    # A's two H1 reports, oldest first; not B's, not A's Q1
    assert [r["id"] for r in listed] == [first["id"], second["id"]]
    assert [r["figures"]["members_total"] for r in listed] == [6, 7]
    assert len(tenant.get("/reports", period="2024-H1").get_json()["reports"]) == 3


def test_draft_is_the_ledgers_figures_and_verifies_as_consistent(tenant):
    build_register(tenant)
    body = tenant.get("/reports/draft", period="2024-H1", unit_id="A", as_of="2024-05-31").get_json()
    assert (body["unit_id"], body["period"], body["as_of"]) == ("A", "2024-H1", "2024-05-31")
    draft = body["figures"]
    # A at 2024-05-31: a1..a6 = 6 members, UA1; 1 of 3 eligible covered -> 33.3; 6/45 -> 13.3;
    # H1 up to 05-31: admitted a5 a6 = 2, left 0, net 2, founded 0, dissolved 0
    assert draft == {
        "members_total": 6,
        "members_female": 6,  # tests.scenario.admit admits women
        "unions_total": 1,
        "workplaces_eligible": 3,
        "workplaces_covered": 1,
        "coverage_pct": 33.3,
        "member_worker_ratio_pct": 13.3,
        "members_admitted": 2,
        "members_left": 0,
        "members_transferred_in": 0,  # no moves between provinces
        "members_transferred_out": 0,
        "members_net_growth": 2,
        "unions_founded": 0,
        "unions_dissolved": 0,
        **NO_PLAN_RECORDS,  # none recorded: 0 where the denominator is 0
    }
    assert draft == tenant.figures("2024-H1", unit_id="A", as_of="2024-05-31")
    submitted = report(tenant, "A", "2024-H1", draft, as_of="2024-05-31")
    assert submitted["as_of"] == "2024-05-31"
    result = verify(tenant, submitted["id"])
    assert result["verdict"] == "consistent"
    assert len(result["lines"]) == len(BASE_CODES)
    for line in result["lines"]:
        assert line["status"] == "match", line
        assert line["reported"] == line["ledger_at_submission"] == line["ledger_now"] == draft[line["indicator"]]
        assert line["late_events"] == []


def test_replacing_a_report(tenant):
    build_register(tenant)
    old = report(tenant, "A", "2024-H1", {"members_total": 9})
    new = report(tenant, "A", "2024-H1", {"members_total": 6}, replaces=old["id"])
    assert new["id"] != old["id"]
    assert (new["replaces"], new["status"], new["replaced_by"]) == (old["id"], "current", None)
    got_old = tenant.get(f"/reports/{old['id']}").get_json()
    assert (got_old["replaced_by"], got_old["status"]) == (new["id"], "replaced")
    assert [e["event"] for e in history(tenant, f"/reports/{old['id']}")][0] == "ReportSubmitted"


def test_replacement_refusals_change_nothing(tenant):
    build_register(tenant)
    old = report(tenant, "A", "2024-H1", {"members_total": 9})
    new = report(tenant, "A", "2024-H1", {"members_total": 6}, replaces=old["id"])
    other = report(tenant, "B", "2024-H1", {"members_total": 1})
    # replacing an already replaced report
    assert_problem(
        tenant.post(
            "/reports",
            {"unit_id": "A", "period": "2024-H1", "figures": {"members_total": 7}, "replaces": old["id"]},
            expect=None,
        ),
        409,
    )
    # replacing with another unit, or another period
    assert_problem(
        tenant.post(
            "/reports",
            {"unit_id": "B", "period": "2024-H1", "figures": {"members_total": 1}, "replaces": new["id"]},
            expect=None,
        ),
        409,
    )
    assert_problem(
        tenant.post(
            "/reports",
            {"unit_id": "A", "period": "2024-Q2", "figures": {"members_total": 6}, "replaces": new["id"]},
            expect=None,
        ),
        409,
    )
    # replacing a report that does not exist
    assert_problem(
        tenant.post(
            "/reports",
            {"unit_id": "A", "period": "2024-H1", "figures": {"members_total": 6}, "replaces": "rp-nowhere"},
            expect=None,
        ),
        404,
    )
    # nothing changed: A's H1 still old (replaced by new) and new (current); B's report untouched
    listed = tenant.get("/reports", unit_id="A").get_json()["reports"]
    assert [(r["id"], r["status"]) for r in listed] == [(old["id"], "replaced"), (new["id"], "current")]
    assert tenant.get(f"/reports/{old['id']}").get_json()["replaced_by"] == new["id"]
    assert tenant.get(f"/reports/{other['id']}").get_json()["status"] == "current"
    assert len(tenant.get("/reports").get_json()["reports"]) == 3


# ---- 4. verification ----------------------------------------------------------------------
def test_verification_gives_every_status(tenant):
    build_register(tenant)
    # Q1: A at 2024-03-31 is 6 members, UA1, 33.3 %, 6/45 = 13.3 %, admitted a5 a6 = 2 -- all true
    honest = report(
        tenant,
        "A",
        "2024-Q1",
        {
            "members_total": 6,
            "unions_total": 1,
            "coverage_pct": 33.3,
            "member_worker_ratio_pct": 13.3,
            "members_admitted": 2,
        },
    )
    mixed = report(
        tenant,
        "A",
        "2024-H1",
        {
            "unions_total": 1,  # true then and now                            -> match
            "coverage_pct": 33.3,  # true then and now                            -> match
            "members_admitted": 4,  # 2 then; 4 once a7 a8 are recorded             -> backfilled
            "members_total": 9,  # 6 then, 7 now: above both                    -> over_reported
            "member_worker_ratio_pct": 10.0,  # 13.3 then, 15.6 now: below both              -> under_reported
        },
    )
    corrected = report(
        tenant,
        "A",
        "2024-H1",
        {
            "members_total": 6,  # 6 then, 7 now                                -> corrected_later
            "members_left": 0,  # 0 then, 1 now (a1 left 06-15)                -> corrected_later
        },
    )
    record_late(tenant)

    result = verify(tenant, honest["id"])
    assert set(result) == {"report_id", "verdict", "lines"}
    assert (result["report_id"], result["verdict"]) == (honest["id"], "consistent")
    # nothing recorded late is dated in A on or before 2024-03-31 (b9, 03-01, is B's)
    assert {
        line["indicator"]: (line["reported"], line["ledger_at_submission"], line["ledger_now"], line["status"])
        for line in result["lines"]
    } == {
        "members_total": (6, 6, 6, "match"),
        "unions_total": (1, 1, 1, "match"),
        "coverage_pct": (33.3, 33.3, 33.3, "match"),
        "member_worker_ratio_pct": (13.3, 13.3, 13.3, "match"),
        "members_admitted": (2, 2, 2, "match"),
    }

    result = verify(tenant, mixed["id"])
    assert (result["report_id"], result["verdict"]) == (mixed["id"], "discrepant")
    for line in result["lines"]:
        assert set(line) >= {"indicator", "reported", "ledger_at_submission", "ledger_now", "status", "late_events"}
    assert {
        line["indicator"]: (line["reported"], line["ledger_at_submission"], line["ledger_now"], line["status"])
        for line in result["lines"]
    } == {
        "unions_total": (1, 1, 1, "match"),
        "coverage_pct": (33.3, 33.3, 33.3, "match"),
        "members_admitted": (4, 2, 4, "backfilled"),
        "members_total": (9, 6, 7, "over_reported"),
        "member_worker_ratio_pct": (10.0, 13.3, 15.6, "under_reported"),
    }

    result = verify(tenant, corrected["id"])
    # corrected_later alone keeps a report consistent
    assert result["verdict"] == "consistent"
    assert {
        line["indicator"]: (line["ledger_at_submission"], line["ledger_now"], line["status"])
        for line in result["lines"]
    } == {"members_total": (6, 7, "corrected_later"), "members_left": (0, 1, "corrected_later")}


def test_late_events_name_what_was_recorded_after_the_report(tenant):
    build_register(tenant)
    mixed = report(tenant, "A", "2024-H1", {"members_admitted": 4, "members_total": 6})
    record_late(tenant)
    lines = lines_by_indicator(verify(tenant, mixed["id"]))
    # backfilled: the admissions that make 4 true are a7 and a8 (A), in the order recorded;
    # b9 was admitted in B, a1's departure cannot move an admissions count
    admitted = lines["members_admitted"]
    assert admitted["status"] == "backfilled"
    assert late(admitted) == [("MemberAdmitted", "a7"), ("MemberAdmitted", "a8")]
    for entry, mid in zip(admitted["late_events"], ("a7", "a8")):
        recorded = history(tenant, f"/members/{mid}")[0]
        assert entry["business_date"] == {"a7": "2024-04-01", "a8": "2024-05-01"}[mid]
        assert datetime.fromisoformat(entry["recorded_at"]) == datetime.fromisoformat(recorded["recorded_at"])
        assert entry["actor"] == recorded["actor"] and entry["actor"]
    # corrected_later (6 then, 7 now): a7 and a8 came in and a1 left, all dated in A's H1; not b9
    total = lines["members_total"]
    assert total["status"] == "corrected_later"
    assert late(total) == [("MemberAdmitted", "a7"), ("MemberAdmitted", "a8"), ("MemberLeft", "a1")]
    left = total["late_events"][2]
    assert left["business_date"] == "2024-06-15"
    assert datetime.fromisoformat(left["recorded_at"]) == datetime.fromisoformat(
        history(tenant, "/members/a1")[-1]["recorded_at"]
    )


def test_late_events_outside_the_reports_unit_are_left_out(tenant):
    build_register(tenant)
    # B at 2024-06-30: b1 = 1 member; P (A + B) = 6 + 1 = 7 members
    for_b = report(tenant, "B", "2024-H1", {"members_total": 1})
    for_p = report(tenant, "P", "2024-H1", {"members_total": 7})
    for_a = report(tenant, "A", "2024-H1", {"members_total": 6})
    record_late(tenant)
    # B now: b1 b9 = 2 -> corrected_later, only b9 is B's
    (line,) = verify(tenant, for_b["id"])["lines"]
    assert (line["ledger_now"], line["status"], late(line)) == (2, "corrected_later", [("MemberAdmitted", "b9")])
    # P now: A 7 + B 2 = 9; everything recorded late lies under P
    (line,) = verify(tenant, for_p["id"])["lines"]
    assert (line["ledger_now"], line["status"]) == (9, "corrected_later")
    assert sorted(late(line)) == [
        ("MemberAdmitted", "a7"),
        ("MemberAdmitted", "a8"),
        ("MemberAdmitted", "b9"),
        ("MemberLeft", "a1"),
    ]
    # A: never b9
    (line,) = verify(tenant, for_a["id"])["lines"]
    assert ("MemberAdmitted", "b9") not in late(line)
    assert late(line) == [("MemberAdmitted", "a7"), ("MemberAdmitted", "a8"), ("MemberLeft", "a1")]


def test_late_events_after_the_cut_off_are_not_listed(tenant):
    build_register(tenant)
    # H1 up to 2024-03-31: a1..a6 = 6 members
    early = report(tenant, "A", "2024-H1", {"members_total": 7}, as_of="2024-03-31")
    record_late(tenant)
    # a7 (04-01), a8 (05-01), a1 left (06-15) all lie after the cut-off 03-31; b9 is B's:
    # 6 then and now, reported 7 -> over_reported, nothing late to list
    (line,) = verify(tenant, early["id"])["lines"]
    assert (line["ledger_at_submission"], line["ledger_now"], line["status"], line["late_events"]) == (
        6,
        6,
        "over_reported",
        [],
    )


def test_verification_is_recorded_and_the_latest_shown(tenant):
    build_register(tenant)
    # A at 2024-06-30 when submitted: 6 members; reported 7
    claimed = report(tenant, "A", "2024-H1", {"members_total": 7})
    first = verify(tenant, claimed["id"])
    # 6 then, 6 now -> over_reported
    assert (first["verdict"], first["lines"][0]["status"]) == ("discrepant", "over_reported")
    got = tenant.get(f"/reports/{claimed['id']}").get_json()
    assert got["verification"]["verdict"] == "discrepant"
    assert got["verification"]["lines"][0]["status"] == "over_reported"
    admit(tenant, "a7", "UA1", "2024-04-01")
    # 6 then, 7 now -> backfilled (still discrepant: 7 was not true when sent)
    second = verify(tenant, claimed["id"])
    assert (second["verdict"], second["lines"][0]["status"], second["lines"][0]["ledger_now"]) == (
        "discrepant",
        "backfilled",
        7,
    )
    got = tenant.get(f"/reports/{claimed['id']}").get_json()
    assert got["verification"]["lines"][0]["status"] == "backfilled"
    assert [e["event"] for e in history(tenant, f"/reports/{claimed['id']}")] == [
        "ReportSubmitted",
        "ReportVerified",
        "ReportVerified",
    ]
    # the latest ReportVerified carries the verdict
    assert history(tenant, f"/reports/{claimed['id']}")[-1]["data"]["verdict"] == "discrepant"


def test_verifying_an_unknown_report_is_404(tenant):
    build_register(tenant)
    assert_problem(tenant.post("/reports/rp-nowhere/verification", expect=None), 404)


def test_reports_across_a_district_closure(tenant):
    """A closes on 2025-07-01; commune M (established 2025-07-01 under P) succeeds it."""
    build_register(tenant)
    record_late(tenant)
    # A at 2025-06-30: a2..a8 = 7 members, UA1, 1 of 3 eligible covered -> 33.3, 7/45 -> 15.6;
    # 2025-H1 flows in A: nothing admitted, nothing left
    figures = {
        "members_total": 7,
        "unions_total": 1,
        "coverage_pct": 33.3,
        "member_worker_ratio_pct": 15.6,
        "members_admitted": 0,
    }
    before = report(tenant, "A", "2025-H1", figures)
    assert before["as_of"] == "2025-06-30"
    unit(tenant, "M", kind="commune", established_on="2025-07-01", parent_id="P")
    tenant.post("/units/A/closure", {"closed_on": "2025-07-01", "successor_id": "M"})
    admit(tenant, "m9", "UA1", "2025-08-01")
    # the district's report still verifies against the district's figures at 2025-06-30
    result = verify(tenant, before["id"])
    assert result["verdict"] == "consistent"
    assert {
        line["indicator"]: (line["ledger_at_submission"], line["ledger_now"], line["status"], line["late_events"])
        for line in result["lines"]
    } == {code: (value, value, "match", []) for code, value in figures.items()}
    # a report for A's H1 sent after the closure says the same
    after = report(tenant, "A", "2025-H1", figures)
    assert verify(tenant, after["id"])["verdict"] == "consistent"
    # the commune at 2025-12-31: UA1 with a2..a8 + m9 = 8 members; WA1 WA2 WA3 moved to it -> 33.3;
    # 8/45 -> 17.8; H2 admitted m9 = 1
    assert tenant.get("/reports/draft", period="2025-H2", unit_id="M").get_json()["figures"]["members_total"] == 8
    commune = report(
        tenant,
        "M",
        "2025-H2",
        {"members_total": 8, "coverage_pct": 33.3, "member_worker_ratio_pct": 17.8, "members_admitted": 1},
    )
    result = verify(tenant, commune["id"])
    assert result["verdict"] == "consistent"
    assert {line["indicator"]: line["status"] for line in result["lines"]} == {
        "members_total": "match",
        "coverage_pct": "match",
        "member_worker_ratio_pct": "match",
        "members_admitted": "match",
    }
    # and the closed district reports nothing for H2
    assert tenant.get("/reports/draft", period="2025-H2", unit_id="A").get_json()["figures"]["members_total"] == 0
