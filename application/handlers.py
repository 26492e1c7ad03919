"""One handler per command: load what it needs, let the domain decide, add what changed.

A handler never saves: its unit of work does, in one transaction with the views and the hash
chain (application.unit_of_work). ``HANDLERS`` maps each command to its handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from application.unit_of_work import UnitOfWork
from domain.base import RegisterAggregate, new_id, not_after, one_of
from domain.cards import Card
from domain.commands import (
    AdmitMember,
    AssignNationalTarget,
    AssignTarget,
    CloseUnit,
    Command,
    DissolveUnion,
    EraseMemberData,
    EstablishUnit,
    FoundUnion,
    FoundWomensCommittee,
    HoldConference,
    IssueCard,
    ProposeMove,
    RateUnion,
    RecordDeparture,
    RecordDues,
    RecordMoveRefused,
    RecordMoveWithdrawn,
    RecordTraining,
    RecordVerification,
    RegisterWorkplace,
    ReviseTarget,
    SignAgreement,
    SubmitReport,
    SurveyWorkplace,
    TransferMember,
    TransferMemberIn,
    TransferMemberOut,
    TransferUnion,
)
from domain.errors import AlreadyExists, Conflict, InvalidValue, NotFound
from domain.indicators import figure_value, parse_indicator
from domain.members import DEPARTURE_REASONS, GENDERS, Member, check_card_no, personal_data
from domain.national import NationalTarget
from domain.periods import parse_period
from domain.reports import Report
from domain.targets import Target
from domain.unions import Union
from domain.units import UNIT_KINDS, Unit
from domain.workplaces import SECTORS, Workplace, check_workforce


# ---- units ----------------------------------------------------------------------------------------
def establish_unit(c: EstablishUnit, uow: UnitOfWork) -> Unit:
    uow.require_new(Unit, c.id)
    one_of(c.kind, UNIT_KINDS, "kind")
    not_after(c.established_on, uow.today(), "established_on")
    if c.parent_id is not None:
        if c.parent_id == c.id:
            raise Conflict("a unit cannot be its own parent", field="parent_id", rule="parent")
        uow.get(Unit, c.parent_id, "parent_id").require_can_hold(c.established_on, "unit")
    return uow.add(
        Unit(
            unit_id=c.id,
            name=c.name,
            kind=c.kind,
            established_on=c.established_on,
            parent_id=c.parent_id,
            actor=c.actor,
        )
    )


def close_unit(c: CloseUnit, uow: UnitOfWork) -> Unit:
    unit = uow.get(Unit, c.unit_id)
    not_after(c.closed_on, uow.today(), "closed_on")
    successor = uow.get(Unit, c.successor_id, "successor_id") if c.successor_id else None
    if successor is not None and successor.closed_on is not None:
        raise Conflict(f"successor {c.successor_id} is closed", field="successor_id", rule="unit_active")
    if successor is not None and c.unit_id in _units_above(successor, uow):
        raise Conflict(
            f"successor {c.successor_id} lies under unit {c.unit_id}: what is under {c.unit_id} would "
            "move under itself",
            field="successor_id",
            rule="successor",
        )
    active = 0 if successor else uow.facts.active_under_unit(c.unit_id, c.closed_on)
    unit.close(c.closed_on, successor, active, c.actor)
    return uow.add(unit)


def _units_above(unit: Unit, uow: UnitOfWork) -> list[str]:
    """The units a unit lies under, nearest first; a closed unit hands what it held to its successor."""
    above: list[str] = []
    current = unit.parent_id
    while current is not None and current not in above:
        above.append(current)
        parent = uow.get(Unit, current)
        current = parent.successor_id or parent.parent_id
    return above


# ---- workplaces -----------------------------------------------------------------------------------
def register_workplace(c: RegisterWorkplace, uow: UnitOfWork) -> Workplace:
    uow.require_new(Workplace, c.id)
    one_of(c.sector, SECTORS, "sector")
    check_workforce(c.workers, c.female_workers)
    not_after(c.as_of, uow.today(), "as_of")
    uow.get(Unit, c.unit_id, "unit_id").require_can_hold(c.as_of, "workplace")
    return uow.add(
        Workplace(
            workplace_id=c.id,
            name=c.name,
            sector=c.sector,
            unit_id=c.unit_id,
            workers=c.workers,
            female_workers=c.female_workers,
            as_of=c.as_of,
            actor=c.actor,
        )
    )


def survey_workplace(c: SurveyWorkplace, uow: UnitOfWork) -> Workplace:
    workplace = uow.get(Workplace, c.workplace_id)
    not_after(c.as_of, uow.today(), "as_of")
    workplace.survey(c.workers, c.female_workers, c.as_of, c.actor)
    return uow.add(workplace)


# ---- unions -----------------------------------------------------------------------------------------
def found_union(c: FoundUnion, uow: UnitOfWork) -> Union:
    uow.require_new(Union, c.id)
    not_after(c.founded_on, uow.today(), "founded_on")
    workplace = uow.get(Workplace, c.workplace_id, "workplace_id")
    if c.founded_on < workplace.registered_on:
        raise Conflict(
            f"workplace {c.workplace_id} was registered as of {workplace.registered_on.isoformat()}, "
            "after the founding date",
            field="founded_on",
            rule="date_order",
        )
    uow.get(Unit, c.unit_id, "unit_id").require_can_hold(c.founded_on, "union")
    other = uow.facts.active_union_at_workplace(c.workplace_id, c.founded_on)
    if other:
        raise Conflict(
            f"workplace {c.workplace_id} already has an active union ({other})",
            field="workplace_id",
            rule="one_union_per_workplace",
        )
    return uow.add(
        Union(
            union_id=c.id,
            name=c.name,
            workplace_id=c.workplace_id,
            unit_id=c.unit_id,
            founded_on=c.founded_on,
            decision_no=c.decision_no,
            actor=c.actor,
        )
    )


def transfer_union(c: TransferUnion, uow: UnitOfWork) -> Union:
    union = uow.get(Union, c.union_id)
    not_after(c.effective_on, uow.today(), "effective_on")
    uow.get(Unit, c.to_unit_id, "to_unit_id").require_can_hold(c.effective_on, "union")
    union.transfer(c.to_unit_id, c.effective_on, c.actor)
    return uow.add(union)


def dissolve_union(c: DissolveUnion, uow: UnitOfWork) -> Union:
    union = uow.get(Union, c.union_id)
    not_after(c.dissolved_on, uow.today(), "dissolved_on")
    union.dissolve(c.dissolved_on, c.reason, uow.facts.active_members_in_union(c.union_id, c.dissolved_on), c.actor)
    return uow.add(union)


# ---- members ----------------------------------------------------------------------------------------
def admit_member(c: AdmitMember, uow: UnitOfWork) -> Member:
    uow.require_new(Member, c.id)
    one_of(c.gender, GENDERS, "gender")
    not_after(c.admitted_on, uow.today(), "admitted_on")
    if c.birth_date is not None and c.birth_date > c.admitted_on:
        raise InvalidValue("must be before the admission date", field="birth_date")
    uow.get(Union, c.union_id, "union_id").require_open_to_members(c.admitted_on)
    personal = uow.seal(c.id, personal_data(c.full_name, c.birth_date, c.id_number))
    return uow.add(
        Member(
            member_id=c.id,
            union_id=c.union_id,
            admitted_on=c.admitted_on,
            gender=c.gender,
            personal=personal,
            actor=c.actor,
        )
    )


def transfer_member(c: TransferMember, uow: UnitOfWork) -> Member:
    member = uow.get(Member, c.member_id)
    not_after(c.effective_on, uow.today(), "effective_on")
    uow.get(Union, c.to_union_id, "to_union_id").require_open_to_members(c.effective_on)
    member.transfer(c.to_union_id, c.effective_on, c.actor)
    return uow.add(member)


def record_departure(c: RecordDeparture, uow: UnitOfWork) -> Member:
    member = uow.get(Member, c.member_id)
    one_of(c.reason, DEPARTURE_REASONS, "reason")
    not_after(c.left_on, uow.today(), "left_on")
    member.leave(c.left_on, c.reason, c.actor)
    return uow.add(member)


def transfer_member_in(c: TransferMemberIn, uow: UnitOfWork) -> Member:
    """The member the transfer brought, recorded once: a repeat finds it and records nothing."""
    try:
        member = uow.get(Member, c.member_id, "member_id")
    except NotFound:
        member = None
    if member is not None:
        if member.transfer_id == c.transfer_id and member.version == 1:
            return member
        raise AlreadyExists(f"member {c.member_id!r} exists already", field="member_id", rule="unique_id")
    uow.require_new(Member, c.member_id)
    not_after(c.effective_on, uow.today(), "effective_on")
    uow.get(Union, c.union_id, "union_id").require_open_to_members(c.effective_on)
    personal = uow.seal(c.member_id, personal_data(c.full_name, c.birth_date, c.id_number))
    return uow.add(
        Member.transferred_in(
            member_id=c.member_id,
            union_id=c.union_id,
            admitted_on=c.admitted_on,
            effective_on=c.effective_on,
            gender=c.gender,
            personal=personal,
            from_tenant=c.from_tenant,
            transfer_id=c.transfer_id,
            actor=c.actor,
        )
    )


def propose_move(c: ProposeMove, uow: UnitOfWork) -> Member:
    """Recorded once: a member already held for this move is answered as is."""
    member = uow.get(Member, c.member_id, "member_id")
    if member.moving == c.transfer_id:
        return member
    not_after(c.effective_on, uow.today(), "effective_on")
    member.propose_move(c.to_tenant, c.transfer_id, c.effective_on, c.actor)
    return uow.add(member)


def record_move_refused(c: RecordMoveRefused, uow: UnitOfWork) -> Member:
    """Recorded once: a member no longer waiting for this move is answered as is."""
    member = uow.get(Member, c.member_id, "member_id")
    if member.move_refused(c.transfer_id, c.reason, uow.today(), c.actor):
        uow.add(member)
    return member


def record_move_withdrawn(c: RecordMoveWithdrawn, uow: UnitOfWork) -> Member:
    """Recorded once: a member no longer waiting for this move is answered as is."""
    member = uow.get(Member, c.member_id, "member_id")
    if member.move_withdrawn(c.transfer_id, c.reason, uow.today(), c.actor):
        uow.add(member)
    return member


def transfer_member_out(c: TransferMemberOut, uow: UnitOfWork) -> Member:
    """MemberTransferredOut, once: a member already gone by this transfer is answered as is."""
    member = uow.get(Member, c.member_id, "member_id")
    if member.left_on is not None and member.transfer_id == c.transfer_id:
        return member
    not_after(c.effective_on, uow.today(), "effective_on")
    member.transfer_out(c.to_tenant, c.transfer_id, c.effective_on, c.actor)
    return uow.add(member)


def erase_member_data(c: EraseMemberData, uow: UnitOfWork) -> Member:
    """MemberDataErased; the views destroy the member's key when they apply it."""
    member = uow.get(Member, c.member_id)
    member.erase_personal_data(uow.today(), c.reason, c.actor)
    return uow.add(member)


# ---- the plans' other records ------------------------------------------------------------------------
def rate_union(c: RateUnion, uow: UnitOfWork) -> Union:
    union = uow.get(Union, c.union_id)
    not_after(c.decided_on, uow.today(), "decided_on")
    union.rate(c.year, c.rating, c.decided_on, c.actor)
    return uow.add(union)


def found_womens_committee(c: FoundWomensCommittee, uow: UnitOfWork) -> Union:
    union = uow.get(Union, c.union_id)
    not_after(c.founded_on, uow.today(), "founded_on")
    union.found_womens_committee(c.founded_on, c.actor)
    return uow.add(union)


def record_dues(c: RecordDues, uow: UnitOfWork) -> Union:
    union = uow.get(Union, c.union_id)
    union.record_dues(c.period, c.due, c.collected, uow.today(), c.actor)
    return uow.add(union)


def record_training(c: RecordTraining, uow: UnitOfWork) -> Union:
    union = uow.get(Union, c.union_id)
    union.record_training(c.year, c.officials, c.trained, uow.today(), c.actor)
    return uow.add(union)


def sign_agreement(c: SignAgreement, uow: UnitOfWork) -> Workplace:
    workplace = uow.get(Workplace, c.workplace_id)
    not_after(c.signed_on, uow.today(), "signed_on")
    workplace.sign_agreement(c.signed_on, c.expires_on, c.actor)
    return uow.add(workplace)


def hold_conference(c: HoldConference, uow: UnitOfWork) -> Workplace:
    workplace = uow.get(Workplace, c.workplace_id)
    not_after(c.held_on, uow.today(), "held_on")
    workplace.hold_conference(c.held_on, c.actor)
    return uow.add(workplace)


def issue_card(c: IssueCard, uow: UnitOfWork) -> Member:
    """MemberCardIssued, saved with the number's own aggregate: a number another member holds is
    refused here, and by storage if another writer took it meanwhile."""
    member = uow.get(Member, c.member_id)
    check_card_no(c.card_no)
    not_after(c.issued_on, uow.today(), "issued_on")
    try:
        card = uow.get(Card, c.card_no, "card_no")
    except NotFound:
        card = None
    if card is not None:
        card.require_held_by(c.member_id)
    member.issue_card(c.card_no, c.issued_on, c.actor)
    if card is None:
        uow.add(Card(card_id=c.card_no, member_id=c.member_id, assigned_on=c.issued_on, actor=c.actor))
    return uow.add(member)


# ---- targets and reports ----------------------------------------------------------------------------
def _unit_or_tenant(unit_id: str | None, uow: UnitOfWork) -> None:
    if unit_id is not None:
        uow.get(Unit, unit_id, "unit_id")


def assign_target(c: AssignTarget, uow: UnitOfWork) -> Target:
    indicator = parse_indicator(c.indicator)
    parse_period(c.period)
    value = figure_value(indicator, c.value, "value")
    assigned_on = not_after(c.assigned_on or uow.today(), uow.today(), "assigned_on")
    _unit_or_tenant(c.unit_id, uow)
    return uow.add(
        Target(
            target_id=new_id("tg"),
            unit_id=c.unit_id,
            indicator=indicator.code,
            period=c.period,
            value=value,
            assigned_on=assigned_on,
            decision_no=c.decision_no,
            actor=c.actor,
        )
    )


def assign_national_target(c: AssignNationalTarget, uow: UnitOfWork) -> NationalTarget:
    indicator = parse_indicator(c.indicator)
    parse_period(c.period)
    value = figure_value(indicator, c.value, "value")
    return uow.add(
        NationalTarget(
            national_target_id=new_id("ntg"),
            tenant_id=c.tenant_id,
            indicator=indicator.code,
            period=c.period,
            value=value,
            assigned_on=uow.today(),
            actor=c.actor,
        )
    )


def revise_target(c: ReviseTarget, uow: UnitOfWork) -> Target:
    target = uow.get(Target, c.target_id)
    value = figure_value(parse_indicator(target.indicator), c.value, "value")
    target.revise(value, c.reason, not_after(c.revised_on or uow.today(), uow.today(), "revised_on"), c.actor)
    return uow.add(target)


def submit_report(c: SubmitReport, uow: UnitOfWork) -> Report:
    span = parse_period(c.period)
    as_of = c.as_of or min(span.end, uow.today())  # as the draft and the indicators default it
    not_after(as_of, uow.today(), "as_of")
    if as_of < span.start:
        raise InvalidValue("the cut-off date cannot precede the period", field="as_of")
    if not c.figures:
        raise InvalidValue("a report needs at least one figure", field="figures")
    figures = {
        code: figure_value(parse_indicator(code, field=f"figures.{code}"), value, f"figures.{code}")
        for code, value in c.figures.items()
    }
    _unit_or_tenant(c.unit_id, uow)
    report = uow.add(
        Report(
            report_id=new_id("rp"),
            unit_id=c.unit_id,
            period=c.period,
            as_of=as_of,
            figures=figures,
            replaces=c.replaces,
            submitted_on=uow.today(),
            actor=c.actor,
        )
    )
    if c.replaces is not None:
        old = uow.get(Report, c.replaces, "replaces")
        old.require_replaceable_by(c.unit_id, c.period)
        old.mark_replaced(report.report_id, c.actor, uow.today())
        uow.add(old)
    return report


def record_verification(c: RecordVerification, uow: UnitOfWork) -> Report:
    report = uow.get(Report, c.report_id)
    report.record_verification(c.verdict, c.lines, uow.today(), c.actor)
    return uow.add(report)


HANDLERS: dict[type[Command], Callable[[Any, UnitOfWork], RegisterAggregate]] = {
    EstablishUnit: establish_unit,
    CloseUnit: close_unit,
    RegisterWorkplace: register_workplace,
    SurveyWorkplace: survey_workplace,
    FoundUnion: found_union,
    TransferUnion: transfer_union,
    DissolveUnion: dissolve_union,
    AdmitMember: admit_member,
    TransferMember: transfer_member,
    RecordDeparture: record_departure,
    EraseMemberData: erase_member_data,
    RateUnion: rate_union,
    FoundWomensCommittee: found_womens_committee,
    RecordDues: record_dues,
    RecordTraining: record_training,
    SignAgreement: sign_agreement,
    HoldConference: hold_conference,
    IssueCard: issue_card,
    AssignTarget: assign_target,
    AssignNationalTarget: assign_national_target,
    ReviseTarget: revise_target,
    SubmitReport: submit_report,
    RecordVerification: record_verification,
    ProposeMove: propose_move,
    RecordMoveRefused: record_move_refused,
    RecordMoveWithdrawn: record_move_withdrawn,
    TransferMemberIn: transfer_member_in,
    TransferMemberOut: transfer_member_out,
}


def handle(command: Command, uow: UnitOfWork) -> RegisterAggregate:
    """Decide ``command`` in ``uow``: what it changes is added to it, to be saved with its commit."""
    return HANDLERS[type(command)](command, uow)
