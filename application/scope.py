"""A scoped principal's reach: what lies under its scope unit on the date a question or command is about.

The access policy (application/policy.py) decides what a role may do; a scope decides where. A
commune union's clerk reaches the unions under that commune on the day an admission is dated; a
district's officer, after the district closed in the 2025 reorganisation, still reaches what lay
under it up to the closure. Outside the reach, everything answers as if it did not exist (404).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.commands import (
    AdmitMember,
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
from domain.errors import NotFound
from domain.periods import parse_period
from domain.reports import Report
from domain.targets import Target
from projections.placement import SPAN_TABLE, KnownPlacements, Placements, Span, UnionsUnder, UnitsUnder, holder_on


@dataclass(frozen=True)
class Reach:
    """An entity a use case reaches, on a day; refused (if outside) by the request's ``field``,
    or as the target or report it belongs to."""

    kind: str
    id: str | None  # None: the whole tenant
    on: date
    field: str
    refused_as: tuple[str, str] | None = None  # (kind, id) that answers 404 in its place


class OutOfScope(NotFound):
    """Outside a scoped principal's reach: answered exactly as an entity that does not exist."""


def refused(kind: str, entity_id: str | None, field: str) -> OutOfScope:
    if entity_id is None:
        return OutOfScope("the whole tenant lies outside this principal's scope", field=field, rule="scope")
    return OutOfScope(f"{kind} {entity_id!r} does not exist", field=field, rule="scope")


class Scope:
    """Whether units, workplaces, unions and members lay under ``unit_id`` on given days. One
    scope serves one use case: the placements it reads are kept for its later questions.

    With ``known`` (the store's KnownPlacements) the units' and unions' spans come from what the
    process keeps: a reading scope (``current=True``) first asks whether they changed, one small
    statement; a command's scope takes them as kept, and the check under the tenant lock
    (application.commit) checks again if the version it reads there is another (``renew``)."""

    def __init__(
        self, unit_id: str, placements: Placements, known: KnownPlacements | None = None, current: bool = True
    ):
        self.unit_id = unit_id
        self._placements = placements
        self._known = known
        self._current = current
        self.version: int | None = None  # of the known placements this scope's answers rest on
        self._units: UnitsUnder | None = None
        self._unions: UnionsUnder | None = None
        self._spans: dict[str, dict[str, list[Span]]] = {kind: {} for kind in SPAN_TABLE}

    def _version(self) -> int:
        assert self._known is not None
        if self.version is None:
            self.version = self._known.renew() if self._current else self._known.known_version()
        return self.version

    def renew(self, version: int) -> bool:
        """Under the tenant lock, with the placements' ``version`` read there: whether this scope's
        answers rest on another one (then what it read is forgotten, to be read again)."""
        if self._known is None or self.version == version:
            return False
        self._known.renew(version)
        changed, self.version = self.version is not None, version
        if changed:
            self._units, self._unions = None, None
            self._spans = {kind: {} for kind in SPAN_TABLE}
        return changed

    @property
    def units(self) -> UnitsUnder:
        if self._units is None:
            if self._known is not None:
                self._units = self._known.units_under(self.unit_id, self._version())
            else:
                self._units = self._placements.units_under(self.unit_id)
        return self._units

    @property
    def unions(self) -> UnionsUnder | None:
        """The unions under the scope unit as the process keeps them (None without ``known``)."""
        if self._unions is None and self._known is not None:
            self._unions = self._known.unions_under(self.unit_id, self._version())
        return self._unions

    def _load(self, kind: str, ids: Iterable[str]) -> None:
        if kind == "union" and self._known is not None:
            return  # answered by ``unions``, kept with every union that ever lay under the scope unit
        known = self._spans[kind]
        missing = [i for i in set(ids) if i not in known]
        if missing:
            found = self._placements.spans(kind, missing)
            for i in missing:
                known[i] = found.get(i, [])

    def holds(self, kind: str, entity_id: str | None, on: date) -> bool:
        """Whether the entity lay under the scope unit on ``on`` (or on its nearest day in the
        register); the whole tenant (no id) never does."""
        return self.holds_many([(kind, entity_id, on)])[0]

    def holds_many(self, asked: list[tuple[str, str | None, date]]) -> list[bool]:
        """``holds`` for many at once: each kind's placements read in one query."""
        kinds = {k for k, i, _on in asked if i is not None}
        for kind in ("member", "workplace", "union"):
            if kind in kinds:  # a kind not asked about has nothing to read
                self._load(kind, [i for k, i, _on in asked if k == kind and i is not None])
        if "member" in kinds:
            members = [
                holder_on(self._spans["member"][i], on.toordinal())
                for k, i, on in asked
                if k == "member" and i is not None
            ]
            self._load("union", [u for u, _day in members if u is not None])
        return [self._holds(kind, entity_id, on.toordinal()) for kind, entity_id, on in asked]

    def _holds(self, kind: str, entity_id: str | None, day: int) -> bool:
        if entity_id is None:
            return False
        if kind == "unit":
            return self.units.holds(entity_id, day)
        if kind == "union" and self._known is not None:
            unions = self.unions
            assert unions is not None
            return unions.holds(entity_id, day)
        self._load(kind, [entity_id])
        holder, day = holder_on(self._spans[kind][entity_id], day)
        if holder is None:
            return False
        return self._holds("union", holder, day) if kind == "member" else self.units.holds(holder, day)

    def settled(self, reaches: list[Reach]) -> int | None:
        """The placements' version ``reaches`` were found within the scope at, if only units and
        unions (whose spans are kept by that version) decided it: as long as the version read under
        the tenant lock is this one, the check there would find the same. None: check it again."""
        if self._known is None or self.version is None:
            return None
        return self.version if all(r.kind in ("unit", "union") for r in reaches) else None

    def require(self, reaches: list[Reach]) -> None:
        """OutOfScope (404) for the first entity a use case reaches that lies outside the scope."""
        answers = self.holds_many([(r.kind, r.id, r.on) for r in reaches])
        for reach, inside in zip(reaches, answers):
            if not inside:
                kind, entity_id = reach.refused_as or (reach.kind, reach.id)
                raise refused(kind, entity_id, reach.field)


def _year_day(year: int, today: date) -> date:
    """A yearly record is placed by the year's last day, or today while the year runs (or is not one)."""
    return min(date(year, 12, 31), today) if 1900 <= year <= 9999 else today


def plan_day(period: str, today: date) -> date:
    """The day a target or report of a period is placed by: its last day, or today while it runs."""
    return min(parse_period(period).end, today)


def command_reaches(command: Command, uow: Any) -> list[Reach]:
    """What ``command`` acts on and where, on the date it is about: the entities it changes and
    the units or unions it puts them under."""
    match command:  # each command is of one class alone: the busiest, an admission, asked first
        case AdmitMember():
            return [Reach("union", command.union_id, command.admitted_on, "union_id")]
        case EstablishUnit():
            return [Reach("unit", command.parent_id, command.established_on, "parent_id")]
        case CloseUnit():
            reaches: list[Reach] = [Reach("unit", command.unit_id, command.closed_on, "id")]
            if command.successor_id:
                reaches.append(Reach("unit", command.successor_id, command.closed_on, "successor_id"))
            return reaches
        case RegisterWorkplace():
            return [Reach("unit", command.unit_id, command.as_of, "unit_id")]
        case SurveyWorkplace():
            return [Reach("workplace", command.workplace_id, command.as_of, "id")]
        case FoundUnion():
            return [
                Reach("unit", command.unit_id, command.founded_on, "unit_id"),
                Reach("workplace", command.workplace_id, command.founded_on, "workplace_id"),
            ]
        case TransferUnion():
            return [
                Reach("union", command.union_id, command.effective_on, "id"),
                Reach("unit", command.to_unit_id, command.effective_on, "to_unit_id"),
            ]
        case DissolveUnion():
            return [Reach("union", command.union_id, command.dissolved_on, "id")]
        case TransferMember():
            return [
                Reach("member", command.member_id, command.effective_on, "id"),
                Reach("union", command.to_union_id, command.effective_on, "to_union_id"),
            ]
        case RecordDeparture():
            return [Reach("member", command.member_id, command.left_on, "id")]
        case TransferMemberIn():
            return [Reach("union", command.union_id, command.effective_on, "union_id")]
        case TransferMemberOut() | ProposeMove():
            return [Reach("member", command.member_id, command.effective_on, "id")]
        case RecordMoveRefused() | RecordMoveWithdrawn():
            return [Reach("member", command.member_id, uow.today(), "id")]
        case EraseMemberData():
            return [Reach("member", command.member_id, uow.today(), "id")]
        case RateUnion():
            return [Reach("union", command.union_id, command.decided_on, "id")]
        case FoundWomensCommittee():
            return [Reach("union", command.union_id, command.founded_on, "id")]
        case RecordDues():
            return [Reach("union", command.union_id, plan_day(command.period, uow.today()), "id")]
        case RecordTraining():
            return [Reach("union", command.union_id, _year_day(command.year, uow.today()), "id")]
        case SignAgreement():
            return [Reach("workplace", command.workplace_id, command.signed_on, "id")]
        case HoldConference():
            return [Reach("workplace", command.workplace_id, command.held_on, "id")]
        case IssueCard():
            return [Reach("member", command.member_id, command.issued_on, "id")]
        case AssignTarget():
            return [Reach("unit", command.unit_id, plan_day(command.period, uow.today()), "unit_id")]
        case ReviseTarget():
            target = uow.get(Target, command.target_id)
            return [
                Reach(
                    "unit",
                    target.unit_id,
                    plan_day(target.period, uow.today()),
                    "id",
                    ("target", command.target_id),
                )
            ]
        case SubmitReport():
            reaches = [
                Reach("unit", command.unit_id, command.as_of or plan_day(command.period, uow.today()), "unit_id")
            ]
            if command.replaces is not None:
                old = uow.get(Report, command.replaces, "replaces")
                reaches.append(Reach("unit", old.unit_id, old.as_of, "replaces", ("report", command.replaces)))
            return reaches
        case RecordVerification():
            report = uow.get(Report, command.report_id)
            return [Reach("unit", report.unit_id, report.as_of, "id", ("report", command.report_id))]
    raise TypeError(f"no scope rule for {type(command).__name__}")  # a new command needs its rule here
