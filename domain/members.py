"""Members (đoàn viên). Personal data travels sealed: the domain never reads it."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from domain.base import RegisterAggregate, aggregate_id
from domain.errors import Conflict, InvalidValue

GENDERS = ("female", "male")
DEPARTURE_REASONS = ("resigned", "changed_job", "retired", "deceased", "expelled", "other")
TRANSFERRED_OUT = "transferred_out"  # a departure's reason, in the views, when the member moved province
PERSONAL_FIELDS = ("full_name", "birth_date", "id_number")
ID_NUMBER = re.compile(r"^[0-9A-Za-z]{6,20}$")  # a citizen or identity card number
ID_NUMBER_RULE = "must be 6-20 letters or digits"
CARD_NO = re.compile(r"^[0-9A-Za-z][0-9A-Za-z./-]{0,31}$")  # thẻ đoàn viên, as printed
CARD_NO_RULE = "must be 1-32 letters, digits and ./- starting with a letter or digit"


def personal_data(full_name: str, birth_date: date | None, id_number: str | None) -> dict[str, Any]:
    """What of a member is sealed: the data erasure destroys."""
    return {
        "full_name": full_name,
        "birth_date": birth_date.isoformat() if birth_date else None,
        "id_number": id_number,
    }


class Member(RegisterAggregate):
    """An đoàn viên: admitted once, in one union at a time, leaves at most once.

    ``personal`` is the sealed (encrypted) full name, birth date and id number;
    destroying its key erases them without touching the ledger.
    """

    KIND = "member"
    id_attr = "member_id"
    if TYPE_CHECKING:
        # Made by @event("MemberAdmitted") below, and declared here for the type checker alone: an
        # annotation in the class body would have the library make Member a dataclass.
        MemberAdmitted: ClassVar[type[Any]]

    @classmethod
    def create_id(cls, member_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, member_id)

    @event("MemberAdmitted")
    def __init__(
        self,
        member_id: str,
        union_id: str,
        admitted_on: date,
        gender: str,
        personal: str,
        actor: str,
    ):
        self.member_id = member_id
        self.union_id = union_id
        self.admitted_on = admitted_on
        self.gender = gender
        self.personal = personal
        self.placed_on = admitted_on
        self.arrived_on = admitted_on  # the first day in this province: admitted here, or moved in
        self.left_on: date | None = None
        self.leave_reason: str | None = None
        self.erased_on: date | None = None
        self.transfer_id: str | None = None  # the move between provinces that brought them or took them
        self.moving: str | None = None  # a move to another province proposed and not yet decided
        self.card_no: str | None = None
        self.cards: set[tuple[str, date]] = set()  # every (card_no, issued_on), to tell a repeat from a new card

    @classmethod
    def admission(
        cls, *, member_id: str, union_id: str, admitted_on: date, gender: str, personal: str, actor: str
    ) -> Aggregate.Created:
        """The MemberAdmitted event that ``Member(...)`` records, without building the member:
        for a bulk import, where nothing else happens to the new member."""
        event_class = cls.MemberAdmitted
        return event_class(
            originator_topic=get_topic(cls),
            originator_id=cls.create_id(member_id),
            originator_version=cls.INITIAL_VERSION,
            timestamp=event_class.create_timestamp(),
            member_id=member_id,
            union_id=union_id,
            admitted_on=admitted_on,
            gender=gender,
            personal=personal,
            actor=actor,
        )

    @classmethod
    def admission_state(
        cls,
        *,
        member_id: str,
        union_id: str,
        admitted_on: date,
        gender: str,
        personal: str,
        actor: str,
        timestamp: datetime,
    ) -> dict[str, object]:
        """What ``admission`` records, as the event holds it (its attributes but the originator's
        id and version, in their order): for a bulk import to store without the event object."""
        return {
            "timestamp": timestamp,
            "originator_topic": _MEMBER_TOPIC,
            "member_id": member_id,
            "union_id": union_id,
            "admitted_on": admitted_on,
            "gender": gender,
            "personal": personal,
            "actor": actor,
        }

    def _require_member(self) -> None:
        if self.left_on is not None:
            raise Conflict(
                f"member {self.member_id} already left on {self.left_on.isoformat()}",
                rule="member_left",
            )

    def _require_staying(self) -> None:
        """A member whose move to another province waits for its decision changes nothing here:
        the move, once accepted, is recorded as proposed."""
        if self.moving is not None:
            raise Conflict(
                f"member {self.member_id} is being moved to another province ({self.moving})", rule="transfer_pending"
            )

    def propose_move(self, to_tenant: str, transfer_id: str, effective_on: date, actor: str) -> None:
        """The sending province proposes a move; the member stays counted here until it is accepted."""
        self._require_member()
        self._require_staying()
        if effective_on < self.placed_on:
            raise Conflict(
                f"a move cannot predate the member's last admission or transfer ({self.placed_on.isoformat()})",
                rule="date_order",
            )
        self._move_proposed(member_id=self.member_id, to_tenant=to_tenant, transfer_id=transfer_id,
                            effective_on=effective_on, actor=actor)  # fmt: skip

    @event("MemberTransferProposed")
    def _move_proposed(self, member_id: str, to_tenant: str, transfer_id: str, effective_on: date, actor: str) -> None:
        self.moving = transfer_id

    def move_refused(self, transfer_id: str, reason: str, refused_on: date, actor: str) -> bool:
        """The receiving province said no: the member is free here again. False (nothing recorded)
        if that move is not the one waiting."""
        if self.moving != transfer_id:
            return False
        self._move_refused(member_id=self.member_id, transfer_id=transfer_id, reason=reason, refused_on=refused_on,
                           actor=actor)  # fmt: skip
        return True

    @event("MemberTransferRefused")
    def _move_refused(self, member_id: str, transfer_id: str, reason: str, refused_on: date, actor: str) -> None:
        self.moving = None

    def move_withdrawn(self, transfer_id: str, reason: str, withdrawn_on: date, actor: str) -> bool:
        """The sending province took its proposal back before the other decided: the member is free
        here again. False (nothing recorded) if that move is not the one waiting."""
        if self.moving != transfer_id:
            return False
        self._move_withdrawn(member_id=self.member_id, transfer_id=transfer_id, reason=reason,
                             withdrawn_on=withdrawn_on, actor=actor)  # fmt: skip
        return True

    @event("MemberTransferWithdrawn")
    def _move_withdrawn(self, member_id: str, transfer_id: str, reason: str, withdrawn_on: date, actor: str) -> None:
        self.moving = None

    def transfer(self, to_union_id: str, effective_on: date, actor: str) -> None:
        self._require_member()
        self._require_staying()
        if to_union_id == self.union_id:
            raise Conflict(f"member {self.member_id} is already in union {to_union_id}", rule="same_union")
        if effective_on < self.placed_on:
            raise Conflict(
                f"a transfer cannot take effect before the member's last admission or transfer "
                f"({self.placed_on.isoformat()})",
                rule="date_order",
            )
        self._transferred(member_id=self.member_id, to_union_id=to_union_id, effective_on=effective_on, actor=actor)

    @event("MemberTransferred")
    def _transferred(self, member_id: str, to_union_id: str, effective_on: date, actor: str) -> None:
        self.union_id = to_union_id
        self.placed_on = effective_on

    def leave(self, left_on: date, reason: str, actor: str) -> None:
        self._require_member()
        self._require_staying()
        if left_on < self.placed_on:
            raise Conflict(
                f"a departure cannot predate the member's last admission or transfer ({self.placed_on.isoformat()})",
                rule="date_order",
            )
        self._left(member_id=self.member_id, left_on=left_on, reason=reason, union_id=self.union_id, actor=actor)

    @event("MemberLeft")
    def _left(self, member_id: str, left_on: date, reason: str, union_id: str, actor: str) -> None:
        self.left_on = left_on
        self.leave_reason = reason

    def transfer_out(self, to_tenant: str, transfer_id: str, effective_on: date, actor: str) -> None:
        """The member moves to another province: from ``effective_on`` they count there, not here."""
        self._require_member()
        if effective_on < self.placed_on:
            raise Conflict(
                f"a move cannot predate the member's last admission or transfer ({self.placed_on.isoformat()})",
                rule="date_order",
            )
        self._transferred_out(
            member_id=self.member_id,
            to_tenant=to_tenant,
            transfer_id=transfer_id,
            effective_on=effective_on,
            union_id=self.union_id,
            actor=actor,
        )

    @event("MemberTransferredOut")
    def _transferred_out(
        self, member_id: str, to_tenant: str, transfer_id: str, effective_on: date, union_id: str, actor: str
    ) -> None:
        self.left_on = effective_on
        self.leave_reason = TRANSFERRED_OUT
        self.transfer_id = transfer_id
        self.moving = None

    @classmethod
    def transferred_in(
        cls,
        *,
        member_id: str,
        union_id: str,
        admitted_on: date,
        effective_on: date,
        gender: str,
        personal: str,
        from_tenant: str,
        transfer_id: str,
        actor: str,
    ) -> Member:
        """A member who moved here from another province: one event, their first in this ledger,
        keeping the admission date of their first union."""
        member = cls._create(
            cls.MemberTransferredIn,
            member_id=member_id,
            union_id=union_id,
            admitted_on=admitted_on,
            effective_on=effective_on,
            gender=gender,
            personal=personal,
            from_tenant=from_tenant,
            transfer_id=transfer_id,
            actor=actor,
        )
        return member

    class MemberTransferredIn(Aggregate.Created):
        member_id: str
        union_id: str
        admitted_on: date
        effective_on: date
        gender: str
        personal: str
        from_tenant: str
        transfer_id: str
        actor: str

        def mutate(self, aggregate: Any) -> Any:
            member = super().mutate(aggregate)
            assert member is not None  # a created event always makes its aggregate
            member.placed_on = self.effective_on
            member.arrived_on = self.effective_on
            member.transfer_id = self.transfer_id
            return member

    def issue_card(self, card_no: str, issued_on: date, actor: str) -> None:
        """A member card (thẻ đoàn viên) for a member active on ``issued_on``; a renewal is a new one.
        That no other member holds the number is the card's own aggregate's guarantee (domain.cards)."""
        check_card_no(card_no)
        if issued_on < self.arrived_on or (self.left_on is not None and issued_on >= self.left_on):
            raise Conflict(
                f"member {self.member_id} is not active on {issued_on.isoformat()}",
                field="issued_on",
                rule="member_active",
            )
        self._card_issued(member_id=self.member_id, card_no=card_no, issued_on=issued_on, actor=actor)

    @event("MemberCardIssued")
    def _card_issued(self, member_id: str, card_no: str, issued_on: date, actor: str) -> None:
        self.card_no = card_no
        self.cards.add((card_no, issued_on))

    def erase_personal_data(self, erased_on: date, reason: str, actor: str) -> None:
        """Record that the member's personal data is erased; the counts keep every other fact."""
        if self.erased_on is not None:
            raise Conflict(
                f"member {self.member_id}'s personal data was erased on {self.erased_on.isoformat()}",
                rule="already_erased",
            )
        self._erased(member_id=self.member_id, erased_on=erased_on, reason=reason, actor=actor)

    @event("MemberDataErased")
    def _erased(self, member_id: str, erased_on: date, reason: str, actor: str) -> None:
        self.erased_on = erased_on
        self.personal = ""


def check_card_no(card_no: str) -> str:
    if not isinstance(card_no, str) or not CARD_NO.match(card_no):
        raise InvalidValue(CARD_NO_RULE, field="card_no")
    return card_no


_MEMBER_TOPIC = get_topic(Member)
