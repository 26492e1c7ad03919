"""The register over HTTP: every command answers 201 with the entity, the next read sees it,
each entity's history and the tenant's audit trail list what was recorded."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import TenantClient

# ---- an import, as a province's staff would send it -------------------------------------

UNITS = [
    {"id": "hh", "name": "LĐLĐ huyện Hướng Hóa", "kind": "district", "established_on": "2020-01-01"},
    {"id": "khe-sanh", "name": "Công đoàn xã Khe Sanh", "kind": "commune", "established_on": "2020-01-01"},
    {
        "id": "hh.giao-duc",
        "name": "Công đoàn ngành Giáo dục huyện",
        "kind": "sector",
        "established_on": "2021-01-01",
        "parent_id": "hh",
    },
]
WORKPLACES = [
    {
        "id": "dn:001",
        "name": "Công ty TNHH May Quảng Trị",
        "sector": "fdi_enterprise",
        "unit_id": "hh",
        "workers": 120,
        "female_workers": 90,
        "as_of": "2021-01-01",
    },
    {
        "id": "dn:002",
        "name": "HTX Nông nghiệp Tân Hợp",
        "sector": "cooperative",
        "unit_id": "hh",
        "workers": 15,
        "female_workers": 4,
        "as_of": "2021-01-01",
    },
]
UNIONS = [
    {
        "id": "cdcs-001",
        "name": "CĐCS Công ty May",
        "workplace_id": "dn:001",
        "unit_id": "hh",
        "founded_on": "2021-06-01",
        "decision_no": "45/QĐ-LĐLĐ",
    },
    {
        "id": "cdcs-002",
        "name": "CĐCS HTX Tân Hợp",
        "workplace_id": "dn:002",
        "unit_id": "hh",
        "founded_on": "2021-06-01",
    },
]
MEMBERS = [
    {
        "id": "dv-0001",
        "union_id": "cdcs-001",
        "admitted_on": "2021-07-01",
        "full_name": "Nguyễn Thị Lan",
        "gender": "female",
        "birth_date": "1990-03-04",
        "id_number": "045190000123",
    },
    {
        "id": "dv-0002",
        "union_id": "cdcs-001",
        "admitted_on": "2021-07-01",
        "full_name": "Trần Văn Minh",
        "gender": "male",
    },
]
IMPORT = (
    [("/units", b) for b in UNITS]
    + [("/workplaces", b) for b in WORKPLACES]
    + [("/unions", b) for b in UNIONS]
    + [("/members", b) for b in MEMBERS]
)


def load(tenant: TenantClient) -> None:
    for path, body in IMPORT:
        tenant.post(path, body)


def iso_instant(value: str) -> datetime:
    """An ISO 8601 instant that carries its offset."""
    instant = datetime.fromisoformat(value)
    assert instant.utcoffset() is not None, value
    return instant


def history(tenant: TenantClient, path: str) -> list[dict]:
    return tenant.get(f"{path}/history").get_json()["events"]


def audit_all(tenant: TenantClient, **params) -> list[dict]:
    return tenant.get("/audit", limit=1000, **params).get_json()["entries"]


def selected(entity: dict, body: dict) -> dict:
    return {key: entity.get(key) for key in body}


def without(body: dict, *keys: str) -> dict:
    return {k: v for k, v in body.items() if k not in keys}


# ---- commands answer 201 with the entity ---------------------------------------------------


def test_establishing_a_unit_answers_the_unit(tenant):
    tenant.post("/units", UNITS[0])
    created = tenant.post("/units", UNITS[2]).get_json()
    tenant_unit = {**UNITS[2], "closed_on": None, "successor_id": None, "status": "active", "version": 1}
    assert selected(created, tenant_unit) == tenant_unit


def test_a_unit_without_parent_answers_a_null_parent(tenant):
    assert tenant.post("/units", UNITS[0]).get_json()["parent_id"] is None


def test_closing_a_unit_with_a_successor_answers_it_closed(tenant):
    load(tenant)
    closed = tenant.post("/units/hh/closure", {"closed_on": "2025-07-01", "successor_id": "khe-sanh"}).get_json()
    assert selected(closed, {"id": 0, "closed_on": 0, "successor_id": 0, "status": 0, "version": 0}) == {
        "id": "hh",
        "closed_on": "2025-07-01",
        "successor_id": "khe-sanh",
        "status": "closed",
        "version": 2,
    }


def test_closing_an_empty_unit_without_a_successor_answers_it_closed(tenant):
    tenant.post("/units", UNITS[1])
    closed = tenant.post("/units/khe-sanh/closure", {"closed_on": "2025-07-01"}).get_json()
    assert (closed["closed_on"], closed["successor_id"], closed["status"]) == ("2025-07-01", None, "closed")


def test_registering_a_workplace_answers_the_workplace(tenant):
    tenant.post("/units", UNITS[0])
    created = tenant.post("/workplaces", WORKPLACES[0]).get_json()
    expected = {**WORKPLACES[0], "registered_on": "2021-01-01", "union_id": None, "version": 1}
    assert selected(created, expected) == expected


def test_a_survey_answers_the_workplace_with_its_new_workforce(tenant):
    tenant.post("/units", UNITS[0])
    tenant.post("/workplaces", WORKPLACES[0])
    surveyed = tenant.post(
        "/workplaces/dn:001/surveys", {"workers": 150, "female_workers": 100, "as_of": "2023-11-30"}
    ).get_json()
    assert selected(surveyed, {"workers": 0, "female_workers": 0, "as_of": 0, "registered_on": 0, "version": 0}) == {
        "workers": 150,
        "female_workers": 100,
        "as_of": "2023-11-30",
        "registered_on": "2021-01-01",
        "version": 2,
    }


def test_a_late_survey_for_an_earlier_date_leaves_the_latest_workforce(tenant):
    tenant.post("/units", UNITS[0])
    tenant.post("/workplaces", WORKPLACES[0])
    tenant.post("/workplaces/dn:001/surveys", {"workers": 150, "female_workers": 100, "as_of": "2023-11-30"})
    tenant.post("/workplaces/dn:001/surveys", {"workers": 130, "female_workers": 95, "as_of": "2022-11-30"})
    current = tenant.get("/workplaces/dn:001").get_json()
    assert (current["workers"], current["as_of"]) == (150, "2023-11-30")


def test_founding_a_union_answers_the_union(tenant):
    tenant.post("/units", UNITS[0])
    tenant.post("/workplaces", WORKPLACES[0])
    created = tenant.post("/unions", UNIONS[0]).get_json()
    expected = {
        **UNIONS[0],
        "dissolved_on": None,
        "dissolution_reason": None,
        "status": "active",
        "active_members": 0,
        "version": 1,
    }
    assert selected(created, expected) == expected


def test_a_union_without_decision_number_answers_a_null_one(tenant):
    tenant.post("/units", UNITS[0])
    tenant.post("/workplaces", WORKPLACES[1])
    assert tenant.post("/unions", UNIONS[1]).get_json()["decision_no"] is None


def test_a_workplace_shows_its_active_union(tenant):
    load(tenant)
    assert tenant.get("/workplaces/dn:001").get_json()["union_id"] == "cdcs-001"


def test_transferring_a_union_answers_it_under_the_new_unit(tenant):
    load(tenant)
    moved = tenant.post("/unions/cdcs-001/transfer", {"to_unit_id": "khe-sanh", "effective_on": "2025-07-01"})
    assert (moved.get_json()["unit_id"], moved.get_json()["version"]) == ("khe-sanh", 2)


def test_dissolving_a_union_answers_it_dissolved(tenant):
    load(tenant)
    dissolved = tenant.post(
        "/unions/cdcs-002/dissolution", {"dissolved_on": "2024-12-31", "reason": "HTX giải thể"}
    ).get_json()
    assert selected(dissolved, {"dissolved_on": 0, "dissolution_reason": 0, "status": 0}) == {
        "dissolved_on": "2024-12-31",
        "dissolution_reason": "HTX giải thể",
        "status": "dissolved",
    }


def test_a_dissolved_union_is_no_longer_its_workplaces_union(tenant):
    load(tenant)
    tenant.post("/unions/cdcs-002/dissolution", {"dissolved_on": "2024-12-31", "reason": "HTX giải thể"})
    assert tenant.get("/workplaces/dn:002").get_json()["union_id"] is None


def test_admitting_a_member_answers_the_member_with_personal_data(tenant):
    load_without_members(tenant)
    created = tenant.post("/members", MEMBERS[0]).get_json()
    expected = {
        **MEMBERS[0],
        "admitted_union_id": "cdcs-001",
        "left_on": None,
        "leave_reason": None,
        "status": "active",
        "version": 1,
    }
    assert selected(created, expected) == expected


def test_admitting_a_member_without_optional_fields_answers_them_null(tenant):
    load_without_members(tenant)
    created = tenant.post("/members", MEMBERS[1]).get_json()
    assert selected(created, {"full_name": 0, "birth_date": 0, "id_number": 0}) == {
        "full_name": "Trần Văn Minh",
        "birth_date": None,
        "id_number": None,
    }


def test_a_union_counts_its_active_members(tenant):
    load(tenant)
    assert tenant.get("/unions/cdcs-001").get_json()["active_members"] == 2


def test_transferring_a_member_answers_them_in_the_new_union(tenant):
    load(tenant)
    moved = tenant.post("/members/dv-0002/transfer", {"to_union_id": "cdcs-002", "effective_on": "2024-01-01"})
    assert selected(moved.get_json(), {"union_id": 0, "admitted_union_id": 0, "version": 0}) == {
        "union_id": "cdcs-002",
        "admitted_union_id": "cdcs-001",
        "version": 2,
    }


def test_a_departure_answers_the_member_as_left(tenant):
    load(tenant)
    left = tenant.post("/members/dv-0002/departure", {"left_on": "2024-05-31", "reason": "changed_job"}).get_json()
    assert selected(left, {"left_on": 0, "leave_reason": 0, "status": 0}) == {
        "left_on": "2024-05-31",
        "leave_reason": "changed_job",
        "status": "left",
    }


def test_a_member_who_left_no_longer_counts_in_their_union(tenant):
    load(tenant)
    tenant.post("/members/dv-0002/departure", {"left_on": "2024-05-31", "reason": "changed_job"})
    assert tenant.get("/unions/cdcs-001").get_json()["active_members"] == 1


def test_a_command_answers_when_the_entity_was_recorded(tenant):
    created = tenant.post("/units", UNITS[0]).get_json()
    assert iso_instant(created["recorded_at"]) == iso_instant(created["updated_at"])


def load_without_members(tenant: TenantClient) -> None:
    for path, body in IMPORT:
        if path != "/members":
            tenant.post(path, body)


# ---- read-your-writes ----------------------------------------------------------------------

COMMANDS = {
    "UnitEstablished": ("/units", UNITS[2], "/units/hh.giao-duc"),
    "UnitClosed": ("/units/hh/closure", {"closed_on": "2025-07-01", "successor_id": "khe-sanh"}, "/units/hh"),
    "WorkplaceRegistered": ("/workplaces", {**WORKPLACES[0], "id": "dn:003"}, "/workplaces/dn:003"),
    "WorkforceSurveyed": (
        "/workplaces/dn:001/surveys",
        {"workers": 150, "female_workers": 100, "as_of": "2023-11-30"},
        "/workplaces/dn:001",
    ),
    "UnionFounded": ("/unions", {**UNIONS[0], "id": "cdcs-003", "workplace_id": "dn:003"}, "/unions/cdcs-003"),
    "UnionTransferred": (
        "/unions/cdcs-001/transfer",
        {"to_unit_id": "khe-sanh", "effective_on": "2025-07-01"},
        "/unions/cdcs-001",
    ),
    "UnionDissolved": (
        "/unions/cdcs-002/dissolution",
        {"dissolved_on": "2024-12-31", "reason": "HTX giải thể"},
        "/unions/cdcs-002",
    ),
    "MemberAdmitted": ("/members", {**MEMBERS[0], "id": "dv-0003"}, "/members/dv-0003"),
    "MemberTransferred": (
        "/members/dv-0002/transfer",
        {"to_union_id": "cdcs-002", "effective_on": "2024-01-01"},
        "/members/dv-0002",
    ),
    "MemberLeft": ("/members/dv-0002/departure", {"left_on": "2024-05-31", "reason": "retired"}, "/members/dv-0002"),
}


def prepare(tenant: TenantClient, event: str) -> None:
    """The import, minus what the command creates itself, plus what it needs."""
    for path, body in IMPORT:
        if (path, body) != COMMANDS[event][:2]:
            tenant.post(path, body)
    if event == "UnionFounded":
        tenant.post("/workplaces", {**WORKPLACES[0], "id": "dn:003"})


@pytest.mark.parametrize("event", list(COMMANDS))
def test_the_next_read_shows_what_the_command_answered(tenant, event):
    prepare(tenant, event)
    path, body, item = COMMANDS[event]
    answered = tenant.post(path, body).get_json()
    assert tenant.get(item).get_json() == answered


@pytest.mark.parametrize("event", list(COMMANDS))
def test_the_command_records_its_event_last_in_the_entitys_history(tenant, event):
    prepare(tenant, event)
    path, body, item = COMMANDS[event]
    tenant.post(path, body)
    assert history(tenant, item)[-1]["event"] == event


def test_a_new_client_reads_what_another_wrote(client, tenant):
    tenant.post("/units", UNITS[0])
    other = TenantClient(client.application.test_client(), tenant.id, tenant.token)
    assert other.get("/units/hh").get_json()["name"] == UNITS[0]["name"]


# ---- personal data ---------------------------------------------------------------------------


def test_a_member_read_shows_full_name_birth_date_and_id_number(tenant):
    load_without_members(tenant)
    tenant.post("/members", MEMBERS[0])
    member = tenant.get("/members/dv-0001").get_json()
    assert selected(member, {"full_name": 0, "birth_date": 0, "id_number": 0}) == {
        "full_name": "Nguyễn Thị Lan",
        "birth_date": "1990-03-04",
        "id_number": "045190000123",
    }


def test_a_member_history_shows_the_personal_data_admitted(tenant):
    load_without_members(tenant)
    tenant.post("/members", MEMBERS[1])
    admitted = history(tenant, "/members/dv-0002")[0]["data"]
    assert (admitted["full_name"], admitted["gender"], admitted["union_id"]) == ("Trần Văn Minh", "male", "cdcs-001")


# ---- history ---------------------------------------------------------------------------------


@pytest.fixture
def lifecycle(tenant) -> TenantClient:
    """Every event kind recorded at least once, in this order."""
    load(tenant)
    tenant.post("/workplaces/dn:001/surveys", {"workers": 150, "female_workers": 100, "as_of": "2023-11-30"})
    tenant.post("/members/dv-0002/transfer", {"to_union_id": "cdcs-002", "effective_on": "2024-01-01"})
    tenant.post("/members/dv-0002/departure", {"left_on": "2024-05-31", "reason": "retired"})
    tenant.post("/unions/cdcs-002/transfer", {"to_unit_id": "khe-sanh", "effective_on": "2024-07-01"})
    tenant.post("/unions/cdcs-002/dissolution", {"dissolved_on": "2024-12-31", "reason": "HTX giải thể"})
    tenant.post("/units/hh/closure", {"closed_on": "2025-07-01", "successor_id": "khe-sanh"})
    return tenant


@pytest.mark.parametrize(
    "item, events",
    [
        ("/units/hh", ["UnitEstablished", "UnitClosed"]),
        ("/units/khe-sanh", ["UnitEstablished"]),
        ("/workplaces/dn:001", ["WorkplaceRegistered", "WorkforceSurveyed"]),
        ("/unions/cdcs-002", ["UnionFounded", "UnionTransferred", "UnionDissolved"]),
        ("/members/dv-0002", ["MemberAdmitted", "MemberTransferred", "MemberLeft"]),
    ],
)
def test_history_lists_the_entitys_events_oldest_first(lifecycle, item, events):
    assert [e["event"] for e in history(lifecycle, item)] == events


@pytest.mark.parametrize(
    "item, dates",
    [
        ("/units/hh", ["2020-01-01", "2025-07-01"]),
        ("/workplaces/dn:001", ["2021-01-01", "2023-11-30"]),
        ("/unions/cdcs-002", ["2021-06-01", "2024-07-01", "2024-12-31"]),
        ("/members/dv-0002", ["2021-07-01", "2024-01-01", "2024-05-31"]),
    ],
)
def test_history_gives_each_events_business_date(lifecycle, item, dates):
    assert [e["business_date"] for e in history(lifecycle, item)] == dates


def test_history_names_the_token_holder_as_actor(lifecycle):
    actors = {e["actor"] for e in history(lifecycle, "/members/dv-0002")}
    assert actors == {"federation_admin"}


def test_history_gives_recorded_instants_with_offset_in_order(lifecycle):
    instants = [iso_instant(e["recorded_at"]) for e in history(lifecycle, "/unions/cdcs-002")]
    assert instants == sorted(instants)


def test_history_lists_only_the_entitys_own_events(lifecycle):
    events = history(lifecycle, "/unions/cdcs-002")
    assert {(e["entity_type"], e["entity_id"]) for e in events} == {("union", "cdcs-002")}


def test_history_carries_what_each_command_said(lifecycle):
    transferred = history(lifecycle, "/unions/cdcs-002")[1]["data"]
    assert (transferred["to_unit_id"], transferred["effective_on"]) == ("khe-sanh", "2024-07-01")


# ---- the audit trail -------------------------------------------------------------------------

LIFECYCLE_EVENTS = (
    ["UnitEstablished"] * 3
    + ["WorkplaceRegistered"] * 2
    + ["UnionFounded"] * 2
    + ["MemberAdmitted"] * 2
    + ["WorkforceSurveyed", "MemberTransferred", "MemberLeft", "UnionTransferred", "UnionDissolved", "UnitClosed"]
)


def test_audit_lists_every_event_oldest_first(lifecycle):
    assert [e["event"] for e in audit_all(lifecycle)] == LIFECYCLE_EVENTS


def test_audit_positions_rise(lifecycle):
    positions = [e["position"] for e in audit_all(lifecycle)]
    assert positions == sorted(set(positions))


def test_audit_entries_say_who_when_what_and_about_which_entity(lifecycle):
    entry = audit_all(lifecycle)[-1]
    seen = (entry["actor"], entry["event"], entry["entity_type"], entry["entity_id"], entry["data"]["successor_id"])
    assert seen == ("federation_admin", "UnitClosed", "unit", "hh", "khe-sanh")


def test_audit_gives_recorded_instants_with_offset_in_order(lifecycle):
    instants = [iso_instant(e["recorded_at"]) for e in audit_all(lifecycle)]
    assert instants == sorted(instants)


def test_audit_pages_with_the_next_cursor_without_gap_or_repeat(lifecycle):
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 2} if after is None else {"limit": 2, "after": after}
        page = lifecycle.get("/audit", **params).get_json()
        assert len(page["entries"]) <= 2
        seen += [e["position"] for e in page["entries"]]
        pages += 1
        after = page["next"]
        if after is None or pages > 50:
            break
    assert seen == [e["position"] for e in audit_all(lifecycle)]


def test_audit_says_next_is_null_on_the_last_page(lifecycle):
    assert lifecycle.get("/audit", limit=len(LIFECYCLE_EVENTS)).get_json()["next"] is None


def test_audit_says_where_to_go_on_when_more_remain(lifecycle):
    assert lifecycle.get("/audit", limit=len(LIFECYCLE_EVENTS) - 1).get_json()["next"] is not None


def test_audit_filters_by_entity(lifecycle):
    entries = audit_all(lifecycle, entity_id="dv-0002")
    assert [(e["entity_id"], e["event"]) for e in entries] == [
        ("dv-0002", "MemberAdmitted"),
        ("dv-0002", "MemberTransferred"),
        ("dv-0002", "MemberLeft"),
    ]


def test_audit_filters_by_actor(lifecycle):
    assert len(audit_all(lifecycle, actor="federation_admin")) == len(LIFECYCLE_EVENTS)


def test_the_actor_is_the_holder_the_token_was_issued_to(lifecycle):
    """The contract: the actor is the token's holder; an auditor filters by the name the token was issued to."""
    issued = lifecycle.post("/tokens", {"role": "federation_admin", "holder": "can-bo-2"}).get_json()
    assert issued["holder"] == "can-bo-2"
    staff = TenantClient(lifecycle.client, lifecycle.id, issued["token"])
    staff.post("/units", {"id": "moi", "name": "Công đoàn mới", "kind": "other", "established_on": "2024-01-01"})
    assert [(e["actor"], e["event"], e["entity_id"]) for e in audit_all(lifecycle, actor="can-bo-2")] == [
        ("can-bo-2", "UnitEstablished", "moi")
    ]


def test_audit_by_an_actor_who_sent_nothing_is_empty(lifecycle):
    assert audit_all(lifecycle, actor="inspector") == []


def test_audit_since_keeps_what_was_recorded_from_that_instant(lifecycle):
    everything = audit_all(lifecycle)
    since = everything[5]["recorded_at"]
    assert [e["position"] for e in audit_all(lifecycle, since=since)] == [
        e["position"] for e in everything if iso_instant(e["recorded_at"]) >= iso_instant(since)
    ]


def test_audit_until_keeps_what_was_recorded_up_to_that_instant(lifecycle):
    everything = audit_all(lifecycle)
    until = everything[5]["recorded_at"]
    assert [e["position"] for e in audit_all(lifecycle, until=until)] == [
        e["position"] for e in everything if iso_instant(e["recorded_at"]) <= iso_instant(until)
    ]


def test_audit_since_and_until_together_bound_a_window(lifecycle):
    everything = audit_all(lifecycle)
    window = audit_all(lifecycle, since=everything[3]["recorded_at"], until=everything[6]["recorded_at"])
    assert [e["position"] for e in window] == [e["position"] for e in everything[3:7]]


def test_audit_filters_combine(lifecycle):
    everything = audit_all(lifecycle)
    entries = audit_all(lifecycle, entity_id="cdcs-002", since=everything[12]["recorded_at"])
    assert [e["event"] for e in entries] == ["UnionTransferred", "UnionDissolved"]


# ---- closing a unit with a successor -------------------------------------------------------


@pytest.fixture
def closed_district(tenant) -> TenantClient:
    load(tenant)
    tenant.post("/units/hh/closure", {"closed_on": "2025-07-01", "successor_id": "khe-sanh"})
    return tenant


@pytest.mark.parametrize("union_id", ["cdcs-001", "cdcs-002"])
def test_a_closure_moves_the_units_unions_to_the_successor(closed_district, union_id):
    assert closed_district.get(f"/unions/{union_id}").get_json()["unit_id"] == "khe-sanh"


@pytest.mark.parametrize("workplace_id", ["dn:001", "dn:002"])
def test_a_closure_moves_the_units_workplaces_to_the_successor(closed_district, workplace_id):
    assert closed_district.get(f"/workplaces/{workplace_id}").get_json()["unit_id"] == "khe-sanh"


def test_a_closure_moves_the_units_child_units_to_the_successor(closed_district):
    assert closed_district.get("/units/hh.giao-duc").get_json()["parent_id"] == "khe-sanh"


def test_a_closure_leaves_the_successor_itself_active(closed_district):
    assert closed_district.get("/units/khe-sanh").get_json()["status"] == "active"


def test_a_union_dissolved_before_the_closure_stays_under_its_unit(tenant):
    load(tenant)
    tenant.post("/unions/cdcs-002/dissolution", {"dissolved_on": "2024-12-31", "reason": "HTX giải thể"})
    tenant.post("/units/hh/closure", {"closed_on": "2025-07-01", "successor_id": "khe-sanh"})
    assert tenant.get("/unions/cdcs-002").get_json()["unit_id"] == "hh"


# ---- duplicates and repeated imports -------------------------------------------------------


@pytest.mark.parametrize("path, body", IMPORT, ids=[f"{p}:{b['id']}" for p, b in IMPORT])
def test_posting_an_existing_id_is_409(tenant, path, body):
    load(tenant)
    assert tenant.post(path, {**body, "name": "Changed"} if "name" in body else body, expect=None).status_code == 409


@pytest.mark.parametrize("path, body", IMPORT, ids=[f"{p}:{b['id']}" for p, b in IMPORT])
def test_posting_an_existing_id_changes_nothing(tenant, path, body):
    load(tenant)
    item = f"{path}/{body['id']}"
    before = (tenant.get(item).get_json(), len(history(tenant, item)))
    tenant.post(path, {**body, "name": "Changed"} if "name" in body else body, expect=409)
    assert (tenant.get(item).get_json(), len(history(tenant, item))) == before


def test_repeating_an_import_answers_409_for_every_entity(tenant):
    load(tenant)
    statuses = {tenant.post(path, body, expect=None).status_code for path, body in IMPORT}
    assert statuses == {409}


def test_repeating_an_import_records_nothing(tenant):
    load(tenant)
    before = audit_all(tenant)
    for path, body in IMPORT:
        tenant.post(path, body, expect=None)
    assert audit_all(tenant) == before


def test_repeating_an_import_leaves_every_entity_as_it_was(tenant):
    load(tenant)
    items = [f"{path}/{body['id']}" for path, body in IMPORT]
    before = [tenant.get(item, expect=None).get_json() for item in items]
    for path, body in IMPORT:
        tenant.post(path, body, expect=None)
    assert [tenant.get(item, expect=None).get_json() for item in items] == before


def test_a_partly_applied_import_completes_on_repeat(tenant):
    for path, body in IMPORT[:4]:
        tenant.post(path, body)
    for path, body in IMPORT:
        tenant.post(path, body, expect=None)
    assert [e["entity_id"] for e in audit_all(tenant)] == [body["id"] for _path, body in IMPORT]


# ---- targets and reports (the service gives their ids) -----------------------------------------

TARGET = {"unit_id": "hh", "indicator": "members_admitted", "period": "2024", "value": 100}
REPORT = {"unit_id": "hh", "period": "2024", "figures": {"members_admitted": 2, "unions_total": 2}}


@pytest.fixture
def loaded(tenant) -> TenantClient:
    load(tenant)
    return tenant


def test_assigning_a_target_answers_the_target(loaded):
    created = loaded.post("/targets", TARGET).get_json()
    assert selected(created, TARGET) == TARGET


def test_a_target_for_the_whole_tenant_has_no_unit(loaded):
    created = loaded.post(
        "/targets", {**TARGET, "unit_id": None, "indicator": "coverage_pct@25", "period": "2023-2028", "value": 95}
    ).get_json()
    assert (created["unit_id"], created["indicator"], created["period"]) == (None, "coverage_pct@25", "2023-2028")


def test_the_service_gives_each_target_its_own_id(loaded):
    ids = {loaded.post("/targets", TARGET).get_json()["id"] for _ in range(3)}
    assert len(ids) == 3


def test_the_next_read_shows_the_target_assigned(loaded):
    created = loaded.post("/targets", TARGET).get_json()
    assert loaded.get(f"/targets/{created['id']}").get_json() == created


def test_a_targets_history_records_its_assignment(loaded):
    target_id = loaded.post("/targets", TARGET).get_json()["id"]
    events = history(loaded, f"/targets/{target_id}")
    assert [(e["event"], e["actor"]) for e in events] == [("TargetAssigned", "federation_admin")]


def test_submitting_a_report_answers_the_report(loaded):
    created = loaded.post("/reports", REPORT).get_json()
    assert selected(created, REPORT) == REPORT


def test_a_report_is_as_of_the_periods_last_day_by_default(loaded):
    assert loaded.post("/reports", {**REPORT, "period": "2024-H1"}).get_json()["as_of"] == "2024-06-30"


def test_a_report_keeps_its_own_cut_off_date(loaded):
    assert loaded.post("/reports", {**REPORT, "as_of": "2024-11-30"}).get_json()["as_of"] == "2024-11-30"


def test_the_next_read_shows_the_report_submitted(loaded):
    created = loaded.post("/reports", REPORT).get_json()
    assert loaded.get(f"/reports/{created['id']}").get_json() == created


def test_a_reports_history_records_its_submission(loaded):
    report_id = loaded.post("/reports", REPORT).get_json()["id"]
    assert [e["event"] for e in history(loaded, f"/reports/{report_id}")] == ["ReportSubmitted"]


def test_verifying_a_report_answers_a_verdict_per_figure(loaded):
    report_id = loaded.post("/reports", REPORT).get_json()["id"]
    verified = loaded.post(f"/reports/{report_id}/verification").get_json()
    assert (verified["report_id"], sorted(line["indicator"] for line in verified["lines"])) == (
        report_id,
        ["members_admitted", "unions_total"],
    )


def test_a_verification_is_recorded_in_the_reports_history(loaded):
    report_id = loaded.post("/reports", REPORT).get_json()["id"]
    loaded.post(f"/reports/{report_id}/verification")
    assert [e["event"] for e in history(loaded, f"/reports/{report_id}")] == ["ReportSubmitted", "ReportVerified"]
