"""Platform: provisioning tenants (one per provincial federation)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from service.access import allow
from service.auth import platform
from service.bodies import Blueprint
from service.schemas import Text

blp = Blueprint("tenants", __name__, url_prefix="/v1/tenants", description="Tenants (platform admin token)")


class TenantIn(Schema):
    id = Text(
        required=True,
        validate=validate.Regexp(
            r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$", error="must be 1-40 lowercase letters, digits and inner hyphens"
        ),
    )
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    server = Text(
        load_default=None,
        metadata={
            "description": "The PostgreSQL server to place it on (a name of UNIONLEDGER_DATABASE_URLS);"
            " by default the one holding the fewest members"
        },
    )


class TenantOut(Schema):
    id = fields.String()
    name = fields.String()
    server = fields.String(metadata={"description": "The PostgreSQL server it lives on (absent on the embedded store)"})


class TenantCreated(TenantOut):
    token = fields.String(metadata={"description": "The tenant's first token (role federation_admin); shown once"})


class TenantList(Schema):
    tenants = fields.List(fields.Nested(TenantOut))


@blp.route("", methods=["POST"])
@allow(Action.PLATFORM)
@blp.arguments(TenantIn())
@blp.response(201, TenantCreated)
def create(args: dict):
    """Provision a tenant: its own schema (PostgreSQL) or file (SQLite), and its first token"""
    token = platform().provision(args["id"], args["name"], args["server"])
    return {**platform().registry.tenant(args["id"]), "token": token}


@blp.route("", methods=["GET"])
@allow(Action.PLATFORM)
@blp.response(200, TenantList)
def list_tenants():
    """List tenants"""
    return {"tenants": platform().registry.tenants()}
