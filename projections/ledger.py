"""The events themselves, read back from the ledger by position for the views that show them.

The audit trail keeps one narrow row an event (who, when, about which entity, on which business
day: what its filters need, indexed); what the event said is read here from the stored event
when a page is shown, not kept a second time beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from projections.base import ViewCursor, event_data, jsonb_text


def audit_data(event: Any) -> dict[str, Any]:
    """What the trail shows of an event: its own fields, dates as ISO text, keys in the order
    PostgreSQL keeps a jsonb object's (as the trail has always answered them)."""
    return json.loads(jsonb_text(event_data(event)))


class Ledger:
    """Stored events by position: from the ledger's table, in the reader's transaction (so that
    the trail and the events are one snapshot), or from a recorder (an export replayed offline)."""

    def __init__(self, mapper: Any, table: str | None = None, recorder: Any = None):
        self.mapper = mapper
        self.table = table
        self.recorder = recorder

    def data(self, cur: ViewCursor, positions: Sequence[int]) -> dict[int, dict[str, Any]]:
        """``audit_data`` of the events at ``positions``, by position."""
        return {p: audit_data(e) for p, e in self.events(cur, positions).items()}

    def events(self, cur: ViewCursor, positions: Sequence[int]) -> dict[int, Any]:
        wanted = sorted(set(positions))
        if not wanted:
            return {}
        if self.table is None:
            found = {}
            for p in wanted:
                for n in self.recorder.select_notifications(p, 1, stop=p):
                    found[n.id] = self.mapper.to_domain_event(n)
            return found
        key = "notification_id" if cur.dialect == "postgres" else "rowid"
        rows = cur.rows_for(
            f"SELECT {key}, originator_id, originator_version, topic, state FROM {self.table} WHERE {key} IN ({{ids}})",
            wanted,
        )
        return {
            p: self.mapper.to_domain_event(StoredEvent(o if isinstance(o, UUID) else UUID(str(o)), v, t, bytes(s)))
            for p, o, v, t, s in rows
        }
