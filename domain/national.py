"""Targets the national federation hands each province: recorded in the national ledger, not a tenant's."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, aggregate_id


class NationalTarget(RegisterAggregate):
    """A value of one indicator a province (tenant) is to reach over a period, for the whole province."""

    KIND = "national_target"
    id_attr = "national_target_id"

    @classmethod
    def create_id(cls, national_target_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, national_target_id)

    @event("NationalTargetAssigned")
    def __init__(
        self,
        national_target_id: str,
        tenant_id: str,
        indicator: str,
        period: str,
        value: float,
        assigned_on: date,
        actor: str,
    ):
        self.national_target_id = national_target_id
        self.tenant_id = tenant_id
        self.indicator = indicator
        self.period = period
        self.value = value
        self.assigned_on = assigned_on
