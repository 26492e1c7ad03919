"""The audit trail: every event, in ledger order, with who recorded it and when.

One narrow row an event, what the trail's filters need (entity, actor, recorded instant) and its
business day, indexed; what the event said is read from the ledger itself when a page is shown
(projections.ledger), not copied here.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import resolve_topic

from domain.base import BUSINESS_DATE, business_date
from projections.base import (
    Projection,
    StoredRun,
    ViewCursor,
    day,
    event_name,
    micros,
    sql_day,
    sql_micros,
)

ENTITY_TYPES = {
    "Unit": "unit",
    "Workplace": "workplace",
    "Union": "union",
    "Member": "member",
    "Target": "target",
    "Report": "report",
    "NationalTarget": "national_target",
}


def entity_type_of(event_class: type) -> str:
    owner = event_class.__qualname__.split(".")[0]
    return ENTITY_TYPES.get(owner, owner.lower())


def entity_of(event: Any) -> tuple[str, str]:
    """(entity type, client id) of an event, from its aggregate class."""
    kind = entity_type_of(type(event))
    return kind, getattr(event, f"{kind}_id", None) or str(event.originator_id)


class Audit(Projection):
    name = "audit"
    tables = ("audit_entries",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS audit_entries ("
        " position BIGINT PRIMARY KEY, recorded_at BIGINT NOT NULL, actor TEXT NOT NULL,"
        " event TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,"
        " business_date INTEGER, version INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS audit_entity ON audit_entries (entity_type, entity_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_actor ON audit_entries (actor, position)",
        "CREATE INDEX IF NOT EXISTS audit_recorded ON audit_entries (recorded_at)",
    )

    readers_indexes = ("audit_entity", "audit_actor", "audit_recorded")
    # A position of its own: a rebuild writes the audit entries beside the other views (PostgreSQL
    # then works on two cores), each lane committing its batches with its own position.
    lane = "audit"
    # Every event names its entity and its business day in fields of its stored state, read in SQL.
    derived = frozenset(BUSINESS_DATE)

    COLUMNS = (
        "position",
        "recorded_at",
        "actor",
        "event",
        "entity_type",
        "entity_id",
        "business_date",
        "version",
    )

    @staticmethod
    def row(event: Any, position: int) -> tuple:
        kind, entity_id = entity_of(event)
        return (
            position,
            micros(event.timestamp),
            getattr(event, "actor", ""),
            event_name(event),
            kind,
            entity_id,
            day(business_date(event)),
            event.originator_version,
        )

    @classmethod
    def handles(cls, name: str) -> bool:
        return True

    def derive(self, cur: ViewCursor, run: StoredRun) -> None:
        for topic in run.topics:  # a run holds one or a few kinds of event
            select, params = run.select(topic)  # each event parsed once, not once per topic of the run
            event_class = resolve_topic(topic)
            name, kind = event_class.__name__, entity_type_of(event_class)
            business = BUSINESS_DATE.get(name)
            cur.execute(
                f"INSERT INTO audit_entries ({', '.join(self.COLUMNS)})"
                f" SELECT position, {sql_micros('timestamp')}, coalesce(j->>'actor', ''), ?, ?,"
                f" coalesce(nullif(j->>'{kind}_id', ''), originator_id::text),"
                f" {sql_day(business) if business else 'NULL'}, version"
                f" FROM ({select}) s",
                [name, kind, *params],
            )

    def process_event(self, cur: ViewCursor, event: Any, position: int) -> None:
        cur.insert_rows("audit_entries", self.COLUMNS, [self.row(event, position)])

    def process_batch(self, cur: ViewCursor, items) -> None:
        cur.insert_rows("audit_entries", self.COLUMNS, [self.row(e, p) for e, p in items])
