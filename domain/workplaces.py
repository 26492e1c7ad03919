"""Workplaces (doanh nghiệp / đơn vị) and their workforce surveys."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, aggregate_id
from domain.errors import Conflict, InvalidValue

SECTORS = (
    "state_agency",
    "public_service",
    "state_enterprise",
    "private_enterprise",
    "fdi_enterprise",
    "cooperative",
    "other",
)


def check_workforce(workers: int, female_workers: int) -> None:
    if workers < 0:
        raise InvalidValue("must be 0 or more", field="workers")
    if female_workers < 0:
        raise InvalidValue("must be 0 or more", field="female_workers")
    if female_workers > workers:
        raise InvalidValue("cannot exceed workers", field="female_workers")


class Workplace(RegisterAggregate):
    """An enterprise, agency or public-service unit where workers may found a union."""

    KIND = "workplace"
    id_attr = "workplace_id"

    @classmethod
    def create_id(cls, workplace_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, workplace_id)

    @event("WorkplaceRegistered")
    def __init__(
        self,
        workplace_id: str,
        name: str,
        sector: str,
        unit_id: str,
        workers: int,
        female_workers: int,
        as_of: date,
        actor: str,
    ):
        self.workplace_id = workplace_id
        self.name = name
        self.sector = sector
        self.unit_id = unit_id
        self.registered_on = as_of
        self.workers = workers
        self.female_workers = female_workers
        self.as_of = as_of
        self.agreements: list[tuple[date, date]] = []  # (signed_on, expires_on), in the order recorded
        self.conferences: list[date] = []

    def survey(self, workers: int, female_workers: int, as_of: date, actor: str) -> None:
        check_workforce(workers, female_workers)
        if as_of < self.registered_on:
            raise Conflict(
                f"a survey cannot predate the workplace's registration ({self.registered_on.isoformat()})",
                rule="date_order",
            )
        self._surveyed(
            workplace_id=self.workplace_id, workers=workers, female_workers=female_workers, as_of=as_of, actor=actor
        )

    @event("WorkforceSurveyed")
    def _surveyed(self, workplace_id: str, workers: int, female_workers: int, as_of: date, actor: str) -> None:
        # The current figures are the latest survey by business date.
        if as_of >= self.as_of:
            self.workers = workers
            self.female_workers = female_workers
            self.as_of = as_of

    def _require_registered_by(self, day: date, field: str) -> None:
        if day < self.registered_on:
            raise Conflict(
                f"workplace {self.workplace_id} was registered as of {self.registered_on.isoformat()}, "
                f"after {day.isoformat()}",
                field=field,
                rule="date_order",
            )

    def sign_agreement(self, signed_on: date, expires_on: date, actor: str) -> None:
        """A collective labour agreement (thỏa ước lao động tập thể), in force from signing to expiry."""
        if expires_on < signed_on:
            raise Conflict(
                f"an agreement cannot expire ({expires_on.isoformat()}) before it is signed ({signed_on.isoformat()})",
                field="expires_on",
                rule="agreement_expiry",
            )
        self._require_registered_by(signed_on, "signed_on")
        self._agreement_signed(workplace_id=self.workplace_id, signed_on=signed_on, expires_on=expires_on, actor=actor)

    @event("CollectiveAgreementSigned")
    def _agreement_signed(self, workplace_id: str, signed_on: date, expires_on: date, actor: str) -> None:
        self.agreements.append((signed_on, expires_on))

    def hold_conference(self, held_on: date, actor: str) -> None:
        """A workers' conference (hội nghị người lao động)."""
        self._require_registered_by(held_on, "held_on")
        self._conference_held(workplace_id=self.workplace_id, held_on=held_on, actor=actor)

    @event("WorkersConferenceHeld")
    def _conference_held(self, workplace_id: str, held_on: date, actor: str) -> None:
        self.conferences.append(held_on)
