"""What a user asks the register to do, one small class per command.

Each command names what it needs; ``reads_views`` says that its rules read facts across entities
from the views (which must then hold every event recorded before it), and ``grouped`` that it may
be saved in one transaction with other commands queued beside it: it changes one member (its
``key``) and its rules read only that member and unions, which no grouped command changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from domain.members import Member
from domain.unions import Union


@dataclass(frozen=True, kw_only=True)
class Command:
    actor: str
    reads_views: ClassVar[bool] = False
    grouped: ClassVar[bool] = False

    @property
    def key(self) -> str:
        """What a grouped command changes: no two commands of a group share it."""
        raise NotImplementedError

    def loads(self) -> list[UUID]:
        """The aggregates a grouped command reads or changes, loaded for its group at once."""
        raise NotImplementedError

    def creates(self) -> list[UUID]:
        """Of ``loads``, those the command makes anew: its rules require that none exists yet."""
        return []

    def consults(self) -> list[UUID]:
        """Of ``loads``, the unions whose founding and dissolution its rules read: their placements
        decide the answer, whatever else the union has recorded since."""
        return []


# ---- units ----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class EstablishUnit(Command):
    id: str
    name: str
    kind: str
    established_on: date
    parent_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CloseUnit(Command):
    unit_id: str
    closed_on: date
    successor_id: str | None = None
    reads_views: ClassVar[bool] = True  # what is still active under the unit


# ---- workplaces -----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RegisterWorkplace(Command):
    id: str
    name: str
    sector: str
    unit_id: str
    workers: int
    female_workers: int
    as_of: date


@dataclass(frozen=True, kw_only=True)
class SurveyWorkplace(Command):
    workplace_id: str
    workers: int
    female_workers: int
    as_of: date


# ---- unions -----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class FoundUnion(Command):
    id: str
    name: str
    workplace_id: str
    unit_id: str
    founded_on: date
    decision_no: str | None = None
    reads_views: ClassVar[bool] = True  # another union active at the workplace


@dataclass(frozen=True, kw_only=True)
class TransferUnion(Command):
    union_id: str
    to_unit_id: str
    effective_on: date


@dataclass(frozen=True, kw_only=True)
class DissolveUnion(Command):
    union_id: str
    dissolved_on: date
    reason: str
    reads_views: ClassVar[bool] = True  # members still active in the union


# ---- members ----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class AdmitMember(Command):
    id: str
    union_id: str
    admitted_on: date
    full_name: str
    gender: str
    birth_date: date | None = None
    id_number: str | None = None
    grouped: ClassVar[bool] = True

    @property
    def key(self) -> str:
        return self.id

    def loads(self) -> list[UUID]:
        return [Member.storage_id(self.id), Union.storage_id(self.union_id)]

    def creates(self) -> list[UUID]:
        return [Member.storage_id(self.id)]

    def consults(self) -> list[UUID]:
        return [Union.storage_id(self.union_id)]


@dataclass(frozen=True, kw_only=True)
class TransferMember(Command):
    member_id: str
    to_union_id: str
    effective_on: date
    grouped: ClassVar[bool] = True

    @property
    def key(self) -> str:
        return self.member_id

    def loads(self) -> list[UUID]:
        return [Member.storage_id(self.member_id), Union.storage_id(self.to_union_id)]

    def consults(self) -> list[UUID]:
        return [Union.storage_id(self.to_union_id)]


@dataclass(frozen=True, kw_only=True)
class RecordDeparture(Command):
    member_id: str
    left_on: date
    reason: str
    grouped: ClassVar[bool] = True

    @property
    def key(self) -> str:
        return self.member_id

    def loads(self) -> list[UUID]:
        return [Member.storage_id(self.member_id)]


@dataclass(frozen=True, kw_only=True)
class TransferMemberIn(Command):
    """Record a member who moved here from another province (MemberTransferredIn). Posting the same
    transfer again answers the member already recorded and changes nothing."""

    member_id: str
    union_id: str
    admitted_on: date
    effective_on: date
    gender: str
    full_name: str
    birth_date: date | None
    id_number: str | None
    from_tenant: str
    transfer_id: str


@dataclass(frozen=True, kw_only=True)
class ProposeMove(Command):
    """The sending province proposes a member's move (MemberTransferProposed)."""

    member_id: str
    to_tenant: str
    transfer_id: str
    effective_on: date


@dataclass(frozen=True, kw_only=True)
class RecordMoveRefused(Command):
    """The receiving province refused the move (MemberTransferRefused); once per transfer."""

    member_id: str
    transfer_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordMoveWithdrawn(Command):
    """The sending province took its proposal back (MemberTransferWithdrawn); once per transfer."""

    member_id: str
    transfer_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class TransferMemberOut(Command):
    """Record that a member moved to another province (MemberTransferredOut); once per transfer."""

    member_id: str
    to_tenant: str
    transfer_id: str
    effective_on: date


@dataclass(frozen=True, kw_only=True)
class EraseMemberData(Command):
    member_id: str
    reason: str


# ---- the plans' other records ------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RateUnion(Command):
    union_id: str
    year: int
    rating: str
    decided_on: date


@dataclass(frozen=True, kw_only=True)
class FoundWomensCommittee(Command):
    union_id: str
    founded_on: date


@dataclass(frozen=True, kw_only=True)
class RecordDues(Command):
    union_id: str
    period: str
    due: int
    collected: int


@dataclass(frozen=True, kw_only=True)
class RecordTraining(Command):
    union_id: str
    year: int
    officials: int
    trained: int


@dataclass(frozen=True, kw_only=True)
class SignAgreement(Command):
    workplace_id: str
    signed_on: date
    expires_on: date


@dataclass(frozen=True, kw_only=True)
class HoldConference(Command):
    workplace_id: str
    held_on: date


@dataclass(frozen=True, kw_only=True)
class IssueCard(Command):
    member_id: str
    card_no: str
    issued_on: date


# ---- targets and reports ----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class AssignTarget(Command):
    unit_id: str | None
    indicator: str
    period: str
    value: float
    assigned_on: date | None = None
    decision_no: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReviseTarget(Command):
    target_id: str
    value: float
    reason: str
    revised_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class AssignNationalTarget(Command):
    """A target for a whole province, in the national ledger (the tenant was found to exist before)."""

    tenant_id: str
    indicator: str
    period: str
    value: float


@dataclass(frozen=True, kw_only=True)
class SubmitReport(Command):
    unit_id: str | None
    period: str
    figures: dict[str, float]
    as_of: date | None = None
    replaces: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordVerification(Command):
    report_id: str
    verdict: str
    lines: list[dict[str, Any]]
