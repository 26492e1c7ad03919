"""The ledger's mapper writes every event to the bytes the library's own mapper writes."""

from __future__ import annotations

from datetime import date
from uuid import NAMESPACE_URL, uuid5

import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from domain.base import BUSINESS_DATE, aggregate_id
from domain.cards import Card
from domain.members import Member
from domain.national import NationalTarget
from domain.reports import Report
from domain.targets import Target
from domain.unions import Union
from domain.units import Unit
from domain.workplaces import Workplace
from persistence.event_store import EventStore
from persistence.mapper import RegisterMapper
from projections.audit import entry

ACTOR = "qt:federation_admin"
# Names as clerks type them: diacritics, quotes, backslashes, control and separator characters.
NAMES = [
    "CĐCS Công ty TNHH Hòa Bình",
    'Xí nghiệp "Sông Hương"',
    "C:\\dir\\tên",
    "tab\there\nnewline",
    "\u2028line\u2029para",
    "emoji 🏭",
    "",
    "\x00\x1f\x7f",
]


def library_mapper() -> Mapper:
    """The library's mapper with the ledger's transcodings."""
    return Mapper(transcoder=EventStore({"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper.transcoder)


def register_events(name: str) -> list:
    """One event of every kind the register records, ``name`` wherever a text goes."""
    unit = Unit(unit_id="u-1", name=name, kind="district", established_on=date(2018, 1, 1), parent_id=None, actor=ACTOR)
    successor = Unit(
        unit_id="u-2", name="Xã", kind="commune", established_on=date(2025, 7, 1), parent_id=None, actor=ACTOR
    )
    unit.close(closed_on=date(2025, 7, 1), successor=successor, active_under=0, actor=name)
    workplace = Workplace(
        workplace_id="w-1",
        name=name,
        sector="fdi",
        unit_id="u-1",
        workers=120,
        female_workers=0,
        as_of=date(2020, 2, 29),
        actor=ACTOR,
    )
    workplace.survey(workers=0, female_workers=0, as_of=date(2024, 12, 31), actor=ACTOR)
    workplace.sign_agreement(signed_on=date(2024, 5, 1), expires_on=date(2027, 4, 30), actor=name)
    workplace.hold_conference(held_on=date(2024, 2, 20), actor=ACTOR)
    union = Union(
        union_id="c-1",
        name=name,
        workplace_id="w-1",
        unit_id="u-1",
        founded_on=date(2020, 3, 1),
        decision_no=None,
        actor=ACTOR,
    )
    union.rate(year=2024, rating="good", decided_on=date(2025, 1, 15), actor=name)
    union.found_womens_committee(founded_on=date(2021, 3, 8), actor=ACTOR)
    union.record_dues(period="2024-Q4", due=3_000_000, collected=2_750_000, recorded_on=date(2025, 1, 5), actor=ACTOR)
    union.record_training(year=2024, officials=9, trained=7, recorded_on=date(2025, 1, 5), actor=ACTOR)
    union.transfer(to_unit_id="u-2", effective_on=date(2025, 7, 1), actor=ACTOR)
    union.dissolve(dissolved_on=date(2026, 1, 1), reason=name, active_members=0, actor=ACTOR)
    member = Member(
        member_id=name or "m",
        union_id="c-1",
        admitted_on=date(2021, 5, 17),
        gender="female",
        personal=f"aesgcm:{name}",
        actor=ACTOR,
    )
    member.issue_card(card_no="QT-000123", issued_on=date(2021, 6, 1), actor=ACTOR)
    card = Card(card_id="QT-000123", member_id=name or "m", assigned_on=date(2021, 6, 1), actor=name)
    member.transfer(to_union_id="c-2", effective_on=date(2022, 1, 1), actor=ACTOR)
    member.leave(left_on=date(2023, 1, 1), reason="retired", actor=ACTOR)
    member.erase_personal_data(erased_on=date(2023, 2, 1), reason=name, actor=ACTOR)
    target = Target(
        target_id="t-1",
        unit_id=None,
        indicator="members_total",
        period="2023-2028",
        value=28437.0,
        assigned_on=date(2023, 1, 1),
        decision_no=name,
        actor=ACTOR,
    )
    report = Report(
        report_id="r-1",
        unit_id="u-1",
        period="2025",
        as_of=date(2025, 12, 31),
        figures={"members_total": 163},
        replaces=None,
        submitted_on=date(2026, 1, 5),
        actor=ACTOR,
    )
    target.revise(value=28500.5, reason=name, revised_on=date(2024, 1, 1), actor=ACTOR)
    report.record_verification(
        verdict="consistent",
        lines=[{"indicator": "members_total", "note": name}],
        verified_on=date(2026, 2, 1),
        actor=ACTOR,
    )
    report.mark_replaced(by="r-2", actor=ACTOR, on=date(2026, 3, 1))
    national = NationalTarget(
        national_target_id="ntg-1",
        tenant_id=name or "t",
        indicator="coverage_pct@25",
        period="2025",
        value=95.5,
        assigned_on=date(2025, 1, 2),
        actor=name,
    )
    admission = Member.admission(
        member_id="m-2", union_id="c-1", admitted_on=date(2021, 5, 17), gender="male", personal=name, actor=name
    )
    moved = Member.transferred_in(
        member_id="m-3",
        union_id="c-1",
        admitted_on=date(2019, 4, 2),
        effective_on=date(2024, 7, 1),
        gender="female",
        personal=f"aesgcm:{name}",
        from_tenant="binh-duong",
        transfer_id="tr-0123456789abcdef",
        actor=name,
    )
    moved.propose_move(to_tenant="dong-nai", transfer_id="tr-1", effective_on=date(2025, 1, 1), actor=ACTOR)
    moved.move_refused(transfer_id="tr-1", reason=name, refused_on=date(2025, 1, 5), actor=name)
    moved.propose_move(to_tenant="dong-nai", transfer_id="tr-2", effective_on=date(2025, 2, 1), actor=ACTOR)
    moved.move_withdrawn(transfer_id="tr-2", reason=name, withdrawn_on=date(2025, 2, 3), actor=ACTOR)
    moved.propose_move(
        to_tenant="dong-nai", transfer_id="tr-fedcba9876543210", effective_on=date(2025, 3, 1), actor=ACTOR
    )
    moved.transfer_out(
        to_tenant="dong-nai", transfer_id="tr-fedcba9876543210", effective_on=date(2025, 3, 1), actor=ACTOR
    )
    aggregates = (unit, successor, workplace, union, member, moved, card, target, report, national)
    return [e for a in aggregates for e in a.collect_events()] + [admission]


def as_stored(stored: StoredEvent) -> StoredEvent:
    """What the ledger stores and the chain hashes, without the trail's columns beside it."""
    return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, stored.state)


@pytest.mark.parametrize("name", NAMES)
def test_every_event_is_stored_as_the_library_stores_it(name):
    ours, theirs = RegisterMapper(transcoder=library_mapper().transcoder), library_mapper()
    events = register_events(name)
    assert {type(e).__name__ for e in events} == set(BUSINESS_DATE)
    for event in events:
        stored = ours.to_stored_event(event)
        assert as_stored(stored) == theirs.to_stored_event(event), type(event).__name__
        assert ours.to_domain_event(stored) == event
        assert stored.entry == entry(event)  # the audit trail's columns, written beside it


def test_a_value_not_flat_goes_to_the_library_encoder():
    """A report's figures (a dict) and a target's value (a float) are encoded by the library."""
    ours = RegisterMapper(transcoder=library_mapper().transcoder)
    events = [e for e in register_events("x") if type(e).__name__ in ("ReportSubmitted", "TargetAssigned")]
    assert [ours._flat_json(e) for e in events] == [None, None]
    assert [ours.to_stored_event(e).state for e in events] == [
        library_mapper().to_stored_event(e).state for e in events
    ]


def test_a_tenants_ledger_uses_the_register_mapper(tmp_path):
    from tenants.settings import Settings
    from tenants.stores import TenantStore

    store = TenantStore("mapper", Settings(data_dir=tmp_path / "data", admin_token="x"), create=True)
    try:
        assert isinstance(store.event_store.mapper, RegisterMapper)
    finally:
        store.close()


@pytest.mark.parametrize("kind, client_id", [("member", "m-1"), ("union", "CĐCS-Hòa-Bình"), ("unit", "x" * 64)])
def test_an_entitys_storage_id_is_its_uuid5(kind, client_id):
    made, expected = (
        aggregate_id(kind, client_id),
        uuid5(uuid5(NAMESPACE_URL, "https://unionledger/ids"), f"{kind}:{client_id}"),
    )
    assert (made, str(made), hash(made), made.version, made.variant) == (
        expected,
        str(expected),
        hash(expected),
        5,
        expected.variant,
    )


@pytest.mark.parametrize("name", NAMES)
def test_an_admission_stored_from_its_state_is_the_admission_event_stored(name):
    """An import stores admissions from their state without making the events: the same
    attributes in the same order, to the same bytes as the library stores the event."""
    from application.imports import ADMITTED_TOPIC

    ours, theirs = RegisterMapper(transcoder=library_mapper().transcoder), library_mapper()
    fields = {
        "member_id": name or "m",
        "union_id": name or "c",
        "admitted_on": date(2021, 5, 17),
        "gender": "female",
        "personal": f"aesgcm:{name}",
        "actor": name,
    }
    event = Member.admission(**fields)
    state = Member.admission_state(**fields, timestamp=event.timestamp)
    assert list(state.items()) == [
        (k, v) for k, v in vars(event).items() if k not in ("originator_id", "originator_version")
    ]
    stored = ours.stored_state(ADMITTED_TOPIC, Member.create_id(fields["member_id"]), Member.INITIAL_VERSION, state)
    assert as_stored(stored) == theirs.to_stored_event(event)
    assert stored.entry == entry(event)
    assert theirs.to_domain_event(stored) == event


@pytest.mark.parametrize("name", NAMES)
def test_an_admission_encoded_from_a_template_is_the_admission_event_stored(name):
    """An import encodes admissions from a template made once: the bytes and the trail's columns
    the library and the register's mapper write for the event; a value of another type is left
    to the mapper."""
    from datetime import datetime

    from application.imports import _admission_encoder

    theirs = library_mapper()
    fields = {
        "member_id": name or "m",
        "union_id": name or "c",
        "admitted_on": date(2021, 5, 17),
        "gender": "female",
        "personal": f"aesgcm:{name}",
        "actor": name,
    }
    event = Member.admission(**fields)
    encoded = _admission_encoder(fields["actor"])
    made = encoded(
        *(fields[k] for k in ("member_id", "union_id", "admitted_on", "gender", "personal")), event.timestamp
    )
    assert made is not None
    originator, data, columns = made
    assert StoredEvent(originator, Member.INITIAL_VERSION, theirs.to_stored_event(event).topic, data) == (
        theirs.to_stored_event(event)
    )
    assert columns == entry(event)
    moment = datetime(2021, 5, 17, 1, 2, 3)
    assert encoded("m", "c", moment, "female", "p", event.timestamp) is None  # an instant, not a day
    assert encoded("m", "c", date(2021, 5, 17), None, "p", event.timestamp) is None


def test_a_state_that_is_not_flat_is_not_stored_from_its_state():
    ours = RegisterMapper(transcoder=library_mapper().transcoder)
    assert ours.stored_state("t", aggregate_id("member", "m"), 1, {"value": 1.5}) is None
    assert ours.stored_state("t", aggregate_id("member", "m"), 1, {"lines": []}) is None
    assert ours.stored_state("t", aggregate_id("member", "m"), 1, {"n": 2, "on": date(2024, 1, 2)}).state == (
        b'{"n":2,"on":{"_type_":"date_iso","_data_":"2024-01-02"}}'
    )
