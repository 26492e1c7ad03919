"""Every read of a tenant's register, for the HTTP API, the command line and the demo alike.

The views are brought up to date with the ledger once per use case, before its first read (they
always are, but after a crash); members' personal data is opened here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from domain.errors import InvalidValue, NotFound
from domain.indicators import BASE_CODES, Indicator, parse_indicator
from domain.members import PERSONAL_FIELDS
from domain.periods import parse_period
from projections.base import micros
from projections.indicators import Question


def member_answer(row: dict, opened: dict | None) -> dict:
    """A member as answered: the view's row (without the sealed value) with the personal data as
    opened (None: erased)."""
    personal = opened or {}
    birth_date = personal.get("birth_date")
    answer = {k: v for k, v in row.items() if k != "personal"}
    return {
        **answer,
        "personal_data_erased": opened is None,
        "full_name": personal.get("full_name"),
        "birth_date": date.fromisoformat(birth_date) if birth_date else None,
        "id_number": personal.get("id_number"),
    }


class RegisterReads:
    def __init__(self, store: Any):
        self.store = store
        self._current = False

    @property
    def _views(self) -> Any:
        """The views, brought up to date before the first read of this use case."""
        if not self._current:
            self.store.fresh()
            self._current = True
        return self.store.views

    def _fresh(self) -> Any:
        return self._views

    def today(self) -> date:
        return self.store.today()

    # ---- entities ---------------------------------------------------------------------------------
    def unit(self, unit_id: str) -> dict | None:
        return self._views.unit(unit_id)

    def workplace(self, workplace_id: str) -> dict | None:
        return self._views.workplace(workplace_id)

    def union(self, union_id: str) -> dict | None:
        return self._views.union(union_id)

    def member(self, member_id: str) -> dict | None:
        return self.members([member_id]).get(member_id)

    def members(self, member_ids: list[str]) -> dict[str, dict]:
        """The members as answered, personal data opened, read at once."""
        rows = self._views.members(member_ids)
        opened = self.store.vault.unseal_many((m, row["personal"]) for m, row in rows.items())
        return {m: member_answer(row, opened.get(m)) for m, row in rows.items()}

    def entity(self, kind: str, entity_id: str) -> dict | None:
        """The current state of a unit, workplace, union, member, target or report (None: none)."""
        read = {
            "unit": self.unit,
            "workplace": self.workplace,
            "union": self.union,
            "member": self.member,
            "target": self.target,
            "report": self.report,
        }[kind]
        return read(entity_id)

    def history(self, kind: str, entity_id: str) -> list[dict]:
        """An entity's events, oldest first."""
        entries, _next = self._views.audit(entity_type=kind, entity_id=entity_id, limit=100_000)
        return self._opened(entries)

    # ---- the audit trail ---------------------------------------------------------------------------
    def audit(
        self,
        *,
        entity_type: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> tuple[list[dict], int | None]:
        entries, cursor = self._views.audit(
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            after=after,
            limit=limit,
            since=micros(since) if since else None,
            until=micros(until) if until else None,
        )
        return self._opened(entries), cursor

    def _opened(self, entries: list[dict]) -> list[dict]:
        """Audit entries with each admission's personal data opened (null once erased)."""
        sealed = [(e["entity_id"], e["data"]["personal"]) for e in entries if "personal" in e["data"]]
        opened = self.store.vault.unseal_many(sealed) if sealed else {}
        for entry in entries:
            data = entry["data"]
            if "personal" in data:
                personal = opened.get(entry["entity_id"])
                data.pop("personal")
                for key in PERSONAL_FIELDS:
                    data[key] = personal.get(key) if personal else None
                data["personal_data_erased"] = personal is None
        return entries

    # ---- figures --------------------------------------------------------------------------------------
    def question(
        self, period: str, unit_id: str | None = None, as_of: date | None = None, known_at: datetime | None = None
    ) -> Question:
        """A question as the API asks it: ``as_of`` by default the period's last day, or today while
        it runs; never in the future; the unit must exist."""
        span = parse_period(period)
        today = self.today()
        as_of = as_of or min(span.end, today)
        if as_of > today:
            raise InvalidValue("may not lie in the future", field="as_of")
        if unit_id and self.unit(unit_id) is None:
            raise NotFound(f"unit {unit_id!r} does not exist", field="unit_id")
        return Question(span, unit_id, as_of, micros(known_at) if known_at else None)

    def figures(self, question: Question, indicators: Iterable[Indicator] | None = None) -> dict[str, float | int]:
        """Every indicator asked (default: every base code) for the question."""
        self._fresh()  # before the columns are read
        wanted = list(indicators) if indicators is not None else [parse_indicator(code) for code in BASE_CODES]
        return self.store.indicators.figures(wanted, question)

    def indicators(
        self,
        period: str,
        unit_id: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
        codes: str | None = None,
    ) -> dict[str, Any]:
        """The /indicators answer: the figures of the codes asked (comma-separated, default every
        base code) for the period, unit, cut-off and state of knowledge, with the question as read."""
        question = self.question(period, unit_id, as_of, known_at)
        wanted = [c.strip() for c in codes.split(",") if c.strip()] if codes else BASE_CODES
        figures = self.figures(question, [parse_indicator(code, field="indicators") for code in wanted])
        return {
            "period": question.period.code,
            "unit_id": question.unit_id,
            "as_of": question.as_of,
            "known_at": known_at,
            "figures": figures,
        }

    def draft(self, period: str, unit_id: str | None = None, as_of: date | None = None) -> tuple[Question, dict]:
        """A report's figures as the ledger has them: every base indicator for the unit (None: the
        whole tenant), the period and the cut-off, as recorded so far."""
        question = self.question(period, unit_id, as_of)
        return question, self.figures(question)

    # ---- targets and reports ---------------------------------------------------------------------------
    def target(self, target_id: str) -> dict | None:
        self._fresh()
        return self.store.plans.target(target_id)

    def targets(self, period: str | None, unit_id: str | None) -> list[dict]:
        self._fresh()
        return self.store.plans.targets(period, unit_id, whole_tenant=False)

    def progress(self, period: str, unit_id: str | None, as_of: date | None) -> dict[str, Any]:
        """Each target of the unit (None: the whole tenant) for the period, against the figure at
        ``as_of`` (default the period's last day, or today while it runs)."""
        span = parse_period(period)
        as_of = as_of or min(span.end, self.today())
        if unit_id and self.unit(unit_id) is None:
            raise NotFound(f"unit {unit_id!r} does not exist", field="unit_id")
        return {
            "period": span.code,
            "unit_id": unit_id,
            "as_of": as_of,
            "lines": self.store.plans.progress(span, unit_id, as_of),
        }

    def report(self, report_id: str) -> dict | None:
        self._fresh()
        return self.store.plans.report(report_id)

    def reports(self, period: str | None, unit_id: str | None) -> list[dict]:
        self._fresh()
        return self.store.plans.reports(period, unit_id, whole_tenant=False)

    def verification(self, report: dict) -> dict:
        """The report's figures recomputed as the register stood at its submission and stands now."""
        self._fresh()
        return self.store.plans.verify(report)
