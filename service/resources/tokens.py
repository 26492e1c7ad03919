"""Tenant tokens: issued per role by the federation's admin, shown once, revocable."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, fields, validate

from application.policy import ROLES, Action
from service.access import allow
from service.auth import platform, record_access, tenant_register
from service.bodies import Blueprint
from service.schemas import Text
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


class TokenOut(Schema):
    id = fields.String()
    role = fields.String()
    holder = fields.String()
    created_at = fields.String()
    revoked_at = fields.String(allow_none=True)


class TokenIssued(TokenOut):
    token = fields.String(metadata={"description": "The secret; shown once"})


class TokenList(Schema):
    tokens = fields.List(fields.Nested(TokenOut))


@blp.route("", methods=["POST"])
@allow(Action.MANAGE)
@blp.arguments(TokenIn())
@blp.response(201, TokenIssued)
def issue(args: dict, tenant: str):
    """Issue a token with a role (federation_admin only); the secret is shown once"""
    tenant_register(tenant)
    token = platform().registry.issue_token(tenant, args["role"], args["holder"])
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
