"""The plans' other indicators (API.md part 2), over HTTP, on SQLite and PostgreSQL.

One small province, its figures worked out by hand in the comments:

unit  workplace (sector, workers)    union (founded)            members (admitted 2019-03-01)
D1    WS (state_agency, 30)          US (2019-02-01)            s0-s9: 10 men
D1    WP (private_enterprise, 40)    UP (2019-02-01), to D2     p0-p9: 10 women
                                     on 2025-07-01
D2    WF (fdi_enterprise, 50)        UF (2019-02-01)            f0-f11: 12 women
D2    WN (private_enterprise, 8)     UN (2019-02-01)            n0-n2: 3 women
D2    WX (private_enterprise, 20)    -                          -

Covered workplaces (at least 10 workers, a union): WS, WP, WF.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from domain.clock import vietnam_today
from tests.scenario import unit

PLAN_CODES = (
    "unions_rated_good_pct",
    "cla_coverage_pct",
    "womens_committee_pct",
    "members_with_card_pct",
    "dues_collected_pct",
    "officials_trained_pct",
    "workers_conference_pct",
)


def record(t, path: str, body: dict) -> dict:
    """One of the plans' register calls (API.md part 2): 201 with the entity."""
    return t.post(path, body).get_json()


def instant() -> str:
    """Now, between two recordings: what was recorded before it and not what comes after."""
    time.sleep(0.01)
    now = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    return now


def build(t) -> dict[str, str]:
    """The province above and its records; returns the instants before each late record."""
    unit(t, "D1")
    unit(t, "D2")
    for wid, sector, workers, uid in (
        ("WS", "state_agency", 30, "D1"),
        ("WP", "private_enterprise", 40, "D1"),
        ("WF", "fdi_enterprise", 50, "D2"),
        ("WN", "private_enterprise", 8, "D2"),
        ("WX", "private_enterprise", 20, "D2"),
    ):
        t.post(
            "/workplaces",
            {
                "id": wid,
                "name": f"Workplace {wid}",
                "sector": sector,
                "unit_id": uid,
                "workers": workers,
                "female_workers": workers // 2,
                "as_of": "2019-01-01",
            },
        )
    for union_id, wid, uid in (("US", "WS", "D1"), ("UP", "WP", "D1"), ("UF", "WF", "D2"), ("UN", "WN", "D2")):
        t.post(
            "/unions",
            {
                "id": union_id,
                "name": f"Union {union_id}",
                "workplace_id": wid,
                "unit_id": uid,
                "founded_on": "2019-02-01",
            },
        )
    for prefix, union_id, count, gender in (
        ("s", "US", 10, "male"),
        ("p", "UP", 10, "female"),
        ("f", "UF", 12, "female"),
        ("n", "UN", 3, "female"),
    ):
        for n in range(count):
            t.post(
                "/members",
                {
                    "id": f"{prefix}{n}",
                    "union_id": union_id,
                    "admitted_on": "2019-03-01",
                    "full_name": f"Member {prefix}{n}",
                    "gender": gender,
                },
            )
    t.post("/unions/UP/transfer", {"to_unit_id": "D2", "effective_on": "2025-07-01"})
    # ratings: US good 2025; UP fair 2025 (replaced below); UF poor 2025; UN poor 2024 only
    record(t, "/unions/US/ratings", {"year": 2025, "rating": "good", "decided_on": "2025-12-15"})
    record(t, "/unions/UP/ratings", {"year": 2025, "rating": "fair", "decided_on": "2025-12-15"})
    record(t, "/unions/UF/ratings", {"year": 2025, "rating": "poor", "decided_on": "2025-12-15"})
    record(t, "/unions/UN/ratings", {"year": 2024, "rating": "poor", "decided_on": "2024-12-15"})
    # women's committees: UP's (non-state, 10 women); US's is a state union's, outside the target
    record(t, "/unions/UP/womens-committee", {"founded_on": "2024-05-01"})
    record(t, "/unions/US/womens-committee", {"founded_on": "2024-05-01"})
    # agreements: WS in force 2024-2026; WP's expired at the end of 2024; WF's from 2025-03-01
    record(t, "/workplaces/WS/agreements", {"signed_on": "2024-01-01", "expires_on": "2026-12-31"})
    record(t, "/workplaces/WP/agreements", {"signed_on": "2022-01-01", "expires_on": "2024-12-31"})
    record(t, "/workplaces/WF/agreements", {"signed_on": "2025-03-01", "expires_on": "2027-02-28"})
    # conferences: WS in 2025, WP in 2024 (WF's 2025 conference is recorded late, below)
    record(t, "/workplaces/WS/conferences", {"held_on": "2025-03-10"})
    record(t, "/workplaces/WP/conferences", {"held_on": "2024-11-01"})
    # cards: every UP member on 2024-01-10 (p0 again, a reprint, on 2025-06-01); six of UF on 2025-02-01
    for n in range(10):
        record(t, f"/members/p{n}/cards", {"card_no": f"C-P{n}", "issued_on": "2024-01-10"})
    record(t, "/members/p0/cards", {"card_no": "C-P0", "issued_on": "2025-06-01"})
    for n in range(6):
        record(t, f"/members/f{n}/cards", {"card_no": f"C-F{n}", "issued_on": "2025-02-01"})
    # dues: UP 2025-Q1 800k of 1M (replaced below), 2025-Q3 1.1M of 1M (arrears); UF 2025 1.5M of 2M;
    # US 2024-Q4 500k of 500k
    record(t, "/unions/UP/dues", {"period": "2025-Q1", "due": 1_000_000, "collected": 800_000})
    record(t, "/unions/UP/dues", {"period": "2025-Q3", "due": 1_000_000, "collected": 1_100_000})
    record(t, "/unions/UF/dues", {"period": "2025", "due": 2_000_000, "collected": 1_500_000})
    record(t, "/unions/US/dues", {"period": "2024-Q4", "due": 500_000, "collected": 500_000})
    # training 2025: US 5 of 5, UP 2 of 4 (replaced below), UF 3 of 6
    record(t, "/unions/US/training", {"year": 2025, "officials": 5, "trained": 5})
    record(t, "/unions/UP/training", {"year": 2025, "officials": 4, "trained": 2})
    record(t, "/unions/UF/training", {"year": 2025, "officials": 6, "trained": 3})
    before = instant()
    # the late and replacing records
    record(t, "/unions/UP/ratings", {"year": 2025, "rating": "excellent", "decided_on": "2025-12-20"})
    record(t, "/workplaces/WF/conferences", {"held_on": "2025-10-15"})
    record(t, "/members/n0/cards", {"card_no": "C-N0", "issued_on": "2025-05-01"})
    record(t, "/unions/UP/dues", {"period": "2025-Q1", "due": 1_000_000, "collected": 900_000})
    record(t, "/unions/UP/training", {"year": 2025, "officials": 4, "trained": 3})
    return {"before": before}


def figures(t, period: str = "2025", **params) -> dict:
    return t.figures(period, indicators=",".join(PLAN_CODES), **params)


def test_plan_indicators_worked_by_hand(tenant):
    marks = build(tenant)
    now = figures(tenant, as_of="2025-12-31")
    then = figures(tenant, as_of="2025-12-31", known_at=marks["before"])
    # rated: US good, UP excellent (fair before the replacement), UF poor, UN poor (its 2024 rating)
    assert (now["unions_rated_good_pct"], then["unions_rated_good_pct"]) == (50.0, 25.0)
    # agreements in force on 2025-12-31: WS, WF of WS, WP, WF
    assert now["cla_coverage_pct"] == then["cla_coverage_pct"] == 66.7
    # committees among UP and UF (US is a state union, UN has 3 women): UP's
    assert now["womens_committee_pct"] == then["womens_committee_pct"] == 50.0
    # cards: 10 of UP (p0's reprint counted once) + 6 of UF (+ n0 late) among 35 members
    assert (now["members_with_card_pct"], then["members_with_card_pct"]) == (48.6, 45.7)
    # dues 2025: (900k + 1.1M + 1.5M) / 4M; before the replacement (800k + ...) / 4M
    assert (now["dues_collected_pct"], then["dues_collected_pct"]) == (87.5, 85.0)
    # training 2025: (5 + 3 + 3) / 15; before the replacement (5 + 2 + 3) / 15
    assert (now["officials_trained_pct"], then["officials_trained_pct"]) == (73.3, 66.7)
    # conferences in 2025 among WS, WP, WF: WS, and WF (recorded late)
    assert (now["workers_conference_pct"], then["workers_conference_pct"]) == (66.7, 33.3)


def test_dates_that_matter(tenant):
    build(tenant)
    # UP's excellent rating is decided on 12-20: on 12-16 its fair one stands
    assert figures(tenant, as_of="2025-12-16")["unions_rated_good_pct"] == 25.0
    # in mid-2025 only UN's 2024 rating is decided: 0 of 1
    assert figures(tenant, as_of="2025-06-30")["unions_rated_good_pct"] == 0.0
    # an agreement is in force on its expiry day: WS and WP on 2024-12-31, WS alone the day after
    assert figures(tenant, "2024", as_of="2024-12-31")["cla_coverage_pct"] == 66.7
    assert figures(tenant, as_of="2025-01-01")["cla_coverage_pct"] == 33.3
    # cards issued by 2024-12-31: UP's 10 of 35
    assert figures(tenant, "2024", as_of="2024-12-31")["members_with_card_pct"] == 28.6
    # dues of the periods within 2025-Q1 (UF's yearly record is not): UP 900k of 1M; 2024: US's
    assert figures(tenant, "2025-Q1", as_of="2025-03-31")["dues_collected_pct"] == 90.0
    assert figures(tenant, "2024", as_of="2024-12-31")["dues_collected_pct"] == 100.0
    # conferences by 2025-06-30: WS alone
    assert figures(tenant, as_of="2025-06-30")["workers_conference_pct"] == 33.3
    # nothing rated, trained or due in 2023: 0 where the denominator is 0
    early = figures(tenant, "2023", as_of="2023-12-31")
    assert (early["unions_rated_good_pct"], early["dues_collected_pct"], early["officials_trained_pct"]) == (0, 0, 0)


def test_union_transferred_mid_year(tenant):
    build(tenant)
    d1 = figures(tenant, as_of="2025-12-31", unit_id="D1")
    d2 = figures(tenant, as_of="2025-12-31", unit_id="D2")
    mid_d1 = figures(tenant, as_of="2025-06-30", unit_id="D1")
    # on 2025-12-31 D1 holds US alone; D2 holds UP, UF, UN
    assert (d1["unions_rated_good_pct"], d2["unions_rated_good_pct"]) == (100.0, 33.3)
    # workplaces stay where they were registered: WS, WP in D1, WF in D2
    assert (d1["cla_coverage_pct"], d2["cla_coverage_pct"]) == (50.0, 100.0)
    assert (d1["womens_committee_pct"], d2["womens_committee_pct"]) == (0.0, 50.0)
    assert (d1["members_with_card_pct"], d2["members_with_card_pct"]) == (0.0, 68.0)  # 17 of 25
    # dues are placed on their period's last day: UP's Q1 under D1, its Q3 under D2
    assert (d1["dues_collected_pct"], d2["dues_collected_pct"]) == (90.0, 86.7)  # 0.9/1; 2.6/3
    assert (d1["officials_trained_pct"], d2["officials_trained_pct"]) == (100.0, 60.0)  # 5/5; 6/10
    # on 2025-06-30 UP was still in D1: US and UP
    assert mid_d1["officials_trained_pct"] == 88.9  # 8 / 9
    assert mid_d1["members_with_card_pct"] == 50.0  # 10 of 20
    assert mid_d1["womens_committee_pct"] == 100.0  # UP's, of UP


def test_sector_split_and_breakdowns(tenant):
    build(tenant)
    body = tenant.get(
        "/indicators", period="2025", as_of="2025-12-31", group_by="sector", indicators=",".join(PLAN_CODES)
    ).get_json()
    groups = {g["key"]: g["figures"] for g in body["groups"]}
    # rated: state US good; non-state UP excellent, UN poor; FDI UF poor
    assert [groups[k]["unions_rated_good_pct"] for k in ("state", "non_state", "fdi")] == [100.0, 50.0, 0.0]
    assert [groups[k]["cla_coverage_pct"] for k in ("state", "non_state", "fdi")] == [100.0, 0.0, 100.0]
    assert [groups[k]["womens_committee_pct"] for k in ("state", "non_state", "fdi")] == [0.0, 100.0, 0.0]
    assert [groups[k]["dues_collected_pct"] for k in ("state", "non_state", "fdi")] == [0.0, 100.0, 75.0]
    assert [groups[k]["members_with_card_pct"] for k in ("state", "non_state", "fdi")] == [0.0, 84.6, 50.0]
    by_unit = tenant.get(
        "/indicators", period="2025", as_of="2025-12-31", group_by="unit", indicators=",".join(PLAN_CODES)
    ).get_json()
    units = {g["key"]: g["figures"] for g in by_unit["groups"]}
    assert units["D1"]["officials_trained_pct"] == 100.0 and units["D2"]["officials_trained_pct"] == 60.0
    assert units["D1"]["dues_collected_pct"] == 90.0 and units["D2"]["dues_collected_pct"] == 86.7
    by_union = tenant.get(
        "/indicators", period="2025", as_of="2025-12-31", group_by="union", indicators=",".join(PLAN_CODES)
    ).get_json()
    unions = {g["key"]: g["figures"] for g in by_union["groups"]}
    assert {u: f["unions_rated_good_pct"] for u, f in unions.items()} == {
        "UF": 0.0,
        "UN": 0.0,
        "UP": 100.0,
        "US": 100.0,
    }
    assert {u: f["dues_collected_pct"] for u, f in unions.items()} == {"UF": 75.0, "UN": 0.0, "UP": 100.0, "US": 0.0}
    assert unions["UP"]["cla_coverage_pct"] is None  # a union is no place of work
    by_gender = tenant.get(
        "/indicators", period="2025", as_of="2025-12-31", group_by="gender", indicators=",".join(PLAN_CODES)
    ).get_json()
    genders = {g["key"]: g["figures"] for g in by_gender["groups"]}
    # 17 of 25 women hold a card, none of the 10 men; the union and workplace figures have no gender
    assert (genders["female"]["members_with_card_pct"], genders["male"]["members_with_card_pct"]) == (68.0, 0.0)
    assert genders["female"]["unions_rated_good_pct"] is None


def test_series_by_quarter(tenant):
    build(tenant)
    body = tenant.get(
        "/indicators/series",
        period="2025",
        step="quarter",
        indicators="cla_coverage_pct,workers_conference_pct,dues_collected_pct,members_with_card_pct",
    ).get_json()
    points = [p["figures"] for p in body["points"]]
    assert [p["as_of"] for p in body["points"]] == ["2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31"]
    # agreements: WS, WF (from 03-01) of 3 all year
    assert [p["cla_coverage_pct"] for p in points] == [66.7] * 4
    # conferences: WS (03-10); WF from 10-15
    assert [p["workers_conference_pct"] for p in points] == [33.3, 33.3, 33.3, 66.7]
    # dues over each quarter's own records: UP's Q1 (0.9/1) and Q3 (1.1/1); UF's yearly record in none
    assert [p["dues_collected_pct"] for p in points] == [90.0, 0.0, 110.0, 0.0]
    # cards: 10 of UP, + 6 of UF from 02-01, + n0 from 05-01, of 35
    assert [p["members_with_card_pct"] for p in points] == [45.7, 48.6, 48.6, 48.6]


def test_targets_reports_and_verification(tenant):
    build(tenant)
    goals = {
        "unions_rated_good_pct": 80,
        "cla_coverage_pct": 60,
        "dues_collected_pct": 90,
        "members_with_card_pct": 40,
        "officials_trained_pct": 100,
        "womens_committee_pct": 100,
        "workers_conference_pct": 90,
    }
    for code, value in goals.items():
        tenant.post("/targets", {"unit_id": None, "indicator": code, "period": "2025", "value": value})
    lines = tenant.get("/targets/progress", period="2025", as_of="2025-12-31").get_json()["lines"]
    got = {line["indicator"]: (line["actual"], line["status"]) for line in lines}
    # at the period's end the whole target is expected
    assert got == {
        "unions_rated_good_pct": (50.0, "behind"),
        "cla_coverage_pct": (66.7, "achieved"),
        "dues_collected_pct": (87.5, "behind"),
        "members_with_card_pct": (48.6, "achieved"),
        "officials_trained_pct": (73.3, "behind"),
        "womens_committee_pct": (50.0, "behind"),
        "workers_conference_pct": (66.7, "behind"),
    }
    # collected above what was due is a figure a report may hold
    tenant.post("/targets", {"unit_id": None, "indicator": "dues_collected_pct", "period": "2026", "value": 105})
    draft = tenant.get("/reports/draft", period="2025", unit_id="D2", as_of="2025-12-31").get_json()["figures"]
    assert {code: draft[code] for code in PLAN_CODES} == figures(tenant, as_of="2025-12-31", unit_id="D2")
    submitted = tenant.post(
        "/reports", {"unit_id": "D2", "period": "2025", "as_of": "2025-12-31", "figures": draft}
    ).get_json()
    first = tenant.post(f"/reports/{submitted['id']}/verification").get_json()
    assert first["verdict"] == "consistent"
    assert {line["status"] for line in first["lines"]} == {"match"}
    # a card recorded after the report: n1's, issued 2025-05-01 -> 18 of 25 in D2
    record(tenant, "/members/n1/cards", {"card_no": "C-N1", "issued_on": "2025-05-01"})
    lines = {
        line["indicator"]: line for line in tenant.post(f"/reports/{submitted['id']}/verification").get_json()["lines"]
    }
    card = lines["members_with_card_pct"]
    assert (card["reported"], card["ledger_at_submission"], card["ledger_now"], card["status"]) == (
        68.0,
        68.0,
        72.0,
        "corrected_later",
    )
    assert lines["dues_collected_pct"]["status"] == "match"


def test_forms_fill_the_rows_they_have(tenant):
    build(tenant)

    def rows(path: str, **params) -> dict:
        return {r["code"]: r for r in tenant.get(path, **params).get_json()["rows"]}

    union = rows("/forms/1-hdcd", union_id="UP", year=2025, as_of="2025-12-31")
    # UP's training record for 2025 (the replacing one): 4 officials; its 2025 rating, replaced: excellent
    assert (union["officials"]["value"], union["officials"]["note"]) == (4, None)
    assert union["rating"]["value"] == "Hoàn thành xuất sắc nhiệm vụ"
    # on the default cut-off, 30 November, no 2025 rating is decided yet and UP has none before
    assert rows("/forms/1-hdcd", union_id="UP", year=2025)["rating"]["value"] is None
    assert rows("/forms/1-hdcd", union_id="UN", year=2025)["rating"]["value"] == "Không hoàn thành nhiệm vụ"
    # D2 on 2025-12-31 holds UP (excellent), UF and UN (poor): one rated good or better
    upper = rows("/forms/2-hdcd", unit_id="D2", year=2025, as_of="2025-12-31")
    assert upper["unions_rated_good"]["value"] == 1
    assert rows("/forms/2-hdcd", year=2025, as_of="2025-12-31")["unions_rated_good"]["value"] == 2  # and US


def test_known_at_for_agreements_and_committees(tenant):
    build(tenant)
    mark = instant()
    # recorded late: WP's agreement renewed from 2025-06-01, UF's women's committee from 2025-09-01
    record(tenant, "/workplaces/WP/agreements", {"signed_on": "2025-06-01", "expires_on": "2028-05-31"})
    record(tenant, "/unions/UF/womens-committee", {"founded_on": "2025-09-01"})
    now = figures(tenant, as_of="2025-12-31")
    then = figures(tenant, as_of="2025-12-31", known_at=mark)
    # agreements in force: WS, WP, WF of 3 (WS, WF before); committees: UP, UF of 2 (UP before)
    assert (now["cla_coverage_pct"], then["cla_coverage_pct"]) == (100.0, 66.7)
    assert (now["womens_committee_pct"], then["womens_committee_pct"]) == (100.0, 50.0)
    # before the days they took effect, neither counts
    early = figures(tenant, as_of="2025-05-31")
    assert (early["cla_coverage_pct"], early["womens_committee_pct"]) == (66.7, 50.0)


def test_a_second_card_dated_earlier_and_recorded_later(tenant):
    build(tenant)
    # f6 gets a card issued 2025-06-01; later, another one is recorded as issued on 2025-02-01
    record(tenant, "/members/f6/cards", {"card_no": "C-F6", "issued_on": "2025-06-01"})
    mark = instant()
    record(tenant, "/members/f6/cards", {"card_no": "C-F6B", "issued_on": "2025-02-01"})
    # on 2025-03-31: UP's 10 and f0-f5 (02-01) hold cards, and f6 by its second card: 17 of 35;
    # before the second was recorded, f6 held none then: 16 of 35
    assert figures(tenant, as_of="2025-03-31")["members_with_card_pct"] == 48.6
    assert figures(tenant, as_of="2025-03-31", known_at=mark)["members_with_card_pct"] == 45.7
    # on 2025-12-31 f6 counts once, with n0: 18 of 35, whichever of its cards is known
    assert figures(tenant, as_of="2025-12-31")["members_with_card_pct"] == 51.4
    assert figures(tenant, as_of="2025-12-31", known_at=mark)["members_with_card_pct"] == 51.4


@pytest.mark.parametrize("unit_id, step", [(None, "quarter"), ("D1", "quarter"), ("D2", "quarter"), (None, "month")])
def test_each_series_point_is_the_figures_of_its_step(tenant, unit_id, step):
    build(tenant)
    record(tenant, "/unions/UF/womens-committee", {"founded_on": "2025-09-01"})
    record(tenant, "/members/f6/cards", {"card_no": "C-F6", "issued_on": "2025-06-01"})
    record(tenant, "/members/f6/cards", {"card_no": "C-F6B", "issued_on": "2025-02-01"})
    params = {"period": "2025", "step": step, "indicators": ",".join((*PLAN_CODES, "cla_coverage_pct@45"))}
    if unit_id:
        params["unit_id"] = unit_id
    points = tenant.get("/indicators/series", **params).get_json()["points"]
    assert len(points) == (4 if step == "quarter" else 12)
    for n, point in enumerate(points, 1):
        asked = {"as_of": point["as_of"], "indicators": params["indicators"]}
        if unit_id:
            asked["unit_id"] = unit_id
        period = f"2025-Q{n}" if step == "quarter" else f"2025-{n:02d}"
        assert point["figures"] == tenant.figures(period, **asked), (period, point)


@pytest.mark.parametrize("unit_id", [None, "D1", "D2"])
def test_every_step_of_a_monthly_series_is_the_indicators_at_its_date_now_and_as_known_before(tenant, unit_id):
    marks = build(tenant)
    record(tenant, "/members/f6/cards", {"card_no": "C-F6", "issued_on": "2025-06-01"})
    record(tenant, "/members/f6/cards", {"card_no": "C-F6B", "issued_on": "2025-02-01"})
    scope = {"unit_id": unit_id} if unit_id else {}
    for known in ({}, {"known_at": marks["before"]}):
        # every code (none named), each step against /indicators of its month at its date
        points = tenant.get("/indicators/series", period="2025", step="month", **scope, **known).get_json()["points"]
        assert len(points) == 12
        for n, point in enumerate(points, 1):
            asked = tenant.figures(f"2025-{n:02d}", as_of=point["as_of"], **scope, **known)
            assert point["figures"] == asked, (n, known, point)


@pytest.mark.parametrize("by", ["unit", "gender"])
def test_a_breakdowns_totals_on_any_day_of_a_month_are_the_indicators_then(tenant, by):
    build(tenant)
    record(tenant, "/members/f6/cards", {"card_no": "C-F6", "issued_on": "2025-06-01"})
    record(tenant, "/members/f6/cards", {"card_no": "C-F6B", "issued_on": "2025-02-01"})
    # days inside months, at their ends and on first days, around the cards and the moves of 2025
    for as_of in ("2025-01-31", "2025-02-01", "2025-05-31", "2025-06-01", "2025-06-30", "2025-07-15", "2025-12-31"):
        answer = tenant.get("/indicators", period="2025", as_of=as_of, group_by=by).get_json()
        assert answer["figures"] == tenant.figures("2025", as_of=as_of), as_of
        members = [g["figures"]["members_total"] for g in answer["groups"]]
        assert sum(members) == answer["figures"]["members_total"], as_of


@pytest.mark.parametrize("unit_id", [None, "D1"])
def test_a_monthly_series_up_to_today_is_the_indicators_at_each_steps_date(tenant, unit_id):
    # the running month's point stands on today, inside its month; the others on their month's end
    build(tenant)
    record(tenant, "/members/f6/cards", {"card_no": "C-F6", "issued_on": "2025-06-01"})
    year = vietnam_today().year
    scope = {"unit_id": unit_id} if unit_id else {}
    points = tenant.get("/indicators/series", period=f"{year - 1}-{year}", step="month", **scope).get_json()["points"]
    assert len(points) == 12 + vietnam_today().month
    assert points[-1]["as_of"] == vietnam_today().isoformat()
    for n, point in enumerate(points):
        month = f"{year - 1 + n // 12}-{n % 12 + 1:02d}"
        assert point["figures"] == tenant.figures(month, as_of=point["as_of"], **scope), (month, point)


@pytest.mark.parametrize("known", [False, True])
def test_each_unit_of_a_breakdown_has_the_indicators_of_that_unit(tenant, known):
    """Every code of each top-level unit's group is /indicators of that unit, on days around the
    move of UP and the late records, now and as known before them (the tree and what follows from it
    are kept per view position where every record is known, worked out per question otherwise)."""
    marks = build(tenant)
    record(tenant, "/members/f6/cards", {"card_no": "C-F6", "issued_on": "2025-06-01"})
    asked = {"known_at": marks["before"]} if known else {}
    for period, as_of in (
        ("2019", "2019-12-31"),
        ("2024", "2024-12-31"),
        ("2025", "2025-03-31"),
        ("2025", "2025-06-30"),
        ("2025", "2025-07-01"),
        ("2025-Q3", "2025-09-15"),
        ("2025", "2025-12-31"),
    ):
        answer = tenant.get("/indicators", period=period, as_of=as_of, group_by="unit", **asked).get_json()
        assert [g["key"] for g in answer["groups"]] == ["D1", "D2"]
        for group in answer["groups"]:
            expected = tenant.figures(period, unit_id=group["key"], as_of=as_of, **asked)
            assert group["figures"] == expected, (period, as_of, group["key"])
