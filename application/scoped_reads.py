"""The reads of a scoped principal: every read of RegisterReads, kept to what lies under the scope
unit on the date the question is about.

It wraps the reads rather than inheriting them, so that a read added to RegisterReads and not here
does not exist for a scoped principal (tests/unit/test_scoped_reads.py holds the two method sets
equal). Outside the scope, an entity answers None (404) and a filter or unit asked OutOfScope (404),
exactly as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from application.reads import Page, RegisterReads
from application.scope import OutOfScope, Scope, plan_day, refused
from domain.indicators import Indicator
from domain.periods import parse_period
from projections.indicators import Question

AUDIT_SCAN = 5000  # entries a scoped audit page reads at most before it answers (with its cursor)


class ScopedReads:
    def __init__(self, reads: RegisterReads, scope: Scope):
        self._reads = reads
        self.scope = scope
        self.store = reads.store
        self.personal = reads.personal

    def today(self) -> date:
        return self._reads.today()

    # ---- what lies within ---------------------------------------------------------------------------
    def _require(self, kind: str, entity_id: str | None, on: date, field: str) -> None:
        if not self.scope.holds(kind, entity_id, on):
            raise refused(kind, entity_id, field)

    def _unit(self, unit_id: str | None) -> str:
        """The unit a question is about: the scope unit unless another is named."""
        return unit_id or self.scope.unit_id

    def _placed_days(self, kind: str, ids: list[str]) -> dict[str, tuple[str | None, date]]:
        """Targets' and reports' units, and the day each is placed by (a target: its period's last
        day or today; a report: its cut-off)."""
        today = self.today()
        placed = self.store.plans.placed(kind, ids)
        return {
            i: (unit, as_of if as_of is not None else plan_day(period, today))
            for i, (unit, period, as_of) in placed.items()
        }

    def _visible(self, entries: list[dict]) -> list[bool]:
        """Which audit entries concern an entity within the scope: one placed there on the event's
        business date or the day before (a transfer out is seen by the unit it leaves). Every
        entity's placements read at once."""
        today = self.today()
        placed: dict[str, dict[str, tuple[str | None, date]]] = {}
        for kind in ("target", "report"):
            ids = sorted({e["entity_id"] for e in entries if e["entity_type"] == kind})
            placed[kind] = self._placed_days(kind, ids)
        asked: list[tuple[str, str | None, date]] = []
        for entry in entries:
            kind, entity_id = entry["entity_type"], entry["entity_id"]
            if kind in placed:
                unit, on = placed[kind].get(entity_id, (None, today))
                asked += [("unit", unit, on), ("unit", unit, on)]
            else:
                on = entry.get("business_date") or entry["recorded_at"].date()
                asked += [(kind, entity_id, on), (kind, entity_id, on - timedelta(days=1))]
        held = self.scope.holds_many(asked)
        return [held[2 * n] or held[2 * n + 1] for n in range(len(entries))]

    # ---- entities -----------------------------------------------------------------------------------
    def unit(self, unit_id: str) -> dict | None:
        return self._reads.unit(unit_id) if self.scope.holds("unit", unit_id, self.today()) else None

    def workplace(self, workplace_id: str) -> dict | None:
        inside = self.scope.holds("workplace", workplace_id, self.today())
        return self._reads.workplace(workplace_id) if inside else None

    def union(self, union_id: str) -> dict | None:
        return self._reads.union(union_id) if self.scope.holds("union", union_id, self.today()) else None

    def member(self, member_id: str) -> dict | None:
        return self.members([member_id]).get(member_id)

    def union_rating(self, union_id: str | None, on: date) -> str | None:
        return self._reads.union_rating(union_id, on) if union_id and self.union(union_id) else None

    def members(self, member_ids: list[str]) -> dict[str, dict]:
        today = self.today()
        held = self.scope.holds_many([("member", m, today) for m in member_ids])
        return self._reads.members([m for m, inside in zip(member_ids, held) if inside])

    def entity(self, kind: str, entity_id: str) -> dict | None:
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
        """The entity's events while it lay within the scope ([]: none, answered 404)."""
        entries = self._reads.history(kind, entity_id)
        return [e for e, inside in zip(entries, self._visible(entries)) if inside]

    # ---- the audit trail ----------------------------------------------------------------------------
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
        """Entries of entities within the scope. The trail is read in batches, each batch's
        placements at once; a page that has read ``AUDIT_SCAN`` entries answers with what it found
        and a cursor to go on from."""
        found: list[dict] = []
        scanned, cursor = 0, after
        while len(found) < limit:
            batch = max(limit - len(found), 100)
            entries, more = self._reads.audit(
                entity_type=entity_type,
                entity_id=entity_id,
                actor=actor,
                since=since,
                until=until,
                after=cursor,
                limit=batch,
            )
            for entry, inside in zip(entries, self._visible(entries)):
                cursor = entry["position"]
                if inside:
                    found.append(entry)
                    if len(found) == limit:
                        break
            else:
                if more is None:
                    return found, None
            scanned += len(entries)
            if scanned >= AUDIT_SCAN:
                break
        return found, cursor

    # ---- figures ------------------------------------------------------------------------------------
    def question(
        self, period: str, unit_id: str | None = None, as_of: date | None = None, known_at: datetime | None = None
    ) -> Question:
        """The question about the scope unit unless another is named, which must lie within it on ``as_of``."""
        question = self._reads.question(period, self._unit(unit_id), as_of, known_at)
        self._require("unit", question.unit_id, question.as_of, "unit_id")
        return question

    def figures(self, question: Question, indicators: Iterable[Indicator] | None = None) -> dict[str, float | int]:
        self._require("unit", question.unit_id, question.as_of, "unit_id")
        return self._reads.figures(question, indicators)

    def indicators(
        self,
        period: str,
        unit_id: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
        codes: str | None = None,
        group_by: str | None = None,
    ) -> dict[str, Any]:
        question = self.question(period, unit_id, as_of, known_at)
        return self._reads.indicators(period, question.unit_id, as_of, known_at, codes, group_by)

    def figures_and_parts(
        self, question: Question, indicators: list[Indicator]
    ) -> tuple[dict[str, float | int], dict[str, tuple[int, int]]]:
        self._require("unit", question.unit_id, question.as_of, "unit_id")
        return self._reads.figures_and_parts(question, indicators)

    def series(
        self,
        period: str,
        step: str,
        unit_id: str | None = None,
        known_at: datetime | None = None,
        codes: str | None = None,
        as_of: date | None = None,
    ) -> dict[str, Any]:
        """The scope unit's series unless another is named, which must lie within it on the period's
        last day (or today, while it runs; or ``as_of``, when earlier)."""
        unit = self._unit(unit_id)
        day = min(plan_day(period, self.today()), as_of) if as_of else plan_day(period, self.today())
        self._require("unit", unit, day, "unit_id")
        return self._reads.series(period, step, unit, known_at, codes, as_of)

    def draft(self, period: str, unit_id: str | None = None, as_of: date | None = None) -> tuple[Question, dict]:
        question = self.question(period, unit_id, as_of)
        return self._reads.draft(period, question.unit_id, as_of)

    # ---- targets and reports ------------------------------------------------------------------------
    def _placed_within(self, kind: str, entity_id: str) -> bool:
        unit, on = self._placed_days(kind, [entity_id]).get(entity_id, (None, self.today()))
        return self.scope.holds("unit", unit, on)

    def target(self, target_id: str) -> dict | None:
        return self._reads.target(target_id) if self._placed_within("target", target_id) else None

    def _plan_unit(self, period: str | None, unit_id: str | None) -> str:
        """The unit of a list of targets or reports (default the scope unit), within the scope on the
        period's last day (or today)."""
        unit = self._unit(unit_id)
        self._require("unit", unit, plan_day(period, self.today()) if period else self.today(), "unit_id")
        return unit

    def targets(self, period: str | None, unit_id: str | None) -> list[dict]:
        return self._reads.targets(period, self._plan_unit(period, unit_id))

    def progress(self, period: str, unit_id: str | None, as_of: date | None) -> dict[str, Any]:
        unit = self._unit(unit_id)
        self._require("unit", unit, as_of or min(parse_period(period).end, self.today()), "unit_id")
        return self._reads.progress(period, unit, as_of)

    def report(self, report_id: str) -> dict | None:
        return self._reads.report(report_id) if self._placed_within("report", report_id) else None

    def reports(self, period: str | None, unit_id: str | None) -> list[dict]:
        return self._reads.reports(period, self._plan_unit(period, unit_id))

    def tenant_reports(self, period: str | None) -> list[dict]:
        """Reports for the whole tenant lie outside every unit's scope."""
        return []

    def verification(self, report: dict) -> dict:
        self._require("unit", report["unit_id"], report["as_of"], "id")
        return self._reads.verification(report)

    # ---- lists --------------------------------------------------------------------------------------
    def _day(self, as_of: date | None) -> date:
        return as_of or self.today()

    def unit_page(
        self, *, as_of: date | None = None, parent_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> Page:
        """Units under ``parent_id`` (within the scope) that day, or else every unit under the scope unit."""
        on = self._day(as_of)
        if parent_id is not None:
            self._require("unit", parent_id, on, "parent_id")
            return self._reads.unit_page(as_of=as_of, parent_id=parent_id, after=after, limit=limit)
        return self._reads.unit_page(as_of=as_of, after=after, limit=limit, among=self._units_within(on))

    def _units_within(self, on: date) -> set[str]:
        return {u for u in self.scope.units.ever() if self.scope.units.holds(u, on.toordinal())}

    def unit_tree(self, as_of: date | None = None) -> dict[str, Any]:
        """The tree from the scope unit down, as it stood on ``as_of`` (no root: the unit was not active then)."""
        tree = self._reads.unit_tree(as_of)
        waiting, root = list(tree["roots"]), None
        while waiting and root is None:
            node = waiting.pop()
            if node["id"] == self.scope.unit_id:
                root = node
            waiting.extend(node["children"])
        return {"as_of": tree["as_of"], "roots": [root] if root is not None else []}

    def workplace_page(self, *, as_of: date | None = None, unit_id: str | None = None, **filters: Any) -> Page:
        unit = self._unit(unit_id)
        self._require("unit", unit, self._day(as_of), "unit_id")
        return self._reads.workplace_page(as_of=as_of, unit_id=unit, **filters)

    def union_page(self, *, as_of: date | None = None, unit_id: str | None = None, **filters: Any) -> Page:
        unit = self._unit(unit_id)
        self._require("unit", unit, self._day(as_of), "unit_id")
        return self._reads.union_page(as_of=as_of, unit_id=unit, **filters)

    def member_page(
        self, *, as_of: date | None = None, union_id: str | None = None, unit_id: str | None = None, **filters: Any
    ) -> Page:
        on = self._day(as_of)
        unit = self._unit(unit_id)
        self._require("unit", unit, on, "unit_id")
        if union_id is not None:
            self._require("union", union_id, on, "union_id")
        return self._reads.member_page(as_of=as_of, union_id=union_id, unit_id=unit, **filters)

    def member_rows(
        self, *, as_of: date | None = None, union_id: str | None = None, unit_id: str | None = None, **filters: Any
    ) -> Page:
        on = self._day(as_of)
        unit = self._unit(unit_id)
        self._require("unit", unit, on, "unit_id")
        if union_id is not None:
            self._require("union", union_id, on, "union_id")
        return self._reads.member_rows(as_of=as_of, union_id=union_id, unit_id=unit, **filters)


__all__ = ["OutOfScope", "ScopedReads"]
