"""What every register resource shares: reading the current state and the history of one entity."""

from __future__ import annotations

from typing import Callable

from flask_smorest import Blueprint, abort

from service.access import READ_ROLES, allow
from service.auth import tenant_store
from service.resources.audit import render_entries
from service.schemas import HistorySchema
from tenants.stores import TenantStore


def current(store: TenantStore, kind: str, entity_id: str, present: Callable | None = None) -> dict:
    return _present(store.fresh(), kind, entity_id, present)


def _present(store: TenantStore, kind: str, entity_id: str, present: Callable | None) -> dict:
    row = getattr(store.views, kind)(entity_id)
    if row is None:
        abort(404, message=f"{kind} {entity_id!r} does not exist")
    return present(store, row) if present else row


def add_item_routes(blp: Blueprint, kind: str, out_schema, present: Callable | None = None) -> None:
    """GET /{id} (current state) and GET /{id}/history (its events, oldest first)."""

    @blp.route(f"/<{kind}_id>", endpoint=f"{kind}_item", methods=["GET"])
    @allow(READ_ROLES)
    @blp.response(200, out_schema)
    @blp.doc(summary=f"Current state of a {kind}")
    def item(tenant: str, **ids: str):
        store, _ = tenant_store(tenant)
        return current(store, kind, ids[f"{kind}_id"], present)

    add_history_route(blp, kind, lambda store, entity_id: current(store, kind, entity_id))


def add_history_route(blp: Blueprint, kind: str, require: Callable[[TenantStore, str], object]) -> None:
    """GET /{id}/history: the entity's events, oldest first (404 where ``require`` finds none)."""

    @blp.route(f"/<{kind}_id>/history", endpoint=f"{kind}_history", methods=["GET"])
    @allow(READ_ROLES)
    @blp.response(200, HistorySchema)
    @blp.doc(summary=f"Events of a {kind}, oldest first")
    def history(tenant: str, **ids: str):
        store, _ = tenant_store(tenant)
        entity_id = ids[f"{kind}_id"]
        require(store, entity_id)
        entries, _next = store.views.audit(entity_type=kind, entity_id=entity_id, limit=100_000)
        return {"entity_type": kind, "entity_id": entity_id, "events": render_entries(store, entries)}


def created(store: TenantStore, kind: str, entity_id: str, present: Callable | None = None) -> dict:
    """The entity as the next read will see it: a command leaves the views current, so no catching up."""
    return _present(store, kind, entity_id, present)
