"""Users of a tenant: people with a role, perhaps a scope unit, and a password to log in with
(POST /v1/sessions). Kept in the control store, beside the tokens; only a password's hash is kept."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from application.policy import ROLES, UNSCOPED_ROLES, Action
from domain.errors import AlreadyExists, Conflict, InvalidValue, NotFound
from service.access import allow
from service.auth import client_address, platform, presented_token, record_refusal, tenant_register
from service.bodies import Blueprint
from service.schemas import ClientId, Name, Text
from tenants.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from tenants.registry import token_hash

blp = Blueprint(
    "users",
    __name__,
    url_prefix="/v1/tenants/<tenant>/users",
    description="Users who log in with a password (federation_admin manages them; each changes its own password)",
)
USERNAME = r"^[a-z0-9][a-z0-9._@-]{0,63}$"


def password_field(**kw) -> fields.String:
    """Any text of one line (no control characters, as every field of the register)."""
    return Text(
        load_only=True,
        validate=validate.Length(
            min=MIN_LENGTH, max=MAX_LENGTH, error="must be {min} to {max} characters long; a passphrase will do"
        ),
        metadata={"description": f"At least {MIN_LENGTH} characters; only its argon2id hash is kept"},
        **kw,
    )


class UserIn(Schema):
    username = Text(
        required=True,
        validate=validate.Regexp(USERNAME, error="must be 1-64 lowercase letters, digits and ._@-"),
        metadata={"description": "What the user logs in with; recorded as the actor of what it does"},
    )
    full_name = Name(required=True)
    role = Text(required=True, validate=validate.OneOf(ROLES))
    scope_unit_id = ClientId(
        load_default=None,
        allow_none=True,
        metadata={"description": "The unit the user is scoped to; null: the whole tenant (federation_admin, auditor)"},
    )
    password = password_field(required=True)

    @validates_schema
    def whole_tenant(self, data: dict, **_kw) -> None:
        if data.get("role") in UNSCOPED_ROLES and data.get("scope_unit_id") is not None:
            raise ValidationError(f"a {data['role']} sees the whole tenant: leave it null", field_name="scope_unit_id")


class PasswordIn(Schema):
    password = password_field(required=True)


class UserOut(Schema):
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    scope_unit_id = fields.String(allow_none=True)
    created_at = fields.String()
    password_changed_at = fields.String()
    deactivated_at = fields.String(allow_none=True)
    active = fields.Boolean()


class UserList(Schema):
    users = fields.List(fields.Nested(UserOut))


def _user(tenant: str, username: str) -> dict:
    user = platform().registry.user(tenant, username)
    if user is None:
        raise NotFound(f"user {username!r} does not exist", field="username")
    return user


@blp.route("", methods=["POST"])
@allow(Action.MANAGE)
@blp.arguments(UserIn())
@blp.response(201, UserOut)
def create(args: dict, tenant: str):
    """Add a user (federation_admin only); the answer has no password

    `scope_unit_id` must name a unit of the tenant; a federation_admin or auditor has none.
    """
    return add_user(args, tenant)


def add_user(args: dict, tenant: str) -> dict:
    """Add a user checked by ``UserIn``: the API's call and the console's page alike. InvalidValue for
    a scope unit the tenant lacks, AlreadyExists for a username taken."""
    register, who = tenant_register(tenant)
    registry = platform().registry
    username, scope = args["username"], args["scope_unit_id"]
    if scope is not None and register.reads.unit(scope) is None:
        raise InvalidValue(f"unit {scope!r} does not exist", field="scope_unit_id")  # 422, as POST /tokens
    taken = AlreadyExists(f"user {username!r} exists", field="username", rule="username_unique")
    if registry.user(tenant, username) is not None:
        raise taken  # before the slow hash
    user = dict(args)
    password = user.pop("password")
    if not registry.add_user(tenant, user, hash_password(password), actor=who.actor, address=client_address()):
        raise taken
    return _user(tenant, username)


@blp.route("", methods=["GET"])
@allow(Action.MANAGE)
@blp.response(200, UserList)
def list_users(tenant: str):
    """List the tenant's users, deactivated ones too (no passwords)"""
    tenant_register(tenant)
    return {"users": platform().registry.users(tenant)}


@blp.route("/<username>/deactivation", methods=["POST"])
@allow(Action.MANAGE)
@blp.response(201, UserOut)
def deactivate(tenant: str, username: str):
    """Deactivate a user: it can no longer log in, and its sessions end at once"""
    return deactivate_user(tenant, username)


def deactivate_user(tenant: str, username: str) -> dict:
    """Deactivate a user and end its sessions: the API's call and the console's page alike."""
    _, who = tenant_register(tenant)
    if not _user(tenant, username)["active"]:
        raise Conflict(f"user {username!r} is deactivated already", field="username", rule="user_active")
    platform().registry.deactivate_user(tenant, username, actor=who.actor, address=client_address())
    return _user(tenant, username)


@blp.route("/<username>/password", methods=["POST"])
@allow(Action.OWN_ACCOUNT)
@blp.arguments(PasswordIn())
@blp.response(201, UserOut)
def change_password(args: dict, tenant: str, username: str):
    """Set a user's password: the user's own session, or federation_admin

    The user's other sessions end; the session that changes its own password goes on.
    """
    _, who = tenant_register(tenant)
    if who.role != "federation_admin" and who.user != username:
        record_refusal(who, "refused_role", {"user": username})
        abort(403, message="only the user itself (logged in) or a federation_admin sets a user's password")
    if not _user(tenant, username)["active"]:
        raise Conflict(f"user {username!r} is deactivated", field="username", rule="user_active")
    own = token_hash(presented_token()[0]) if who.user == username else None
    changed = platform().registry.set_password(
        tenant, username, hash_password(args["password"]), actor=who.actor, address=client_address(), keep=own
    )
    if not changed:  # deactivated meanwhile
        raise Conflict(f"user {username!r} is deactivated", field="username", rule="user_active")
    return _user(tenant, username)
