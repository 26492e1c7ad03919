"""Reports (báo cáo) sent up: the figures a unit claimed for a period, as of a cut-off date."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import RegisterAggregate, aggregate_id
from domain.errors import Conflict


class Report(RegisterAggregate):
    """A submitted report; corrections are new reports that name the one they replace."""

    KIND = "report"
    id_attr = "report_id"

    @classmethod
    def create_id(cls, report_id: str, **_: object) -> UUID:
        return aggregate_id(cls.KIND, report_id)

    @event("ReportSubmitted")
    def __init__(
        self,
        report_id: str,
        unit_id: str | None,
        period: str,
        as_of: date,
        figures: dict[str, float],
        replaces: str | None,
        submitted_on: date,
        actor: str,
    ):
        self.report_id = report_id
        self.unit_id = unit_id
        self.period = period
        self.as_of = as_of
        self.figures = figures
        self.replaces = replaces
        self.submitted_on = submitted_on
        self.replaced_by: str | None = None
        self.verifications = 0

    def require_replaceable_by(self, unit_id: str | None, period: str) -> None:
        if self.replaced_by is not None:
            raise Conflict(
                f"report {self.report_id} was already replaced by {self.replaced_by}",
                field="replaces",
                rule="report_replaced",
            )
        if (self.unit_id, self.period) != (unit_id, period):
            raise Conflict("a replacement must be for the same unit and period", field="replaces", rule="same_report")

    def mark_replaced(self, by: str, actor: str, on: date) -> None:
        self._replaced(report_id=self.report_id, replaced_by=by, replaced_on=on, actor=actor)

    @event("ReportReplaced")
    def _replaced(self, report_id: str, replaced_by: str, replaced_on: date, actor: str) -> None:
        self.replaced_by = replaced_by

    def record_verification(self, verdict: str, lines: list[dict[str, Any]], verified_on: date, actor: str) -> None:
        self._verified(report_id=self.report_id, verdict=verdict, lines=lines, verified_on=verified_on, actor=actor)

    @event("ReportVerified")
    def _verified(
        self, report_id: str, verdict: str, lines: list[dict[str, Any]], verified_on: date, actor: str
    ) -> None:
        self.verifications += 1
