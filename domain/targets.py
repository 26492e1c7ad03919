"""Targets (chỉ tiêu) handed down for a period: a value of one indicator, for a unit or the tenant."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, aggregate_id
from domain.errors import Conflict


class Target(RegisterAggregate):
    """A target assigned by a decision; a revision is a new event with its reason."""

    KIND = "target"
    id_attr = "target_id"

    @classmethod
    def create_id(cls, target_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, target_id)

    @event("TargetAssigned")
    def __init__(
        self,
        target_id: str,
        unit_id: str | None,
        indicator: str,
        period: str,
        value: float,
        assigned_on: date,
        decision_no: str | None,
        actor: str,
    ):
        self.target_id = target_id
        self.unit_id = unit_id
        self.indicator = indicator
        self.period = period
        self.value = value
        self.assigned_on = assigned_on
        self.decision_no = decision_no
        self.revisions = 0

    def revise(self, value: float, reason: str, revised_on: date, actor: str) -> None:
        if revised_on < self.assigned_on:
            raise Conflict("a revision cannot predate the assignment", field="revised_on", rule="date_order")
        if value == self.value:
            raise Conflict(f"the target is already {value}", field="value", rule="no_change")
        self._revised(
            target_id=self.target_id,
            value=value,
            previous_value=self.value,
            reason=reason,
            revised_on=revised_on,
            actor=actor,
        )

    @event("TargetRevised")
    def _revised(
        self, target_id: str, value: float, previous_value: float, reason: str, revised_on: date, actor: str
    ) -> None:
        self.value = value
        self.revisions += 1
