"""Member card numbers: one aggregate per number, so that no two members hold the same one.

Its storage id is derived from the number (as an entity's is from its client id), and it is saved
in the same transaction as the card's MemberCardIssued: a number taken by another member is a
conflict of storage, even between two writers deciding at once.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, aggregate_id
from domain.errors import Conflict


class Card(RegisterAggregate):
    """A card number and the member it was issued to."""

    KIND = "card"
    id_attr = "card_id"

    @classmethod
    def create_id(cls, card_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, card_id)

    @event("CardNumberAssigned")
    def __init__(self, card_id: str, member_id: str, assigned_on: date, actor: str):
        self.card_id = card_id
        self.member_id = member_id
        self.assigned_on = assigned_on

    def require_held_by(self, member_id: str) -> None:
        """The number may be issued again to its holder (a reprint), never to another member."""
        if self.member_id != member_id:
            raise Conflict(
                f"card number {self.card_id} is held by another member",
                field="card_no",
                rule="card_no_taken",
            )
