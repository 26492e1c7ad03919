"""What every register resource shares: an entity's current state and its history."""

from __future__ import annotations

from flask_smorest import Blueprint, abort

from application.policy import Action
from application.register import Register
from service.access import allow
from service.auth import tenant_register
from service.schemas import HistorySchema


def entity(register: Register, kind: str, entity_id: str) -> dict:
    """The entity as the views hold it (404 if there is none)."""
    found = register.reads.entity(kind, entity_id)
    if found is None:
        abort(404, message=f"{kind} {entity_id!r} does not exist")
    return found


def add_item_routes(blp: Blueprint, kind: str, out_schema) -> None:
    """GET /{id} (current state) and GET /{id}/history (its events, oldest first)."""

    @blp.route(f"/<{kind}_id>", endpoint=f"{kind}_item", methods=["GET"])
    @allow(Action.READ)
    @blp.response(200, out_schema)
    @blp.doc(summary=f"Current state of a {kind}")
    def item(tenant: str, **ids: str):
        register, _ = tenant_register(tenant)
        return entity(register, kind, ids[f"{kind}_id"])

    add_history_route(blp, kind)


def add_history_route(blp: Blueprint, kind: str) -> None:
    """GET /{id}/history: the entity's events, oldest first (for a scoped principal, those of the
    days it lay within the scope); 404 for an entity that does not exist, or none of whose events
    the principal may see: every entity has at least the event that made it."""

    @blp.route(f"/<{kind}_id>/history", endpoint=f"{kind}_history", methods=["GET"])
    @allow(Action.READ)
    @blp.response(200, HistorySchema)
    @blp.doc(summary=f"Events of a {kind}, oldest first")
    def history(tenant: str, **ids: str):
        register, _ = tenant_register(tenant)
        entity_id = ids[f"{kind}_id"]
        events = register.reads.history(kind, entity_id)
        if not events:
            abort(404, message=f"{kind} {entity_id!r} does not exist")
        return {"entity_type": kind, "entity_id": entity_id, "events": events}
