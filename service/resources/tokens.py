"""Tenant tokens: issued per role by the federation's admin, shown once, revocable."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, fields, validate

from application.policy import ROLES, UNSCOPED_ROLES, Action
from domain.errors import InvalidValue
from service.access import allow
from service.auth import platform, record_access, tenant_register
from service.bodies import Blueprint
from service.schemas import ClientId, Text
from tenants.registry import token_hash

blp = Blueprint(
    "tokens",
    __name__,
    url_prefix="/v1/tenants/<tenant>/tokens",
    description="Tokens per role: federation_admin (everything), inspector (read, verify reports), "
    "auditor (read, export, digest; writes nothing)",
)


class TokenIn(Schema):
    role = Text(required=True, validate=validate.OneOf(ROLES))
    holder = Text(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Who holds it; recorded as the actor of what they do"},
    )
    scope_unit_id = ClientId(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The unit whose reach it keeps to (reads and writes only what lies under it on the date "
            "a question or command is about); null: the whole tenant. Not for federation_admin or auditor"
        },
    )


class TokenOut(Schema):
    id = fields.String()
    role = fields.String()
    holder = fields.String()
    created_at = fields.String()
    revoked_at = fields.String(allow_none=True)
    scope_unit_id = fields.String(allow_none=True, metadata={"description": "null: the whole tenant"})


class TokenIssued(TokenOut):
    token = fields.String(metadata={"description": "The secret; shown once"})


class TokenList(Schema):
    tokens = fields.List(fields.Nested(TokenOut))


@blp.route("", methods=["POST"])
@allow(Action.MANAGE)
@blp.arguments(TokenIn())
@blp.response(201, TokenIssued)
def issue(args: dict, tenant: str):
    """Issue a token with a role and a scope (federation_admin only); the secret is shown once

    `scope_unit_id` must name a unit of the tenant (422 otherwise); federation_admin and auditor
    work on the whole tenant and take no scope (422).
    """
    register, _ = tenant_register(tenant)
    scope = args["scope_unit_id"]
    if scope is not None:
        if args["role"] in UNSCOPED_ROLES:
            raise InvalidValue(f"a {args['role']} works on the whole tenant: must be null", field="scope_unit_id")
        if register.reads.unit(scope) is None:
            raise InvalidValue(f"unit {scope!r} does not exist", field="scope_unit_id")
    token = platform().registry.issue_token(tenant, args["role"], args["holder"], scope)
    issued = next(t for t in platform().registry.tokens(tenant) if t["id"] == token_hash(token)[:12])
    _record(tenant, "token_issued", issued)
    return {**issued, "token": token}


@blp.route("", methods=["GET"])
@allow(Action.MANAGE)
@blp.response(200, TokenList)
def list_tokens(tenant: str):
    """List the tenant's tokens (no secrets)"""
    tenant_register(tenant)
    return {"tokens": platform().registry.tokens(tenant)}


@blp.route("/<token_id>/revocation", methods=["POST"])
@allow(Action.MANAGE)
@blp.response(201, TokenOut)
def revoke(tenant: str, token_id: str):
    """Revoke a token: from now on it gets 401"""
    tenant_register(tenant)
    revoked = platform().registry.revoke_token(tenant, token_id)
    if revoked is None:
        abort(404, message=f"token {token_id!r} does not exist")
    _record(tenant, "token_revoked", revoked)
    return revoked


def _record(tenant: str, event: str, token: dict) -> None:
    """The access log names a token by its id (the start of its hash), never by the secret."""
    record_access(
        tenant, event, token["id"], {k: v for k, v in token.items() if k not in ("id", "created_at", "revoked_at")}
    )
