"""The access log: tokens issued and revoked, users added and changed, logins, and the refusals
for role and scope; appended to, never changed. Read by federation_admin and auditor only."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from service.access import allow
from service.auth import platform, tenant_register
from service.bodies import Blueprint
from service.schemas import Position

blp = Blueprint(
    "access_log",
    __name__,
    url_prefix="/v1/tenants/<tenant>/access-log",
    description="Who got in and who was refused (federation_admin, auditor)",
)


class AccessLogQuery(Schema):
    after = Position(load_default=0, metadata={"description": "The `next` cursor of the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AccessEntry(Schema):
    position = fields.Integer(metadata={"description": "1, 2, 3... in the tenant's log, without gaps"})
    recorded_at = fields.String()
    tenant = fields.String()
    actor = fields.String(metadata={"description": "The token's holder or the user; for a login, who tried"})
    event = fields.String(
        metadata={
            "description": "token_issued, token_revoked, user_created, user_deactivated, password_changed,"
            " login_ok, login_failed, login_locked, logout, refused_role, refused_scope, refused_csrf"
        }
    )
    subject = fields.String(allow_none=True, metadata={"description": "The user, token id or path it is about"})
    address = fields.String(allow_none=True, metadata={"description": "The client's address"})
    detail = fields.Dict(metadata={"description": "What else the event says: never a token or a password"})


class AccessLogPage(Schema):
    entries = fields.List(fields.Nested(AccessEntry))
    next = fields.Integer(
        allow_none=True, metadata={"description": "Pass as `after` for the next page; null on the last"}
    )


@blp.route("")
@allow(Action.ACCESS_LOG)
@blp.arguments(AccessLogQuery(), location="query")
@blp.response(200, AccessLogPage)
def access_log(args: dict, tenant: str):
    """The access log, oldest first; page with `after=next`"""
    tenant_register(tenant)
    entries = platform().registry.access_log(tenant, args["after"], args["limit"] + 1)
    more = len(entries) > args["limit"]
    entries = entries[: args["limit"]]
    return {"entries": entries, "next": entries[-1]["position"] if more else None}
