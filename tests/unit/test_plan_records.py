"""The plans' other records (ratings, agreements, women's committees, cards, dues, training,
conferences): the domain's rules, on the in-memory register of test_domain, no I/O."""

from __future__ import annotations

from datetime import date

import pytest

from domain.cards import Card
from domain.commands import (
    DissolveUnion,
    FoundWomensCommittee,
    HoldConference,
    IssueCard,
    RateUnion,
    RecordDeparture,
    RecordDues,
    RecordTraining,
    SignAgreement,
)
from domain.errors import Conflict, InvalidValue, NotFound
from domain.members import Member
from domain.unions import Union
from domain.workplaces import Workplace
from tests.unit.test_domain import ACTOR, TODAY, event_names, member, stored


def refusal(register, command, kind=Conflict):
    with pytest.raises(kind) as raised:
        register.run(command)
    return raised.value


# ---- ratings --------------------------------------------------------------------------------------
def test_a_rating_is_recorded_with_its_year_and_decision_date(register):
    register.run(RateUnion(union_id="u1", year=2024, rating="good", decided_on=date(2025, 1, 15), actor=ACTOR))
    rated = list(register.event_store.repository.event_store.get(Union.storage_id("u1")))[-1]
    assert (type(rated).__name__, rated.year, rated.rating, rated.decided_on, rated.actor) == (
        "UnionRated",
        2024,
        "good",
        date(2025, 1, 15),
        ACTOR,
    )


def test_a_second_rating_of_the_same_year_is_a_new_event(register):
    for rating in ("fair", "excellent"):
        register.run(RateUnion(union_id="u1", year=2024, rating=rating, decided_on=date(2025, 1, 15), actor=ACTOR))
    assert event_names(register, Union, "u1").count("UnionRated") == 2


def test_a_rating_for_a_year_before_the_founding_is_refused(register):
    # u1 was founded on 2021-06-01: 2021 may be rated, 2020 may not.
    error = refusal(
        register, RateUnion(union_id="u1", year=2020, rating="good", decided_on=date(2025, 1, 1), actor=ACTOR)
    )
    assert (error.field, error.rule) == ("year", "rated_before_founding")
    register.run(RateUnion(union_id="u1", year=2021, rating="good", decided_on=date(2022, 1, 1), actor=ACTOR))


@pytest.mark.parametrize(
    "change, field",
    [
        ({"rating": "strong"}, "rating"),
        ({"year": 2026, "decided_on": date(2025, 12, 31)}, "year"),
        ({"decided_on": date(2026, 11, 25)}, "decided_on"),  # the day after TODAY
        ({"year": 99}, "year"),
    ],
)
def test_a_bad_rating_field_is_named(register, change, field):
    fields = {"union_id": "u1", "year": 2024, "rating": "good", "decided_on": date(2025, 1, 1), "actor": ACTOR}
    assert refusal(register, RateUnion(**{**fields, **change}), InvalidValue).field == field


def test_a_rating_decided_after_the_dissolution_is_refused(register):
    register.run(RecordDeparture(member_id="m1", left_on=date(2023, 1, 1), reason="retired", actor=ACTOR))
    register.run(DissolveUnion(union_id="u1", dissolved_on=date(2024, 1, 1), reason="closed", actor=ACTOR))
    error = refusal(
        register, RateUnion(union_id="u1", year=2023, rating="good", decided_on=date(2024, 2, 1), actor=ACTOR)
    )
    assert (error.field, error.rule) == ("decided_on", "union_active")


def test_rating_an_unknown_union_is_not_found(register):
    refusal(
        register,
        RateUnion(union_id="nope", year=2024, rating="good", decided_on=date(2025, 1, 1), actor=ACTOR),
        NotFound,
    )


# ---- women's committees -----------------------------------------------------------------------------
def test_a_womens_committee_is_founded_once(register):
    register.run(FoundWomensCommittee(union_id="u1", founded_on=date(2022, 3, 8), actor=ACTOR))
    assert stored(register, Union, "u1").womens_committee_on == date(2022, 3, 8)
    error = refusal(register, FoundWomensCommittee(union_id="u1", founded_on=date(2023, 3, 8), actor=ACTOR))
    assert error.rule == "womens_committee_exists"


def test_a_womens_committee_before_the_union_is_refused(register):
    error = refusal(register, FoundWomensCommittee(union_id="u1", founded_on=date(2021, 5, 31), actor=ACTOR))
    assert (error.field, error.rule) == ("founded_on", "union_active")


# ---- dues -----------------------------------------------------------------------------------------
def test_dues_collected_above_due_are_accepted_and_recorded_today(register):
    register.run(RecordDues(union_id="u1", period="2024-Q4", due=3_000_000, collected=3_400_000, actor=ACTOR))
    dues = register.event_store.repository.event_store.get(Union.storage_id("u1"))
    last = list(dues)[-1]
    assert (last.period, last.due, last.collected, last.recorded_on) == ("2024-Q4", 3_000_000, 3_400_000, TODAY)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"period": "2024-13"}, "period"),
        ({"period": "2026-12"}, "period"),  # starts after TODAY (2026-11-24)
        ({"due": -1}, "due"),
        ({"collected": 1.5}, "collected"),
    ],
)
def test_a_bad_dues_field_is_named(register, change, field):
    fields = {"union_id": "u1", "period": "2024", "due": 100, "collected": 90, "actor": ACTOR}
    assert refusal(register, RecordDues(**{**fields, **change}), InvalidValue).field == field


def test_dues_for_a_period_before_the_union_are_refused(register):
    error = refusal(register, RecordDues(union_id="u1", period="2021-Q1", due=100, collected=90, actor=ACTOR))
    assert (error.field, error.rule) == ("period", "union_active")
    register.run(RecordDues(union_id="u1", period="2021-Q2", due=100, collected=90, actor=ACTOR))  # founded 1 June


# ---- training -------------------------------------------------------------------------------------
def test_more_trained_officials_than_officials_are_refused(register):
    error = refusal(register, RecordTraining(union_id="u1", year=2024, officials=7, trained=8, actor=ACTOR))
    assert (error.field, error.rule) == ("trained", "trained_exceeds_officials")
    register.run(RecordTraining(union_id="u1", year=2024, officials=7, trained=7, actor=ACTOR))
    assert event_names(register, Union, "u1")[-1] == "OfficialsTrainingRecorded"


def test_training_for_a_year_to_come_is_refused(register):
    assert (
        refusal(
            register, RecordTraining(union_id="u1", year=2027, officials=7, trained=1, actor=ACTOR), InvalidValue
        ).field
        == "year"
    )


# ---- agreements and conferences --------------------------------------------------------------------
def test_an_agreement_may_expire_after_today_but_not_before_its_signing(register):
    register.run(
        SignAgreement(workplace_id="w1", signed_on=date(2024, 5, 1), expires_on=date(2027, 4, 30), actor=ACTOR)
    )
    assert event_names(register, Workplace, "w1")[-1] == "CollectiveAgreementSigned"
    error = refusal(
        register,
        SignAgreement(workplace_id="w1", signed_on=date(2024, 5, 1), expires_on=date(2024, 4, 30), actor=ACTOR),
    )
    assert (error.field, error.rule) == ("expires_on", "agreement_expiry")


def test_an_agreement_signed_in_the_future_or_before_registration_is_refused(register):
    future = SignAgreement(workplace_id="w1", signed_on=date(2026, 11, 25), expires_on=date(2028, 1, 1), actor=ACTOR)
    assert refusal(register, future, InvalidValue).field == "signed_on"
    early = SignAgreement(workplace_id="w1", signed_on=date(2020, 12, 31), expires_on=date(2022, 1, 1), actor=ACTOR)
    assert refusal(register, early).rule == "date_order"  # w1 was registered as of 2021-01-01


def test_a_conference_is_recorded_and_may_not_lie_in_the_future(register):
    register.run(HoldConference(workplace_id="w1", held_on=date(2025, 2, 20), actor=ACTOR))
    assert event_names(register, Workplace, "w1")[-1] == "WorkersConferenceHeld"
    assert (
        refusal(
            register, HoldConference(workplace_id="w1", held_on=date(2026, 11, 25), actor=ACTOR), InvalidValue
        ).field
        == "held_on"
    )


# ---- cards ----------------------------------------------------------------------------------------
def test_a_card_is_issued_with_its_numbers_own_aggregate(register):
    register.run(IssueCard(member_id="m1", card_no="QT-000123", issued_on=date(2022, 1, 10), actor=ACTOR))
    assert stored(register, Member, "m1").card_no == "QT-000123"
    assert stored(register, Card, "QT-000123").member_id == "m1"


def test_a_card_number_held_by_another_member_is_refused(register):
    member(register, "m2")
    register.run(IssueCard(member_id="m1", card_no="QT-000123", issued_on=date(2022, 1, 10), actor=ACTOR))
    error = refusal(register, IssueCard(member_id="m2", card_no="QT-000123", issued_on=date(2022, 1, 10), actor=ACTOR))
    assert (error.field, error.rule) == ("card_no", "card_no_taken")
    assert "MemberCardIssued" not in event_names(register, Member, "m2")


def test_the_same_number_may_be_issued_again_to_its_holder(register):
    for issued_on in (date(2022, 1, 10), date(2025, 1, 10)):
        register.run(IssueCard(member_id="m1", card_no="QT-000123", issued_on=issued_on, actor=ACTOR))
    assert event_names(register, Member, "m1").count("MemberCardIssued") == 2
    assert event_names(register, Card, "QT-000123") == ["CardNumberAssigned"]


def test_a_card_for_a_member_who_left_is_refused(register):
    register.run(RecordDeparture(member_id="m1", left_on=date(2023, 1, 1), reason="retired", actor=ACTOR))
    error = refusal(register, IssueCard(member_id="m1", card_no="QT-1", issued_on=date(2023, 1, 1), actor=ACTOR))
    assert (error.field, error.rule) == ("issued_on", "member_active")


@pytest.mark.parametrize("card_no", ["", "-12", "QT 1", "x" * 33, "thẻ1"])
def test_a_malformed_card_number_is_refused(register, card_no):
    error = refusal(
        register, IssueCard(member_id="m1", card_no=card_no, issued_on=date(2022, 1, 10), actor=ACTOR), InvalidValue
    )
    assert error.field == "card_no"
