"""Grassroots unions (công đoàn cơ sở, CĐCS)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, active_on, aggregate_id
from domain.errors import Conflict


class Union(RegisterAggregate):
    """A CĐCS: founded at one workplace, under one unit at a time, dissolved at most once."""

    KIND = "union"
    id_attr = "union_id"

    @classmethod
    def create_id(cls, union_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, union_id)

    @event("UnionFounded")
    def __init__(
        self,
        union_id: str,
        name: str,
        workplace_id: str,
        unit_id: str,
        founded_on: date,
        decision_no: str | None,
        actor: str,
    ):
        self.union_id = union_id
        self.name = name
        self.workplace_id = workplace_id
        self.unit_id = unit_id
        self.founded_on = founded_on
        self.decision_no = decision_no
        self.placed_on = founded_on
        self.dissolved_on: date | None = None
        self.dissolution_reason: str | None = None

    def is_active_on(self, day: date) -> bool:
        return active_on(self.founded_on, self.dissolved_on, day)

    def require_open_to_members(self, day: date) -> None:
        """A member may join only a union that is active on ``day`` and not dissolved since."""
        if self.dissolved_on is not None:
            raise Conflict(
                f"union {self.union_id} was dissolved on {self.dissolved_on.isoformat()}",
                rule="union_dissolved",
            )
        if day < self.founded_on:
            raise Conflict(
                f"union {self.union_id} was founded on {self.founded_on.isoformat()}, after {day.isoformat()}",
                rule="union_active",
            )

    def transfer(self, to_unit_id: str, effective_on: date, actor: str) -> None:
        if self.dissolved_on is not None:
            raise Conflict(f"union {self.union_id} is dissolved", rule="union_dissolved")
        if to_unit_id == self.unit_id:
            raise Conflict(f"union {self.union_id} is already under unit {to_unit_id}", rule="same_unit")
        if effective_on < self.placed_on:
            raise Conflict(
                f"a transfer cannot take effect before the union's last placement ({self.placed_on.isoformat()})",
                rule="date_order",
            )
        self._transferred(union_id=self.union_id, to_unit_id=to_unit_id, effective_on=effective_on, actor=actor)

    @event("UnionTransferred")
    def _transferred(self, union_id: str, to_unit_id: str, effective_on: date, actor: str) -> None:
        self.unit_id = to_unit_id
        self.placed_on = effective_on

    def dissolve(self, dissolved_on: date, reason: str, active_members: int, actor: str) -> None:
        """Dissolve; refused while any member is active on or after ``dissolved_on``."""
        if self.dissolved_on is not None:
            raise Conflict(f"union {self.union_id} is already dissolved", rule="union_dissolved")
        if dissolved_on < self.placed_on:
            raise Conflict(
                f"dissolution cannot predate the union's last placement ({self.placed_on.isoformat()})",
                rule="date_order",
            )
        if active_members:
            raise Conflict(
                f"union {self.union_id} has {active_members} active member(s) on "
                f"{dissolved_on.isoformat()}; they must leave or transfer first",
                rule="union_has_members",
            )
        self._dissolved(union_id=self.union_id, dissolved_on=dissolved_on, reason=reason, actor=actor)

    @event("UnionDissolved")
    def _dissolved(self, union_id: str, dissolved_on: date, reason: str, actor: str) -> None:
        self.dissolved_on = dissolved_on
        self.dissolution_reason = reason
