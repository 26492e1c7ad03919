"""The plans' other register calls (contract part 2, "The plans' other indicators") over HTTP, on
SQLite and PostgreSQL: each call answers 201 with its entity and its event shows in the history and
the audit trail; each refusal answers 422 or 409 naming the field or rule and writes nothing."""

from __future__ import annotations

import pytest

from tests.api.province import module_app
from tests.conftest import ADMIN_TOKEN, new_tenant, today, tomorrow
from tests.scenario import admit, union, unit, workplace

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(request, tmp_path_factory):
    yield from module_app(request.param, tmp_path_factory)


@pytest.fixture
def t(app):
    """A tenant with district d1, workplace w1 (40 workers, from 2019), union u1 founded there on
    2020-03-01, members m1 and m2 admitted on 2020-04-01."""
    tenant = new_tenant(app.test_client(), {"Authorization": f"Bearer {ADMIN_TOKEN}"})
    unit(tenant, "d1")
    workplace(tenant, "w1", "d1", 40)
    union(tenant, "u1", "w1", "d1", "2020-03-01")
    for mid in ("m1", "m2"):
        admit(tenant, mid, "u1", "2020-04-01")
    return tenant


def events(t, kind: str, entity_id: str) -> list[dict]:
    return t.get(f"/{kind}s/{entity_id}/history").get_json()["events"]


def size(t) -> int:
    return len(t.get("/audit", limit=1000).get_json()["entries"])


CALLS = [
    ("/unions/u1/ratings", {"year": 2024, "rating": "good", "decided_on": "2025-01-15"}, "union", "UnionRated"),
    (
        "/workplaces/w1/agreements",
        {"signed_on": "2024-05-01", "expires_on": "2027-04-30"},
        "workplace",
        "CollectiveAgreementSigned",
    ),
    ("/unions/u1/womens-committee", {"founded_on": "2021-03-08"}, "union", "WomensCommitteeFounded"),
    ("/members/m1/cards", {"card_no": "QT-000123", "issued_on": "2021-06-01"}, "member", "MemberCardIssued"),
    ("/unions/u1/dues", {"period": "2024-Q4", "due": 3_000_000, "collected": 3_250_000}, "union", "DuesRecorded"),
    ("/unions/u1/training", {"year": 2024, "officials": 9, "trained": 7}, "union", "OfficialsTrainingRecorded"),
    ("/workplaces/w1/conferences", {"held_on": "2025-02-20"}, "workplace", "WorkersConferenceHeld"),
]


@pytest.mark.parametrize("path, body, kind, event", CALLS, ids=[c[3] for c in CALLS])
def test_each_call_answers_201_with_its_entity_and_records_its_event(t, path, body, kind, event):
    entity_id = path.split("/")[2]
    answer = t.post(path, body).get_json()
    assert answer["id"] == entity_id
    last = events(t, kind, entity_id)[-1]
    assert last["event"] == event
    assert {k: last["data"][k] for k in body} == body
    # The business date: the one given, or (dues, training) the day the call was made.
    expected = next((v for k, v in body.items() if k.endswith("_on") and k != "expires_on"), today().isoformat())
    assert last["business_date"] == expected
    [entry] = [e for e in t.get("/audit", entity_id=entity_id, limit=100).get_json()["entries"] if e["event"] == event]
    assert entry["entity_type"] == kind and entry["data"] == last["data"]


def test_a_card_number_shows_in_the_audit_as_its_own_entity(t):
    t.post("/members/m1/cards", {"card_no": "QT-7", "issued_on": "2021-06-01"})
    [entry] = t.get("/audit", entity_id="QT-7").get_json()["entries"]
    assert (entry["event"], entry["entity_type"], entry["data"]["member_id"]) == ("CardNumberAssigned", "card", "m1")


def test_a_later_record_of_the_same_year_or_period_is_a_new_event(t):
    t.post("/unions/u1/ratings", {"year": 2024, "rating": "fair", "decided_on": "2025-01-15"})
    t.post("/unions/u1/ratings", {"year": 2024, "rating": "excellent", "decided_on": "2025-02-01"})
    t.post("/unions/u1/dues", {"period": "2024", "due": 100, "collected": 80})
    t.post("/unions/u1/dues", {"period": "2024", "due": 100, "collected": 95})
    t.post("/unions/u1/training", {"year": 2024, "officials": 5, "trained": 2})
    t.post("/unions/u1/training", {"year": 2024, "officials": 5, "trained": 5})
    history = [(e["event"], e["data"]) for e in events(t, "union", "u1")][1:]
    assert [d.get("rating") or d.get("collected") or d.get("trained") for _e, d in history] == [
        "fair",
        "excellent",
        80,
        95,
        2,
        5,
    ]


def test_the_same_card_number_may_be_reissued_to_its_holder_never_to_another(t):
    t.post("/members/m1/cards", {"card_no": "QT-1", "issued_on": "2021-06-01"})
    t.post("/members/m1/cards", {"card_no": "QT-1", "issued_on": "2024-06-01"})
    before = size(t)
    refused = t.post("/members/m2/cards", {"card_no": "QT-1", "issued_on": "2024-06-01"}, expect=409)
    assert refused.mimetype == PROBLEM and refused.get_json()["rule"] == "card_no_taken"
    assert size(t) == before
    assert [e["event"] for e in events(t, "member", "m1")].count("MemberCardIssued") == 2


REFUSALS = [
    # (path, body, status, field or rule)
    ("/unions/u1/ratings", {"year": 2019, "rating": "good", "decided_on": "2020-05-01"}, 409, "rated_before_founding"),
    ("/unions/u1/ratings", {"year": 2024, "rating": "strong", "decided_on": "2025-01-15"}, 422, "rating"),
    ("/unions/u1/ratings", {"year": "2024", "rating": "good", "decided_on": "2025-01-15"}, 422, "year"),
    ("/unions/u1/ratings", {"year": 2024, "rating": "good", "decided_on": "2025-02-30"}, 422, "decided_on"),
    ("/unions/u1/ratings", {"year": 2024, "rating": "good", "decided_on": "TOMORROW"}, 422, "decided_on"),
    ("/unions/u1/ratings", {"year": 2024, "rating": "good"}, 422, "decided_on"),
    ("/unions/nope/ratings", {"year": 2024, "rating": "good", "decided_on": "2025-01-15"}, 404, None),
    ("/workplaces/w1/agreements", {"signed_on": "2024-05-01", "expires_on": "2024-04-30"}, 409, "agreement_expiry"),
    ("/workplaces/w1/agreements", {"signed_on": "2018-05-01", "expires_on": "2020-04-30"}, 409, "date_order"),
    ("/workplaces/w1/agreements", {"signed_on": "TOMORROW", "expires_on": "2099-01-01"}, 422, "signed_on"),
    ("/workplaces/w1/agreements", {"signed_on": "2024-05-01"}, 422, "expires_on"),
    ("/unions/u1/womens-committee", {"founded_on": "2020-02-29"}, 409, "union_active"),
    ("/unions/u1/womens-committee", {"founded_on": "TOMORROW"}, 422, "founded_on"),
    ("/members/m1/cards", {"card_no": "QT 1", "issued_on": "2021-06-01"}, 422, "card_no"),
    ("/members/m1/cards", {"card_no": "QT-1", "issued_on": "2020-03-31"}, 409, "member_active"),
    ("/members/m1/cards", {"card_no": "QT-1", "issued_on": "TOMORROW"}, 422, "issued_on"),
    ("/members/nope/cards", {"card_no": "QT-1", "issued_on": "2021-06-01"}, 404, None),
    ("/unions/u1/dues", {"period": "2024-13", "due": 100, "collected": 90}, 422, "period"),
    ("/unions/u1/dues", {"period": "NEXT_YEAR", "due": 100, "collected": 90}, 422, "period"),
    ("/unions/u1/dues", {"period": "2019", "due": 100, "collected": 90}, 409, "union_active"),
    ("/unions/u1/dues", {"period": "2024", "due": -1, "collected": 90}, 422, "due"),
    ("/unions/u1/dues", {"period": "2024", "due": 100, "collected": 90.5}, 422, "collected"),
    ("/unions/u1/training", {"year": 2024, "officials": 7, "trained": 8}, 409, "trained_exceeds_officials"),
    ("/unions/u1/training", {"year": 2024, "officials": -1, "trained": 0}, 422, "officials"),
    ("/unions/u1/training", {"year": "NEXT_YEAR", "officials": 7, "trained": 1}, 422, "year"),
    ("/unions/u1/training", {"year": 2019, "officials": 7, "trained": 1}, 409, "union_active"),
    ("/workplaces/w1/conferences", {"held_on": "TOMORROW"}, 422, "held_on"),
    ("/workplaces/w1/conferences", {"held_on": "2018-12-31"}, 409, "date_order"),
    ("/workplaces/nope/conferences", {"held_on": "2024-01-01"}, 404, None),
]


def _dated(key: str, value):
    """The dates that depend on today: the first refused as in the future."""
    if value == "TOMORROW":
        return tomorrow().isoformat()
    if value == "NEXT_YEAR":
        return today().year + 1 if key == "year" else str(today().year + 1)
    return value


@pytest.mark.parametrize("path, body, status, named", REFUSALS)
def test_each_refusal_names_its_field_or_rule_and_writes_nothing(t, path, body, status, named):
    body = {k: _dated(k, v) for k, v in body.items()}
    before = size(t)
    answer = t.post(path, body, expect=status)
    problem = answer.get_json()
    assert answer.mimetype == PROBLEM and problem["status"] == status
    if status == 422:
        assert named in problem["errors"], problem
    elif status == 409:
        assert problem["rule"] == named, problem
    assert size(t) == before
