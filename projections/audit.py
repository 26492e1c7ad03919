"""The audit trail: every event, in ledger order, with who recorded it and when."""

from __future__ import annotations

from typing import Any

from domain.base import business_date
from projections.base import Projection, ViewCursor, day, dumps, event_data, event_name, micros

ENTITY_TYPES = {"Unit": "unit", "Workplace": "workplace", "Union": "union", "Member": "member",
                "Target": "target", "Report": "report"}


def entity_of(event: Any) -> tuple[str, str]:
    """(entity type, client id) of an event, from its aggregate class."""
    owner = type(event).__qualname__.split(".")[0]
    kind = ENTITY_TYPES.get(owner, owner.lower())
    return kind, getattr(event, f"{kind}_id", None) or str(event.originator_id)


class Audit(Projection):
    name = "audit"
    tables = ("audit_entries",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS audit_entries ("
        " position BIGINT PRIMARY KEY, recorded_at BIGINT NOT NULL, actor TEXT NOT NULL,"
        " event TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,"
        " business_date INTEGER, version INTEGER NOT NULL, data TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS audit_entity ON audit_entries (entity_type, entity_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_actor ON audit_entries (actor, position)",
        "CREATE INDEX IF NOT EXISTS audit_recorded ON audit_entries (recorded_at)",
    )

    readers_indexes = ("audit_entity", "audit_actor", "audit_recorded")

    COLUMNS = ("position", "recorded_at", "actor", "event", "entity_type", "entity_id", "business_date", "version",
               "data")

    @staticmethod
    def row(event: Any, position: int) -> tuple:
        kind, entity_id = entity_of(event)
        return (position, micros(event.timestamp), getattr(event, "actor", ""), event_name(event), kind, entity_id,
                day(business_date(event)), event.originator_version, dumps(event_data(event)))

    def process_event(self, cur: ViewCursor, event: Any, position: int) -> None:
        cur.insert_rows("audit_entries", self.COLUMNS, [self.row(event, position)])

    def process_batch(self, cur: ViewCursor, items) -> None:
        cur.insert_rows("audit_entries", self.COLUMNS, [self.row(e, p) for e, p in items])
