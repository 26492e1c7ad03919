"""Upper-level unions (units): districts, communes, sectors, industrial zones."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, active_on, aggregate_id
from domain.errors import Conflict

UNIT_KINDS = ("district", "commune", "sector", "industrial_zone", "other")


class Unit(RegisterAggregate):
    """A công đoàn cấp trên trực tiếp cơ sở, or any level above it in the tenant."""

    KIND = "unit"
    id_attr = "unit_id"

    @classmethod
    def create_id(cls, unit_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, unit_id)

    @event("UnitEstablished")
    def __init__(
        self,
        unit_id: str,
        name: str,
        kind: str,
        established_on: date,
        parent_id: str | None,
        actor: str,
    ):
        self.unit_id = unit_id
        self.name = name
        self.kind = kind
        self.established_on = established_on
        self.parent_id = parent_id
        self.closed_on: date | None = None
        self.successor_id: str | None = None

    def is_active_on(self, day: date) -> bool:
        return active_on(self.established_on, self.closed_on, day)

    def require_can_hold(self, day: date, what: str) -> None:
        """Refuse placing something under this unit from ``day``."""
        if day < self.established_on or (self.closed_on and day >= self.closed_on):
            raise Conflict(
                f"unit {self.unit_id} is not active on {day.isoformat()}",
                rule="unit_active",
            )
        if self.closed_on is not None and self.successor_id is None:
            raise Conflict(
                f"unit {self.unit_id} was closed on {self.closed_on.isoformat()} without a "
                f"successor; a {what} placed under it before then would be left under a closed unit",
                rule="unit_active",
            )

    def close(
        self,
        closed_on: date,
        successor: Unit | None,
        active_under: int,
        actor: str,
    ) -> None:
        """Close the unit; with a successor everything under it moves there from ``closed_on``."""
        if self.closed_on is not None:
            raise Conflict(f"unit {self.unit_id} is already closed", rule="unit_closed")
        if closed_on < self.established_on:
            raise Conflict("a unit cannot close before it was established", rule="date_order")
        if successor is None and active_under:
            raise Conflict(
                f"unit {self.unit_id} still has {active_under} active unit(s), union(s) or "
                "workplace(s) under it; close it with a successor_id",
                rule="unit_not_empty",
            )
        if successor is not None:
            if successor.unit_id == self.unit_id:
                raise Conflict("a unit cannot succeed itself", rule="successor")
            if not successor.is_active_on(closed_on):
                raise Conflict(
                    f"successor {successor.unit_id} is not active on {closed_on.isoformat()}",
                    rule="unit_active",
                )
        self._close(
            unit_id=self.unit_id,
            closed_on=closed_on,
            successor_id=successor.unit_id if successor else None,
            actor=actor,
        )

    @event("UnitClosed")
    def _close(self, unit_id: str, closed_on: date, successor_id: str | None, actor: str) -> None:
        self.closed_on = closed_on
        self.successor_id = successor_id
