"""Grassroots unions (công đoàn cơ sở, CĐCS)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, active_on, aggregate_id, one_of
from domain.errors import Conflict, InvalidValue
from domain.periods import parse_period

RATINGS = ("excellent", "good", "fair", "poor")  # xuất sắc, vững mạnh / hoàn thành tốt, khá, yếu


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
        self.womens_committee_on: date | None = None
        # Every record made, to tell a record sent again (an import repeated) from a new one.
        self.ratings: set[tuple[int, str, date]] = set()
        self.dues: set[tuple[str, int, int]] = set()
        self.training: set[tuple[int, int, int]] = set()

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

    def require_active_on(self, day: date, field: str) -> None:
        """A record about the union on ``day`` needs the union active that day."""
        if not self.is_active_on(day):
            raise Conflict(
                f"union {self.union_id} is not active on {day.isoformat()}", field=field, rule="union_active"
            )

    def require_active_within(self, start: date, end: date, field: str) -> None:
        """A record about a year or period needs the union active on at least one of its days."""
        if self.founded_on > end or (self.dissolved_on is not None and self.dissolved_on <= start):
            raise Conflict(
                f"union {self.union_id} was not active between {start.isoformat()} and {end.isoformat()}",
                field=field,
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

    # ---- the plans' other records: each a new event; a later one for the same year or period replaces it ----
    def rate(self, year: int, rating: str, decided_on: date, actor: str) -> None:
        """The upper level's yearly rating (guidance 1294/HD-TLĐ), decided on ``decided_on``."""
        one_of(rating, RATINGS, "rating")
        _year(year)
        if year > decided_on.year:
            raise InvalidValue("a rating cannot be decided before its year begins", field="year")
        if year < self.founded_on.year:
            raise Conflict(
                f"union {self.union_id} was founded in {self.founded_on.year}, after {year}",
                field="year",
                rule="rated_before_founding",
            )
        self.require_active_on(decided_on, "decided_on")
        self._rated(union_id=self.union_id, year=year, rating=rating, decided_on=decided_on, actor=actor)

    @event("UnionRated")
    def _rated(self, union_id: str, year: int, rating: str, decided_on: date, actor: str) -> None:
        self.ratings.add((year, rating, decided_on))

    def found_womens_committee(self, founded_on: date, actor: str) -> None:
        """Ban nữ công: founded once; the union must be active that day."""
        if self.womens_committee_on is not None:
            raise Conflict(
                f"union {self.union_id} has had a women's committee since {self.womens_committee_on.isoformat()}",
                rule="womens_committee_exists",
            )
        self.require_active_on(founded_on, "founded_on")
        self._committee_founded(union_id=self.union_id, founded_on=founded_on, actor=actor)

    @event("WomensCommitteeFounded")
    def _committee_founded(self, union_id: str, founded_on: date, actor: str) -> None:
        self.womens_committee_on = founded_on

    def record_dues(self, period: str, due: int, collected: int, recorded_on: date, actor: str) -> None:
        """Dues due and collected over ``period`` (whole VND); collected may exceed due (arrears paid)."""
        span = parse_period(period)
        _amount(due, "due")
        _amount(collected, "collected")
        if span.start > recorded_on:
            raise InvalidValue("may not lie in the future", field="period")
        self.require_active_within(span.start, span.end, "period")
        self._dues_recorded(
            union_id=self.union_id, period=period, due=due, collected=collected, recorded_on=recorded_on, actor=actor
        )

    @event("DuesRecorded")
    def _dues_recorded(
        self, union_id: str, period: str, due: int, collected: int, recorded_on: date, actor: str
    ) -> None:
        self.dues.add((period, due, collected))

    def record_training(self, year: int, officials: int, trained: int, recorded_on: date, actor: str) -> None:
        """How many of the union's officials there were in ``year`` and how many were trained."""
        _year(year)
        _amount(officials, "officials")
        _amount(trained, "trained")
        if year > recorded_on.year:
            raise InvalidValue("may not lie in the future", field="year")
        if trained > officials:
            raise Conflict(
                f"{trained} officials trained of {officials}: no more can be trained than there are",
                field="trained",
                rule="trained_exceeds_officials",
            )
        self.require_active_within(date(year, 1, 1), date(year, 12, 31), "year")
        self._training_recorded(
            union_id=self.union_id,
            year=year,
            officials=officials,
            trained=trained,
            recorded_on=recorded_on,
            actor=actor,
        )

    @event("OfficialsTrainingRecorded")
    def _training_recorded(
        self, union_id: str, year: int, officials: int, trained: int, recorded_on: date, actor: str
    ) -> None:
        self.training.add((year, officials, trained))


def _year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        raise InvalidValue("must be a year such as 2025", field="year")
    return year


def _amount(value: int, field: str) -> int:
    """Counts and whole VND: integers, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue("must be a whole number, 0 or more", field=field)
    return value
