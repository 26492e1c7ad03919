"""Domain rules with no I/O: the command handlers on an in-memory store, periods and indicator codes."""

from __future__ import annotations

from datetime import date

import pytest

from application.handlers import handle
from application.unit_of_work import UnitOfWork
from domain.commands import (
    AdmitMember,
    CloseUnit,
    DissolveUnion,
    EstablishUnit,
    FoundUnion,
    RecordDeparture,
    RegisterWorkplace,
    SurveyWorkplace,
    TransferMember,
    TransferUnion,
)
from domain.errors import AlreadyExists, Conflict, InvalidValue, NotFound
from domain.indicators import DEFAULT_MIN_WORKERS, parse_indicator, percentage
from domain.members import Member
from domain.periods import parse_period
from domain.unions import Union
from domain.units import Unit
from domain.workplaces import Workplace
from persistence.event_store import EventStore
from persistence.vault import PREFIX, new_key, seal_with

TODAY = date(2026, 11, 24)
ACTOR = "qt:federation_admin"


class FakeQueries:
    """The views' answers to the cross-entity rules, set by each test."""

    def __init__(self):
        self.members_in_union: dict[str, int] = {}
        self.union_at_workplace: dict[str, str] = {}
        self.under_unit: dict[str, int] = {}

    def active_members_in_union(self, union_id: str, on: date) -> int:
        return self.members_in_union.get(union_id, 0)

    def active_union_at_workplace(self, workplace_id: str, on: date) -> str | None:
        return self.union_at_workplace.get(workplace_id)

    def active_under_unit(self, unit_id: str, on: date) -> int:
        return self.under_unit.get(unit_id, 0)


class InMemoryRegister:
    """The handlers over an in-memory event store, with the facts across entities set by each test:
    what a unit of work gives them, without a database."""

    def __init__(self, facts: FakeQueries):
        self.event_store = EventStore({"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.repository = self.event_store.repository
        self.facts = facts
        self.keys: dict[str, bytes] = {}

    def run(self, command):
        uow = UnitOfWork(self.repository, self.facts, lambda: TODAY, sealer=self)
        result = handle(command, uow)
        self.event_store.save(*uow.added)
        self.keys.update(uow.sealing.keys)
        return result

    @staticmethod
    def seal_one(member_id: str, data: dict) -> tuple[str, bytes, list[str]]:
        key = new_key()
        return seal_with(key, member_id, data), key, []


@pytest.fixture
def queries() -> FakeQueries:
    return FakeQueries()


@pytest.fixture
def ledger(queries) -> InMemoryRegister:
    register = InMemoryRegister(queries)
    yield register
    register.event_store.close()


def unit(
    ledger: InMemoryRegister,
    id: str = "d1",
    *,
    established_on: date = date(2020, 1, 1),
    kind: str = "district",
    parent_id: str | None = None,
) -> Unit:
    return ledger.run(
        EstablishUnit(
            id=id, name=f"Unit {id}", kind=kind, established_on=established_on, parent_id=parent_id, actor=ACTOR
        )
    )


def workplace(
    ledger: InMemoryRegister,
    id: str = "w1",
    *,
    unit_id: str = "d1",
    as_of: date = date(2021, 1, 1),
    workers: int = 100,
    female_workers: int = 60,
    sector: str = "fdi_enterprise",
) -> Workplace:
    return ledger.run(
        RegisterWorkplace(
            id=id,
            name=f"Workplace {id}",
            sector=sector,
            unit_id=unit_id,
            workers=workers,
            female_workers=female_workers,
            as_of=as_of,
            actor=ACTOR,
        )
    )


def union(
    ledger: InMemoryRegister,
    id: str = "u1",
    *,
    workplace_id: str = "w1",
    unit_id: str = "d1",
    founded_on: date = date(2021, 6, 1),
) -> Union:
    return ledger.run(
        FoundUnion(
            id=id,
            name=f"Union {id}",
            workplace_id=workplace_id,
            unit_id=unit_id,
            founded_on=founded_on,
            decision_no="12/QĐ-LĐLĐ",
            actor=ACTOR,
        )
    )


def member(
    ledger: InMemoryRegister,
    id: str = "m1",
    *,
    union_id: str = "u1",
    admitted_on: date = date(2021, 7, 1),
    gender: str = "female",
    birth_date: date | None = None,
) -> Member:
    return ledger.run(
        AdmitMember(
            id=id,
            union_id=union_id,
            admitted_on=admitted_on,
            full_name="Nguyễn Thị Lan",
            gender=gender,
            birth_date=birth_date,
            id_number="001190000001",
            actor=ACTOR,
        )
    )


@pytest.fixture
def register(ledger) -> InMemoryRegister:
    """Units d1 and c1, workplace w1 under d1, union u1 at w1 under d1, member m1 in u1."""
    unit(ledger, "d1")
    unit(ledger, "c1", kind="commune")
    workplace(ledger)
    union(ledger)
    member(ledger)
    return ledger


def stored(ledger: InMemoryRegister, cls, client_id: str):
    return ledger.repository.get(cls.storage_id(client_id))


def event_names(ledger: InMemoryRegister, cls, client_id: str) -> list[str]:
    return [type(e).__name__ for e in ledger.repository.event_store.get(cls.storage_id(client_id))]


# ---- units ---------------------------------------------------------------------


def test_establishing_a_unit_records_its_fields(ledger):
    established = unit(ledger, "d1", kind="district", established_on=date(2020, 1, 1))
    assert (established.unit_id, established.kind, established.established_on, established.closed_on) == (
        "d1",
        "district",
        date(2020, 1, 1),
        None,
    )


def test_a_unit_can_be_established_today(ledger):
    assert unit(ledger, "d1", established_on=TODAY).established_on == TODAY


def test_a_unit_cannot_be_established_tomorrow(ledger):
    with pytest.raises(InvalidValue) as refused:
        unit(ledger, "d1", established_on=date(2026, 11, 25))
    assert refused.value.field == "established_on"


def test_a_unit_id_that_exists_is_refused(ledger):
    unit(ledger, "d1")
    with pytest.raises(AlreadyExists) as refused:
        unit(ledger, "d1", kind="commune")
    assert refused.value.rule == "unique_id"


def test_a_refused_duplicate_leaves_the_first_unit_as_it_was(ledger):
    unit(ledger, "d1", kind="district")
    with pytest.raises(AlreadyExists):
        unit(ledger, "d1", kind="commune")
    assert (stored(ledger, Unit, "d1").kind, stored(ledger, Unit, "d1").version) == ("district", 1)


@pytest.mark.parametrize("bad_id", ["", "a b", "a/b", "x" * 65, "ngành-giáo-dục"])
def test_a_unit_id_outside_the_pattern_is_refused(ledger, bad_id):
    with pytest.raises(InvalidValue) as refused:
        unit(ledger, bad_id)
    assert refused.value.field == "id"


def test_a_64_character_id_with_every_allowed_sign_is_accepted(ledger):
    client_id = ("Ab9._:-" * 10)[:64]
    assert unit(ledger, client_id).unit_id == client_id


def test_an_unknown_unit_kind_is_refused(ledger):
    with pytest.raises(InvalidValue) as refused:
        unit(ledger, "d1", kind="province")
    assert refused.value.field == "kind"


def test_a_child_unit_records_its_parent(ledger):
    unit(ledger, "d1")
    assert unit(ledger, "sub", kind="other", parent_id="d1").parent_id == "d1"


def test_a_child_unit_under_an_unknown_parent_is_not_found(ledger):
    with pytest.raises(NotFound) as refused:
        unit(ledger, "sub", parent_id="nowhere")
    assert refused.value.field == "parent_id"


def test_a_unit_cannot_be_its_own_parent(ledger):
    with pytest.raises(Conflict) as refused:
        unit(ledger, "d1", parent_id="d1")
    assert refused.value.rule == "parent"


def test_a_child_unit_before_its_parent_was_established_is_refused(ledger):
    unit(ledger, "d1", established_on=date(2020, 1, 1))
    with pytest.raises(Conflict) as refused:
        unit(ledger, "sub", established_on=date(2019, 12, 31), parent_id="d1")
    assert refused.value.rule == "unit_active"


def test_closing_a_unit_with_a_successor_records_both(register):
    closed = register.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), successor_id="c1", actor=ACTOR))
    assert (closed.closed_on, closed.successor_id) == (date(2025, 7, 1), "c1")


def test_closing_a_unit_without_a_successor_is_refused_while_anything_is_under_it(register, queries):
    queries.under_unit["d1"] = 2
    with pytest.raises(Conflict) as refused:
        register.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), actor=ACTOR))
    assert refused.value.rule == "unit_not_empty"


def test_a_refused_closure_leaves_the_unit_open(register, queries):
    queries.under_unit["d1"] = 2
    with pytest.raises(Conflict):
        register.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), actor=ACTOR))
    assert event_names(register, Unit, "d1") == ["UnitEstablished"]


def test_an_empty_unit_closes_without_a_successor(ledger):
    unit(ledger, "d1")
    assert ledger.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), actor=ACTOR)).closed_on == date(2025, 7, 1)


def test_closing_an_unknown_unit_is_not_found(ledger):
    with pytest.raises(NotFound):
        ledger.run(CloseUnit(unit_id="nowhere", closed_on=date(2025, 7, 1), actor=ACTOR))


def test_a_unit_cannot_close_twice(ledger):
    unit(ledger, "d1")
    ledger.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), actor=ACTOR))
    with pytest.raises(Conflict) as refused:
        ledger.run(CloseUnit(unit_id="d1", closed_on=date(2025, 8, 1), actor=ACTOR))
    assert refused.value.rule == "unit_closed"


def test_a_unit_cannot_close_before_it_was_established(ledger):
    unit(ledger, "d1", established_on=date(2020, 1, 1))
    with pytest.raises(Conflict) as refused:
        ledger.run(CloseUnit(unit_id="d1", closed_on=date(2019, 1, 1), actor=ACTOR))
    assert refused.value.rule == "date_order"


def test_a_unit_cannot_close_tomorrow(ledger):
    unit(ledger, "d1")
    with pytest.raises(InvalidValue) as refused:
        ledger.run(CloseUnit(unit_id="d1", closed_on=date(2026, 11, 25), actor=ACTOR))
    assert refused.value.field == "closed_on"


def test_a_unit_cannot_succeed_itself(ledger):
    unit(ledger, "d1")
    with pytest.raises(Conflict) as refused:
        ledger.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), successor_id="d1", actor=ACTOR))
    assert refused.value.rule == "successor"


def test_an_unknown_successor_is_not_found(ledger):
    unit(ledger, "d1")
    with pytest.raises(NotFound) as refused:
        ledger.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), successor_id="nowhere", actor=ACTOR))
    assert refused.value.field == "successor_id"


def test_a_closed_successor_is_refused(ledger):
    unit(ledger, "d1")
    unit(ledger, "c1")
    ledger.run(CloseUnit(unit_id="c1", closed_on=date(2024, 1, 1), actor=ACTOR))
    with pytest.raises(Conflict) as refused:
        ledger.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), successor_id="c1", actor=ACTOR))
    assert refused.value.rule == "unit_active"


def test_a_successor_established_after_the_closing_day_is_refused(ledger):
    unit(ledger, "d1")
    unit(ledger, "c1", established_on=date(2025, 8, 1))
    with pytest.raises(Conflict) as refused:
        ledger.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), successor_id="c1", actor=ACTOR))
    assert refused.value.rule == "unit_active"


# ---- workplaces ----------------------------------------------------------------


def test_registering_a_workplace_records_its_workforce(ledger):
    unit(ledger, "d1")
    registered = workplace(ledger, workers=100, female_workers=60, as_of=date(2021, 1, 1))
    assert (registered.workers, registered.female_workers, registered.registered_on) == (100, 60, date(2021, 1, 1))


def test_more_female_workers_than_workers_is_refused(ledger):
    unit(ledger, "d1")
    with pytest.raises(InvalidValue) as refused:
        workplace(ledger, workers=10, female_workers=11)
    assert refused.value.field == "female_workers"


def test_a_negative_workforce_is_refused(ledger):
    unit(ledger, "d1")
    with pytest.raises(InvalidValue) as refused:
        workplace(ledger, workers=-1, female_workers=0)
    assert refused.value.field == "workers"


def test_an_unknown_sector_is_refused(ledger):
    unit(ledger, "d1")
    with pytest.raises(InvalidValue) as refused:
        workplace(ledger, sector="startup")
    assert refused.value.field == "sector"


def test_a_workplace_under_an_unknown_unit_is_not_found(ledger):
    with pytest.raises(NotFound) as refused:
        workplace(ledger, unit_id="nowhere")
    assert refused.value.field == "unit_id"


def test_a_workplace_under_a_unit_not_yet_established_is_refused(ledger):
    unit(ledger, "d1", established_on=date(2022, 1, 1))
    with pytest.raises(Conflict) as refused:
        workplace(ledger, as_of=date(2021, 1, 1))
    assert refused.value.rule == "unit_active"


def test_a_later_survey_becomes_the_current_workforce(register):
    surveyed = register.run(
        SurveyWorkplace(workplace_id="w1", workers=120, female_workers=70, as_of=date(2023, 1, 1), actor=ACTOR)
    )
    assert (surveyed.workers, surveyed.female_workers, surveyed.as_of) == (120, 70, date(2023, 1, 1))


def test_a_survey_recorded_late_for_an_earlier_date_does_not_replace_the_latest(register):
    register.run(
        SurveyWorkplace(workplace_id="w1", workers=120, female_workers=70, as_of=date(2023, 1, 1), actor=ACTOR)
    )
    surveyed = register.run(
        SurveyWorkplace(workplace_id="w1", workers=90, female_workers=50, as_of=date(2022, 1, 1), actor=ACTOR)
    )
    assert (surveyed.workers, surveyed.as_of) == (120, date(2023, 1, 1))


def test_a_survey_before_the_registration_is_refused(register):
    with pytest.raises(Conflict) as refused:
        register.run(
            SurveyWorkplace(workplace_id="w1", workers=120, female_workers=70, as_of=date(2020, 12, 31), actor=ACTOR)
        )
    assert refused.value.rule == "date_order"


def test_a_survey_with_more_female_workers_than_workers_is_refused(register):
    with pytest.raises(InvalidValue) as refused:
        register.run(
            SurveyWorkplace(workplace_id="w1", workers=5, female_workers=6, as_of=date(2023, 1, 1), actor=ACTOR)
        )
    assert refused.value.field == "female_workers"


def test_surveying_an_unknown_workplace_is_not_found(ledger):
    with pytest.raises(NotFound):
        ledger.run(
            SurveyWorkplace(workplace_id="nowhere", workers=1, female_workers=0, as_of=date(2023, 1, 1), actor=ACTOR)
        )


# ---- unions --------------------------------------------------------------------


def test_founding_a_union_records_its_workplace_and_unit(register):
    founded = stored(register, Union, "u1")
    assert (founded.workplace_id, founded.unit_id, founded.founded_on, founded.dissolved_on) == (
        "w1",
        "d1",
        date(2021, 6, 1),
        None,
    )


def test_a_second_active_union_at_a_workplace_is_refused(register, queries):
    queries.union_at_workplace["w1"] = "u1"
    with pytest.raises(Conflict) as refused:
        union(register, "u2", founded_on=date(2022, 1, 1))
    assert refused.value.rule == "one_union_per_workplace"


def test_a_union_founded_before_its_workplace_was_registered_is_refused(register):
    with pytest.raises(Conflict) as refused:
        union(register, "u2", founded_on=date(2020, 12, 31))
    assert refused.value.rule == "date_order"


def test_a_union_at_an_unknown_workplace_is_not_found(register):
    with pytest.raises(NotFound) as refused:
        union(register, "u2", workplace_id="nowhere")
    assert refused.value.field == "workplace_id"


def test_a_union_under_a_unit_not_yet_established_is_refused(register):
    unit(register, "late", established_on=date(2025, 1, 1))
    workplace(register, "w2", unit_id="d1", as_of=date(2021, 1, 1))
    with pytest.raises(Conflict) as refused:
        union(register, "u2", workplace_id="w2", unit_id="late", founded_on=date(2024, 6, 1))
    assert refused.value.rule == "unit_active"


def test_a_union_under_a_unit_on_or_after_its_closing_day_is_refused(register):
    unit(register, "gone")
    register.run(CloseUnit(unit_id="gone", closed_on=date(2024, 1, 1), actor=ACTOR))
    workplace(register, "w2")
    with pytest.raises(Conflict) as refused:
        union(register, "u2", workplace_id="w2", unit_id="gone", founded_on=date(2024, 1, 1))
    assert refused.value.rule == "unit_active"


def test_a_union_placed_before_a_closure_with_successor_is_accepted(register):
    register.run(CloseUnit(unit_id="d1", closed_on=date(2025, 7, 1), successor_id="c1", actor=ACTOR))
    workplace(register, "w2")
    assert union(register, "u2", workplace_id="w2", unit_id="d1", founded_on=date(2024, 1, 1)).unit_id == "d1"


def test_a_union_founded_tomorrow_is_refused(register):
    workplace(register, "w2")
    with pytest.raises(InvalidValue) as refused:
        union(register, "u2", workplace_id="w2", founded_on=date(2026, 11, 25))
    assert refused.value.field == "founded_on"


def test_transferring_a_union_moves_it_to_the_new_unit(register):
    moved = register.run(TransferUnion(union_id="u1", to_unit_id="c1", effective_on=date(2025, 7, 1), actor=ACTOR))
    assert (moved.unit_id, moved.placed_on) == ("c1", date(2025, 7, 1))


def test_a_union_transfer_before_its_last_placement_is_refused(register):
    register.run(TransferUnion(union_id="u1", to_unit_id="c1", effective_on=date(2025, 7, 1), actor=ACTOR))
    with pytest.raises(Conflict) as refused:
        register.run(TransferUnion(union_id="u1", to_unit_id="d1", effective_on=date(2025, 6, 30), actor=ACTOR))
    assert refused.value.rule == "date_order"


def test_a_union_transfer_to_its_own_unit_is_refused(register):
    with pytest.raises(Conflict) as refused:
        register.run(TransferUnion(union_id="u1", to_unit_id="d1", effective_on=date(2025, 7, 1), actor=ACTOR))
    assert refused.value.rule == "same_unit"


def test_a_union_transfer_to_a_unit_not_yet_established_is_refused(register):
    unit(register, "late", established_on=date(2025, 1, 1))
    with pytest.raises(Conflict) as refused:
        register.run(TransferUnion(union_id="u1", to_unit_id="late", effective_on=date(2024, 12, 31), actor=ACTOR))
    assert refused.value.rule == "unit_active"


def test_transferring_an_unknown_union_is_not_found(register):
    with pytest.raises(NotFound):
        register.run(TransferUnion(union_id="nowhere", to_unit_id="c1", effective_on=date(2025, 7, 1), actor=ACTOR))


def test_dissolving_a_union_with_active_members_is_refused(register, queries):
    queries.members_in_union["u1"] = 1
    with pytest.raises(Conflict) as refused:
        register.run(DissolveUnion(union_id="u1", dissolved_on=date(2025, 1, 1), reason="closed", actor=ACTOR))
    assert refused.value.rule == "union_has_members"


def test_dissolving_a_union_without_members_records_date_and_reason(register):
    dissolved = register.run(
        DissolveUnion(union_id="u1", dissolved_on=date(2025, 1, 1), reason="enterprise closed", actor=ACTOR)
    )
    assert (dissolved.dissolved_on, dissolved.dissolution_reason) == (date(2025, 1, 1), "enterprise closed")


def test_a_union_cannot_be_dissolved_twice(register):
    register.run(DissolveUnion(union_id="u1", dissolved_on=date(2025, 1, 1), reason="closed", actor=ACTOR))
    with pytest.raises(Conflict) as refused:
        register.run(DissolveUnion(union_id="u1", dissolved_on=date(2025, 2, 1), reason="closed", actor=ACTOR))
    assert refused.value.rule == "union_dissolved"


def test_a_dissolution_before_the_last_placement_is_refused(register):
    with pytest.raises(Conflict) as refused:
        register.run(DissolveUnion(union_id="u1", dissolved_on=date(2021, 5, 31), reason="closed", actor=ACTOR))
    assert refused.value.rule == "date_order"


def test_a_dissolved_union_cannot_be_transferred(register):
    register.run(DissolveUnion(union_id="u1", dissolved_on=date(2025, 1, 1), reason="closed", actor=ACTOR))
    with pytest.raises(Conflict) as refused:
        register.run(TransferUnion(union_id="u1", to_unit_id="c1", effective_on=date(2025, 7, 1), actor=ACTOR))
    assert refused.value.rule == "union_dissolved"


# ---- members -------------------------------------------------------------------


def test_admitting_a_member_records_union_date_and_gender(register):
    admitted = stored(register, Member, "m1")
    assert (admitted.union_id, admitted.admitted_on, admitted.gender, admitted.left_on) == (
        "u1",
        date(2021, 7, 1),
        "female",
        None,
    )


def test_personal_data_is_sealed_under_a_key_of_the_members_own(ledger):
    unit(ledger)
    workplace(ledger)
    union(ledger)
    member(ledger, "m1", birth_date=date(1990, 3, 4))
    member(ledger, "m2", birth_date=date(1990, 3, 4))
    sealed = stored(ledger, Member, "m1").personal
    assert sealed.startswith(PREFIX) and ledger.keys["m1"] != ledger.keys["m2"]
    assert unseal("m1", sealed, ledger.keys["m1"]) == {
        "full_name": "Nguyễn Thị Lan",
        "birth_date": "1990-03-04",
        "id_number": "001190000001",
    }


def test_the_admission_event_holds_only_the_sealed_personal_data(register):
    admitted = register.repository.event_store.get(Member.storage_id("m1"))
    event = next(iter(admitted))
    assert "Nguyễn Thị Lan" not in repr(vars(event)) and "001190000001" not in repr(vars(event))
    assert event.personal.startswith(PREFIX)


def unseal(member_id: str, sealed: str, key: bytes) -> dict:
    import base64
    import json

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from persistence.vault import NONCE_SIZE

    raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :])
    return json.loads(AESGCM(key).decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], member_id.encode()))


# ---- events ----------------------------------------------------------------------


def test_every_event_names_its_actor(register):
    register.run(RecordDeparture(member_id="m1", left_on=date(2024, 1, 1), reason="retired", actor="qt:officer"))
    actors = [e.actor for e in register.repository.event_store.get(Member.storage_id("m1"))]
    assert actors == [ACTOR, "qt:officer"]


def test_a_members_events_are_named_for_what_happened(register):
    workplace(register, "w2")
    union(register, "u2", workplace_id="w2")
    register.run(TransferMember(member_id="m1", to_union_id="u2", effective_on=date(2024, 1, 1), actor=ACTOR))
    register.run(RecordDeparture(member_id="m1", left_on=date(2025, 1, 1), reason="retired", actor=ACTOR))
    assert event_names(register, Member, "m1") == ["MemberAdmitted", "MemberTransferred", "MemberLeft"]


# ---- periods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, start, end",
    [
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-H1", date(2024, 1, 1), date(2024, 6, 30)),
        ("2024-H2", date(2024, 7, 1), date(2024, 12, 31)),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
        ("2024-Q3", date(2024, 7, 1), date(2024, 9, 30)),
        ("2024-Q4", date(2024, 10, 1), date(2024, 12, 31)),
        ("2024-05", date(2024, 5, 1), date(2024, 5, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
        ("2024-12", date(2024, 12, 1), date(2024, 12, 31)),
        ("2023-2028", date(2023, 1, 1), date(2028, 12, 31)),
    ],
)
def test_a_period_spans_its_first_to_its_last_day(code, start, end):
    period = parse_period(code)
    assert (period.code, period.start, period.end) == (code, start, end)


@pytest.mark.parametrize(
    "code, days",
    [
        ("2024", 366),
        ("2023", 365),
        ("2024-H1", 182),
        ("2024-Q3", 92),
        ("2024-02", 29),
        ("2024-05", 31),
        ("2023-2028", 2192),
    ],
)
def test_a_period_counts_its_first_and_last_day(code, days):
    assert parse_period(code).days == days


@pytest.mark.parametrize(
    "code",
    [
        "",
        "24",
        "2024-H3",
        "2024-H0",
        "2024-Q0",
        "2024-Q5",
        "2024-00",
        "2024-13",
        "2024-5",
        "2024-h1",
        "2024-2024",
        "2028-2023",
        "1899",
        "2024 ",
        "2024/05",
        "2024-W10",
    ],
)
def test_a_malformed_period_is_refused(code):
    with pytest.raises(InvalidValue):
        parse_period(code)


def test_a_refused_period_names_the_field_it_came_from():
    with pytest.raises(InvalidValue) as refused:
        parse_period("2024-Q5", field="target_period")
    assert refused.value.field == "target_period"


# ---- indicators --------------------------------------------------------------------


def test_an_indicator_without_suffix_uses_the_default_threshold():
    assert parse_indicator("coverage_pct").min_workers == DEFAULT_MIN_WORKERS == 10


def test_an_at_suffix_sets_the_threshold():
    indicator = parse_indicator("coverage_pct@25")
    assert (indicator.code, indicator.base, indicator.min_workers) == ("coverage_pct@25", "coverage_pct", 25)


@pytest.mark.parametrize(
    "code", ["workplaces_eligible@20", "workplaces_covered@20", "coverage_pct@20", "member_worker_ratio_pct@20"]
)
def test_every_workplace_indicator_takes_a_threshold(code):
    assert parse_indicator(code).min_workers == 20


@pytest.mark.parametrize(
    "code",
    ["members_total@10", "unions_total@10", "members_admitted@10", "members_net_growth@10", "unions_dissolved@10"],
)
def test_an_indicator_that_counts_no_workplaces_takes_no_threshold(code):
    with pytest.raises(InvalidValue):
        parse_indicator(code)


@pytest.mark.parametrize(
    "code",
    [
        "coverage_pct@",
        "coverage_pct@0",
        "coverage_pct@-5",
        "coverage_pct@2.5",
        "coverage_pct@ten",
        "coverage_pct@100001",
        "coverage_pct@10@20",
    ],
)
def test_a_threshold_must_be_a_whole_number_from_1_to_100000(code):
    with pytest.raises(InvalidValue):
        parse_indicator(code)


def test_the_largest_threshold_is_accepted():
    assert parse_indicator("workplaces_eligible@100000").min_workers == 100000


@pytest.mark.parametrize("code", ["", "members", "Members_total", "coverage", "@10"])
def test_an_unknown_indicator_is_refused(code):
    with pytest.raises(InvalidValue):
        parse_indicator(code)


def test_a_refused_indicator_names_the_field_it_came_from():
    with pytest.raises(InvalidValue) as refused:
        parse_indicator("nope", field="indicators")
    assert refused.value.field == "indicators"


@pytest.mark.parametrize(
    "code, is_flow",
    [
        ("members_admitted", True),
        ("unions_founded", True),
        ("members_net_growth", True),
        ("members_total", False),
        ("coverage_pct@25", False),
    ],
)
def test_flows_are_told_from_stocks(code, is_flow):
    assert parse_indicator(code).is_flow is is_flow


@pytest.mark.parametrize(
    "code, is_percentage",
    [
        ("coverage_pct", True),
        ("member_worker_ratio_pct@20", True),
        ("workplaces_covered", False),
        ("members_total", False),
    ],
)
def test_percentages_are_told_from_counts(code, is_percentage):
    assert parse_indicator(code).is_percentage is is_percentage


@pytest.mark.parametrize(
    "numerator, denominator, expected",
    [
        (1, 3, 33.3),
        (2, 3, 66.7),
        (1, 16, 6.3),
        (1, 8, 12.5),
        (7, 10, 70.0),
        (10, 10, 100.0),
        (0, 5, 0.0),
        (95, 100, 95.0),
        (2, 7, 28.6),
    ],
)
def test_a_percentage_has_one_decimal(numerator, denominator, expected):
    assert percentage(numerator, denominator) == expected


@pytest.mark.parametrize("numerator", [0, 5])
def test_a_percentage_over_nothing_is_zero(numerator):
    assert percentage(numerator, 0) == 0


def test_an_admission_built_alone_is_the_event_a_new_member_records():
    kwargs = {
        "member_id": "m1",
        "union_id": "u1",
        "admitted_on": date(2020, 1, 1),
        "gender": "female",
        "personal": "aesgcm:sealed",
        "actor": "t:federation_admin",
    }
    recorded = Member(**kwargs).collect_events()[0]
    alone = Member.admission(**kwargs)
    assert type(alone) is type(recorded)
    assert {k: v for k, v in vars(alone).items() if k != "timestamp"} == {
        k: v for k, v in vars(recorded).items() if k != "timestamp"
    }
    member = alone.mutate(None)
    assert (member.member_id, member.union_id, member.version) == ("m1", "u1", 1)
