"""The audit trail: every event, in ledger order, with who recorded it and when.

The trail is the ledger itself: its recorder writes beside each event the columns the trail's
filters need (entity, actor, recorded instant) and its business day, indexed
(persistence.recorders); what the event said is read from its stored state when a page is shown
(projections.ledger). Nothing is copied into a view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.base import BUSINESS_DATE
from projections.base import day, micros

ENTITY_TYPES = {
    "Unit": "unit",
    "Workplace": "workplace",
    "Union": "union",
    "Member": "member",
    "Target": "target",
    "Report": "report",
    "NationalTarget": "national_target",
}

# What the recorder writes beside each event, in this order (persistence.recorders)
ENTRY_COLUMNS = ("recorded_at", "actor", "event", "entity_type", "entity_id", "business_date")


def entity_type_of(event_class: type) -> str:
    owner = event_class.__qualname__.split(".")[0]
    return ENTITY_TYPES.get(owner, owner.lower())


def entity_of(event: Any) -> tuple[str, str]:
    """(entity type, client id) of an event, from its aggregate class."""
    kind = entity_type_of(type(event))
    return kind, getattr(event, f"{kind}_id", None) or str(event.originator_id)


def entry_of(event_class: type, originator_id: Any, state: Mapping[str, Any]) -> tuple:
    """The trail's columns of an event of ``event_class`` whose attributes are ``state``:
    recorded instant, actor, event name, entity type and id, business day (ENTRY_COLUMNS)."""
    kind = entity_type_of(event_class)
    name = event_class.__name__
    business = BUSINESS_DATE.get(name)
    return (
        micros(state["timestamp"]),
        state.get("actor", ""),
        name,
        kind,
        state.get(f"{kind}_id") or str(originator_id),
        day(state.get(business)) if business else None,
    )


def entry(event: Any) -> tuple:
    """``entry_of`` a domain event."""
    return entry_of(type(event), event.originator_id, vars(event))
