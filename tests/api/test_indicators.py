"""GET /indicators over HTTP (the contract's "Indicators" and "Periods").

Every scenario is small enough that its figures are worked out by hand in the
comments next to the assertions. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.indicators import BASE_CODES, FLOWS, PERCENTAGES, STOCKS
from tests.scenario import admit, leave, union, unit, workplace

PROBLEM = "application/problem+json"


# ---- scenario helpers ----------------------------------------------------
def recorded_at(response) -> str:
    """The instant a 201 says its entity was recorded (an ISO instant with offset)."""
    return response.get_json()["recorded_at"]


# ---- scenarios ---------------------------------------------------------------
def build_coverage(t) -> None:
    """One district D; five workplaces registered as of 2023-01-02.

    workplace  workers             union (founded)     members (admitted)
    W40        40                  U40 (2023-03-01)    a1 2023-03-01, a2 2023-04-01, a3 2024-02-01
    W20        20                  U20 (2024-06-01)    b1 2024-06-01
    W12        12                  -                   -
    W5          5                  U5  (2023-05-01)    c1 2023-05-01
    W30        30, surveyed 8 on 2024-10-01   -        -
    """
    unit(t, "D")
    for wid, workers in (("W40", 40), ("W20", 20), ("W12", 12), ("W5", 5), ("W30", 30)):
        workplace(t, wid, "D", workers, as_of="2023-01-02")
    union(t, "U40", "W40", "D", "2023-03-01")
    union(t, "U20", "W20", "D", "2024-06-01")
    union(t, "U5", "W5", "D", "2023-05-01")
    admit(t, "a1", "U40", "2023-03-01")
    admit(t, "a2", "U40", "2023-04-01")
    admit(t, "a3", "U40", "2024-02-01")
    admit(t, "b1", "U20", "2024-06-01")
    admit(t, "c1", "U5", "2023-05-01")
    t.post("/workplaces/W30/surveys", {"workers": 8, "female_workers": 2, "as_of": "2024-10-01"})


def build_flows(t) -> None:
    """One district D, three unions, members admitted and leaving on period boundaries.

    U2 founded 2020-06-01 (W2); p1 admitted 2021-01-01, left 2024-03-15; U2 dissolved 2024-09-30
    U1 founded 2024-01-01 (W1); m4 admitted 2023-12-31 to U2, moved to U1 2024-01-01, left 2024-06-30
                                m1 admitted 2024-01-01
                                m2 admitted 2024-05-01
                                m3 admitted 2024-06-30
                                m5 admitted 2024-07-01, left 2024-12-31
    U3 founded 2024-05-31 (W3); no members
    """
    unit(t, "D")
    for wid in ("W1", "W2", "W3"):
        workplace(t, wid, "D", 50)
    union(t, "U2", "W2", "D", "2020-06-01")
    union(t, "U1", "W1", "D", "2024-01-01")
    union(t, "U3", "W3", "D", "2024-05-31")
    admit(t, "p1", "U2", "2021-01-01")
    admit(t, "m4", "U2", "2023-12-31")
    t.post("/members/m4/transfer", {"to_union_id": "U1", "effective_on": "2024-01-01"})
    admit(t, "m1", "U1", "2024-01-01")
    admit(t, "m2", "U1", "2024-05-01")
    admit(t, "m3", "U1", "2024-06-30")
    admit(t, "m5", "U1", "2024-07-01")
    leave(t, "p1", "2024-03-15")
    leave(t, "m4", "2024-06-30")
    leave(t, "m5", "2024-12-31")
    t.post("/unions/U2/dissolution", {"dissolved_on": "2024-09-30", "reason": "enterprise closed"})


def build_transfer(t) -> str:
    """Province P with districts A and B; zone C is a child unit of A.

    UT (workplace WT under A) founded 2020-01-01 under A; t1 admitted 2024-03-01, t3 admitted 2020-02-01
    UD (workplace WD under A) founded 2019-01-01 under A; no members
    UC (workplace WC under C) founded 2024-02-01 under C; c1 admitted 2024-02-01
    --- instant returned: everything above recorded, nothing below ---
    UT and UD transferred A -> B effective 2024-07-01
    t2 admitted to UT 2024-08-01; t3 leaves 2024-09-15; UD dissolved 2024-10-01
    """
    unit(t, "P", kind="other")
    unit(t, "A", parent_id="P")
    unit(t, "B", kind="sector", parent_id="P")
    unit(t, "C", kind="industrial_zone", established_on="2019-01-01", parent_id="A")
    workplace(t, "WT", "A", 30)
    workplace(t, "WD", "A", 12, as_of="2019-01-01")
    workplace(t, "WC", "C", 15)
    union(t, "UT", "WT", "A", "2020-01-01")
    union(t, "UD", "WD", "A", "2019-01-01")
    union(t, "UC", "WC", "C", "2024-02-01")
    admit(t, "t3", "UT", "2020-02-01")
    admit(t, "c1", "UC", "2024-02-01")
    before_transfer = recorded_at(admit(t, "t1", "UT", "2024-03-01"))
    t.post("/unions/UT/transfer", {"to_unit_id": "B", "effective_on": "2024-07-01"})
    t.post("/unions/UD/transfer", {"to_unit_id": "B", "effective_on": "2024-07-01"})
    admit(t, "t2", "UT", "2024-08-01")
    leave(t, "t3", "2024-09-15")
    t.post("/unions/UD/dissolution", {"dissolved_on": "2024-10-01", "reason": "merged"})
    return before_transfer


def build_closure(t) -> str:
    """Province P; district D (2018) with child zone Z (2019); commune M established 2025-07-01.

    WD1 (25 workers, under D): UD1 founded 2020-01-01 under D;
        d3 admitted 2021-01-01, left 2025-02-01; d1 admitted 2025-03-01
    WZ (15 workers, under Z): UZ founded 2025-05-01 under Z; z1 admitted 2025-05-01
    --- instant returned: everything above recorded ---
    D closed on 2025-07-01, successor M
    d2 admitted to UD1 on 2025-07-01
    """
    unit(t, "P", kind="other")
    unit(t, "D", parent_id="P")
    unit(t, "Z", kind="industrial_zone", established_on="2019-01-01", parent_id="D")
    unit(t, "M", kind="commune", established_on="2025-07-01", parent_id="P")
    workplace(t, "WD1", "D", 25)
    workplace(t, "WZ", "Z", 15)
    union(t, "UD1", "WD1", "D", "2020-01-01")
    union(t, "UZ", "WZ", "Z", "2025-05-01")
    admit(t, "d3", "UD1", "2021-01-01")
    leave(t, "d3", "2025-02-01")
    admit(t, "d1", "UD1", "2025-03-01")
    before_closure = recorded_at(admit(t, "z1", "UZ", "2025-05-01"))
    t.post("/units/D/closure", {"closed_on": "2025-07-01", "successor_id": "M"})
    admit(t, "d2", "UD1", "2025-07-01")
    return before_closure


def build_late_entries(t) -> tuple[str, str]:
    """District D, W (30 workers), U founded 2023-01-01, k1 admitted 2023-06-01.

    then a1 admitted 2024-01-15                   -> instant T1
    then 'late' admitted, back-dated 2024-03-01   -> instant T2
    then k1's departure on 2024-02-01 recorded late
    """
    unit(t, "D")
    workplace(t, "W", "D", 30, as_of="2023-01-01")
    union(t, "U", "W", "D", "2023-01-01")
    admit(t, "k1", "U", "2023-06-01")
    t1 = recorded_at(admit(t, "a1", "U", "2024-01-15"))
    t2 = recorded_at(admit(t, "late", "U", "2024-03-01"))
    leave(t, "k1", "2024-02-01")
    return t1, t2


def pick(figures: dict, *codes: str) -> dict:
    return {code: figures[code] for code in codes}


# ---- response shape ------------------------------------------------------------
def test_answer_shape_and_number_types(tenant):
    build_coverage(tenant)
    body = tenant.get("/indicators", period="2024").get_json()
    assert set(body) == {"period", "unit_id", "as_of", "known_at", "figures"}
    assert (body["period"], body["unit_id"], body["as_of"], body["known_at"]) == ("2024", None, "2024-12-31", None)
    figures = body["figures"]
    assert set(BASE_CODES) <= set(figures)
    for code in STOCKS + FLOWS:
        if code in PERCENTAGES:
            assert isinstance(figures[code], float), (code, figures[code])
        else:
            assert isinstance(figures[code], int) and not isinstance(figures[code], bool), (code, figures[code])


@pytest.mark.parametrize(
    "period, as_of",
    [
        ("2024", "2024-12-31"),
        ("2024-H1", "2024-06-30"),
        ("2024-H2", "2024-12-31"),
        ("2024-Q3", "2024-09-30"),
        ("2024-02", "2024-02-29"),
        ("2018-2023", "2023-12-31"),
    ],
)
def test_as_of_defaults_to_the_periods_last_day(tenant, period, as_of):
    unit(tenant, "D")
    body = tenant.get("/indicators", period=period, unit_id="D").get_json()
    assert (body["period"], body["unit_id"], body["as_of"]) == (period, "D", as_of)


def test_indicators_param_selects_codes_and_thresholds(tenant):
    build_coverage(tenant)
    figures = tenant.figures("2024", indicators="workplaces_eligible@25,coverage_pct@25,members_total")
    # at 2024-12-31 only W40 has >= 25 workers (W30 was surveyed down to 8); U40 covers it
    assert figures == {"workplaces_eligible@25": 1, "coverage_pct@25": 100.0, "members_total": 5}


# ---- stocks: workplaces and coverage ---------------------------------------------
def test_coverage_at_year_end(tenant):
    build_coverage(tenant)
    figures = tenant.figures("2024")
    # as of 2024-12-31: members a1 a2 a3 b1 c1; unions U40 U20 U5
    # eligible (>= 10): W40 W20 W12 (W30 now 8, W5 5); covered: W40 W20 -> 2/3 = 66.7
    # members in covered workplaces: U40 3 + U20 1 = 4 over 40 + 20 = 60 workers -> 6.7
    assert pick(
        figures,
        "members_total",
        "unions_total",
        "workplaces_eligible",
        "workplaces_covered",
        "coverage_pct",
        "member_worker_ratio_pct",
    ) == {
        "members_total": 5,
        "unions_total": 3,
        "workplaces_eligible": 3,
        "workplaces_covered": 2,
        "coverage_pct": 66.7,
        "member_worker_ratio_pct": 6.7,
    }


def test_coverage_with_a_threshold(tenant):
    build_coverage(tenant)
    codes = "workplaces_eligible@25,workplaces_covered@25,coverage_pct@25,member_worker_ratio_pct@25"
    # 2024-06-30: >= 25 workers: W40, W30 (still 30); covered: W40 -> 50.0; U40's 3 members / 40 = 7.5
    assert tenant.figures("2024-H1", indicators=codes) == {
        "workplaces_eligible@25": 2,
        "workplaces_covered@25": 1,
        "coverage_pct@25": 50.0,
        "member_worker_ratio_pct@25": 7.5,
    }
    # 2024-12-31: >= 25 workers: W40 only -> 1 of 1 = 100.0
    assert tenant.figures("2024", indicators=codes) == {
        "workplaces_eligible@25": 1,
        "workplaces_covered@25": 1,
        "coverage_pct@25": 100.0,
        "member_worker_ratio_pct@25": 7.5,
    }


def test_a_union_covers_its_workplace_from_its_founding_day(tenant):
    build_coverage(tenant)
    # 2024-05-31: eligible W40 W20 W12 W30 = 4; U20 not founded yet -> covered W40 = 1 -> 25.0; 3/40 = 7.5
    may = tenant.figures("2024-05")
    assert pick(may, "workplaces_eligible", "workplaces_covered", "coverage_pct", "member_worker_ratio_pct") == {
        "workplaces_eligible": 4,
        "workplaces_covered": 1,
        "coverage_pct": 25.0,
        "member_worker_ratio_pct": 7.5,
    }
    # 2024-06-01 (U20 founded, b1 admitted that day): covered 2 of 4 -> 50.0; (3 + 1) / (40 + 20) -> 6.7
    june_1 = tenant.figures("2024-06", as_of="2024-06-01")
    assert pick(june_1, "workplaces_covered", "coverage_pct", "member_worker_ratio_pct") == {
        "workplaces_covered": 2,
        "coverage_pct": 50.0,
        "member_worker_ratio_pct": 6.7,
    }


def test_a_survey_counts_only_from_its_date(tenant):
    build_coverage(tenant)
    # W30 counts 30 workers until the survey of 2024-10-01 puts it at 8
    assert tenant.figures("2024-Q3")["workplaces_eligible"] == 4  # as of 2024-09-30
    assert tenant.figures("2024-Q4", as_of="2024-10-01")["workplaces_eligible"] == 3


def test_coverage_is_zero_where_nothing_is_eligible(tenant):
    build_coverage(tenant)
    # 2022-12-31: no workplace registered yet
    figures = tenant.figures("2022")
    assert pick(figures, "workplaces_eligible", "workplaces_covered", "coverage_pct", "member_worker_ratio_pct") == {
        "workplaces_eligible": 0,
        "workplaces_covered": 0,
        "coverage_pct": 0.0,
        "member_worker_ratio_pct": 0.0,
    }
    assert isinstance(figures["coverage_pct"], float)


# ---- flows and boundary days -------------------------------------------------------
FLOW_AND_STOCK = (
    "members_admitted",
    "members_left",
    "members_net_growth",
    "unions_founded",
    "unions_dissolved",
    "members_total",
    "unions_total",
)


@pytest.mark.parametrize(
    "period, as_of, expected",
    [
        # admitted m1 m2 m3 m5; left p1 m4 m5; founded U1 U3; dissolved U2
        # at 2024-12-31: m1 m2 m3 (m5 left ON as_of); unions U1 U3
        ("2024", None, (4, 3, 1, 2, 1, 3, 2)),
        # admitted m1 (first day) m2 m3 (last day); left p1 m4 (last day); founded U1 U3
        # at 2024-06-30: m1 m2 m3 (m3 admitted ON as_of counts, m4 left ON as_of does not); unions U1 U2 U3
        ("2024-H1", None, (3, 2, 1, 2, 0, 3, 3)),
        # admitted m5 (first day); U2 dissolved on the last day
        # at 2024-09-30: m1 m2 m3 m5; unions U1 U3 (U2 dissolved ON as_of)
        ("2024-Q3", None, (1, 0, 1, 0, 1, 4, 2)),
        # left m5 (last day): net growth -1
        ("2024-Q4", None, (0, 1, -1, 0, 0, 3, 2)),
        # admitted m2 (first day); U3 founded on the last day and counted in the stock
        # at 2024-05-31: m4 m1 m2; unions U2 U1 U3
        ("2024-05", None, (1, 0, 1, 1, 0, 3, 3)),
        # term 2023-2028 up to 2024-06-30: admitted m4 (2023-12-31) m1 m2 m3; left p1 m4; founded U1 U3
        ("2023-2028", "2024-06-30", (4, 2, 2, 2, 0, 3, 3)),
        # term up to 2025-12-31: admitted m4 m1 m2 m3 m5; left p1 m4 m5; founded U1 U3; dissolved U2
        ("2023-2028", "2025-12-31", (5, 3, 2, 2, 1, 3, 2)),
        # a year asked as of mid-year counts its flows only up to as_of: the same as 2024-H1
        ("2024", "2024-06-30", (3, 2, 1, 2, 0, 3, 3)),
    ],
)
def test_flows_and_stocks_by_period(tenant, period, as_of, expected):
    build_flows(tenant)
    params = {"as_of": as_of} if as_of else {}
    figures = tenant.figures(period, **params)
    assert tuple(figures[c] for c in FLOW_AND_STOCK) == expected, dict(zip(FLOW_AND_STOCK, expected))


def test_boundary_day_stocks(tenant):
    build_flows(tenant)
    # 2024-06-29: m4 (leaves tomorrow), m1, m2; m3 comes tomorrow
    assert tenant.figures("2024-06", as_of="2024-06-29")["members_total"] == 3
    # 2024-07-01: m1 m2 m3 m5 (m5 admitted ON as_of)
    assert tenant.figures("2024-07", as_of="2024-07-01")["members_total"] == 4
    # 2024-09-29: U2 still active (dissolved 2024-09-30): U1 U2 U3
    assert tenant.figures("2024-09", as_of="2024-09-29")["unions_total"] == 3
    # 2024-12-30: m5 still a member: m1 m2 m3 m5
    assert tenant.figures("2024-12", as_of="2024-12-30")["members_total"] == 4


# ---- unit scoping: transfers -----------------------------------------------------------
def test_transferred_union_counts_under_old_unit_before_and_new_unit_from_the_date(tenant):
    build_transfer(tenant)
    stocks = ("unions_total", "members_total")
    # 2024-06-30: A holds UT (t1 t3), UD, and via C: UC (c1) -> 3 unions, 3 members; B nothing
    assert pick(tenant.figures("2024-H1", unit_id="A"), *stocks) == {"unions_total": 3, "members_total": 3}
    assert pick(tenant.figures("2024-H1", unit_id="B"), *stocks) == {"unions_total": 0, "members_total": 0}
    # 2024-07-01: A keeps UC (c1); B holds UT (t1 t3) and UD
    assert pick(tenant.figures("2024-07", unit_id="A", as_of="2024-07-01"), *stocks) == {
        "unions_total": 1,
        "members_total": 1,
    }
    assert pick(tenant.figures("2024-07", unit_id="B", as_of="2024-07-01"), *stocks) == {
        "unions_total": 2,
        "members_total": 2,
    }
    # 2024-12-31: B holds UT (t1 t2; t3 left), UD dissolved; A holds UC (c1)
    assert pick(tenant.figures("2024", unit_id="B"), *stocks) == {"unions_total": 1, "members_total": 2}
    assert pick(tenant.figures("2024", unit_id="A"), *stocks) == {"unions_total": 1, "members_total": 1}


def test_parent_unit_counts_its_child_units(tenant):
    build_transfer(tenant)
    stocks = ("unions_total", "members_total")
    # C alone: UC (c1)
    assert pick(tenant.figures("2024", unit_id="C"), *stocks) == {"unions_total": 1, "members_total": 1}
    # P = A + B: 2024-06-30: UT UD UC, t1 t3 c1; 2024-12-31: UT UC, t1 t2 c1
    assert pick(tenant.figures("2024-H1", unit_id="P"), *stocks) == {"unions_total": 3, "members_total": 3}
    assert pick(tenant.figures("2024", unit_id="P"), *stocks) == {"unions_total": 2, "members_total": 3}
    # workplaces stay where registered: A holds WT (30) WD (12) and via C WC (15) at 2024-06-30
    assert tenant.figures("2024-H1", unit_id="A")["workplaces_eligible"] == 3
    assert tenant.figures("2024-H1", unit_id="C")["workplaces_eligible"] == 1


def test_flows_count_under_the_unit_holding_the_union_on_the_event_date(tenant):
    build_transfer(tenant)
    flows = ("members_admitted", "members_left", "members_net_growth", "unions_founded", "unions_dissolved")
    # 2024 under A: t1 (03-01, UT under A), c1 (02-01, UC under C in A); UC founded
    assert pick(tenant.figures("2024", unit_id="A"), *flows) == {
        "members_admitted": 2,
        "members_left": 0,
        "members_net_growth": 2,
        "unions_founded": 1,
        "unions_dissolved": 0,
    }
    # 2024 under B: t2 admitted 08-01, t3 left 09-15, UD dissolved 10-01, all after the transfer
    assert pick(tenant.figures("2024", unit_id="B"), *flows) == {
        "members_admitted": 1,
        "members_left": 1,
        "members_net_growth": 0,
        "unions_founded": 0,
        "unions_dissolved": 1,
    }
    # P sees both
    assert pick(tenant.figures("2024", unit_id="P"), *flows) == {
        "members_admitted": 3,
        "members_left": 1,
        "members_net_growth": 2,
        "unions_founded": 1,
        "unions_dissolved": 1,
    }


# ---- unit scoping: closure with a successor --------------------------------------------
def test_closed_district_holds_everything_until_closure_then_the_successor_does(tenant):
    build_closure(tenant)
    codes = ("unions_total", "members_total", "workplaces_eligible", "workplaces_covered", "coverage_pct")
    # 2025-06-30: D holds UD1 (d1) and, via Z, UZ (z1); WD1 25, WZ 15 both eligible and covered
    assert pick(tenant.figures("2025-H1", unit_id="D"), *codes) == {
        "unions_total": 2,
        "members_total": 2,
        "workplaces_eligible": 2,
        "workplaces_covered": 2,
        "coverage_pct": 100.0,
    }
    assert pick(tenant.figures("2025-H1", unit_id="M"), *codes) == {
        "unions_total": 0,
        "members_total": 0,
        "workplaces_eligible": 0,
        "workplaces_covered": 0,
        "coverage_pct": 0.0,
    }
    # 2025-07-01 on: M holds UD1 (d1 d2) and, via Z, UZ (z1); D nothing
    assert pick(tenant.figures("2025-07", unit_id="M", as_of="2025-07-01"), *codes) == {
        "unions_total": 2,
        "members_total": 3,
        "workplaces_eligible": 2,
        "workplaces_covered": 2,
        "coverage_pct": 100.0,
    }
    assert pick(tenant.figures("2025-H2", unit_id="D"), *codes) == {
        "unions_total": 0,
        "members_total": 0,
        "workplaces_eligible": 0,
        "workplaces_covered": 0,
        "coverage_pct": 0.0,
    }


def test_flows_before_closure_stay_under_the_district(tenant):
    build_closure(tenant)
    flows = ("members_admitted", "members_left", "unions_founded")
    # 2025 under D: d1 (03-01), z1 (05-01) admitted, d3 left (02-01), UZ founded (05-01)
    assert pick(tenant.figures("2025", unit_id="D"), *flows) == {
        "members_admitted": 2,
        "members_left": 1,
        "unions_founded": 1,
    }
    # 2025 under M: only d2, admitted on the closure day
    assert pick(tenant.figures("2025", unit_id="M"), *flows) == {
        "members_admitted": 1,
        "members_left": 0,
        "unions_founded": 0,
    }


def test_whole_tenant_figures_are_unchanged_by_the_closure(tenant):
    before_closure = build_closure(tenant)
    # H1 2025 as the register stood before the closure was recorded, and now: the same
    then = tenant.figures("2025-H1", known_at=before_closure)
    now = tenant.figures("2025-H1")
    assert now == then
    # by hand: unions UD1 UZ; members d1 z1; admitted d1 z1; left d3; founded UZ; WD1 WZ covered
    assert pick(
        now, "unions_total", "members_total", "members_admitted", "members_left", "unions_founded", "workplaces_covered"
    ) == {
        "unions_total": 2,
        "members_total": 2,
        "members_admitted": 2,
        "members_left": 1,
        "unions_founded": 1,
        "workplaces_covered": 2,
    }
    # the province above both units sees the whole tenant, before and after the closure day
    assert tenant.figures("2025-H1", unit_id="P") == now
    assert tenant.figures("2025", unit_id="P") == tenant.figures("2025")


# ---- known_at ---------------------------------------------------------------------------
def test_known_at_leaves_out_later_recorded_entries(tenant):
    t1, t2 = build_late_entries(tenant)
    codes = ("members_total", "members_admitted", "members_left", "members_net_growth")
    # known at T1: 'late' not recorded yet: k1 a1 at 2024-06-30; admitted a1
    assert pick(tenant.figures("2024-H1", known_at=t1), *codes) == {
        "members_total": 2,
        "members_admitted": 1,
        "members_left": 0,
        "members_net_growth": 1,
    }
    # known at T2: 'late' included; k1's departure not recorded yet, so k1 still counts
    assert pick(tenant.figures("2024-H1", known_at=t2), *codes) == {
        "members_total": 3,
        "members_admitted": 2,
        "members_left": 0,
        "members_net_growth": 2,
    }
    # now: a1 late; k1 left 2024-02-01
    assert pick(tenant.figures("2024-H1"), *codes) == {
        "members_total": 2,
        "members_admitted": 2,
        "members_left": 1,
        "members_net_growth": 1,
    }


def test_known_at_is_echoed(tenant):
    t1, _ = build_late_entries(tenant)
    body = tenant.get("/indicators", period="2024-H1", known_at=t1).get_json()
    assert body["known_at"] is not None
    assert datetime.fromisoformat(body["known_at"]) == datetime.fromisoformat(t1)


def test_known_at_before_a_union_transfer_counts_it_under_the_old_unit(tenant):
    before_transfer = build_transfer(tenant)
    stocks = ("unions_total", "members_total")
    # as known before the transfers (and t2, t3's departure, UD's dissolution) were recorded:
    # 2024-12-31 A holds UT (t1 t3), UD and UC (c1); B nothing
    assert pick(tenant.figures("2024", unit_id="A", known_at=before_transfer), *stocks) == {
        "unions_total": 3,
        "members_total": 3,
    }
    assert pick(tenant.figures("2024", unit_id="B", known_at=before_transfer), *stocks) == {
        "unions_total": 0,
        "members_total": 0,
    }


# ---- errors -------------------------------------------------------------------------------
def assert_problem(response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if field:
        assert field in body.get("errors", {}), body


@pytest.mark.parametrize("period", ["2024-Q5", "2024-13", "2024-H3", "24", "2028-2023", "2024-1", "year"])
def test_bad_period_is_422_naming_period(tenant, period):
    assert_problem(tenant.get("/indicators", expect=None, period=period), 422, "period")


def test_missing_period_is_422_naming_period(tenant):
    assert_problem(tenant.get("/indicators", expect=None), 422, "period")


@pytest.mark.parametrize("codes", ["members_total,bogus", "coverage_pct@x", "members_admitted@25"])
def test_unknown_indicator_is_422(tenant, codes):
    assert_problem(tenant.get("/indicators", expect=None, period="2024", indicators=codes), 422, "indicators")


def test_unknown_unit_is_404(tenant):
    unit(tenant, "D")
    assert_problem(tenant.get("/indicators", expect=None, period="2024", unit_id="nowhere"), 404)


def test_future_as_of_is_422(tenant):
    assert_problem(tenant.get("/indicators", expect=None, period="2099", as_of="2099-06-30"), 422, "as_of")
