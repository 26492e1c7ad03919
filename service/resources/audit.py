"""The audit trail: every recorded event, oldest first, with cursor paging."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.schemas import EntrySchema, Instant, Position, Text

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/v1/tenants/<tenant>/audit",
    description="The audit trail: nothing in it changes or disappears",
)


class AuditQuery(Schema):
    entity_type = Text(validate=validate.OneOf(["unit", "workplace", "union", "member", "target", "report"]))
    entity_id = Text()
    actor = Text()
    since = Instant(metadata={"description": "Recorded at or after this instant"})
    until = Instant(metadata={"description": "Recorded at or before this instant"})
    after = Position(metadata={"description": "The `next` cursor of the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditPage(Schema):
    entries = fields.List(fields.Nested(EntrySchema))
    next = fields.Integer(
        allow_none=True, metadata={"description": "Pass as `after` for the next page; null on the last"}
    )


@blp.route("")
@allow(Action.READ)
@blp.arguments(AuditQuery(), location="query")
@blp.response(200, AuditPage)
def audit(args: dict, tenant: str):
    """List recorded events, oldest first

    Filters combine; `since`/`until` bound the recorded instant. Page with `after=next`.
    """
    register, _ = tenant_register(tenant)
    entries, cursor = register.reads.audit(
        entity_type=args.get("entity_type"),
        entity_id=args.get("entity_id"),
        actor=args.get("actor"),
        since=args.get("since"),
        until=args.get("until"),
        after=args.get("after"),
        limit=args["limit"],
    )
    return {"entries": entries, "next": cursor}
