"""Administration of the tenant: its users (added, deactivated) through the same functions as
``/users``, and its access tokens for the API, issued per role (the secret shown once) and revoked,
through the same registry calls as ``/tokens``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from application.policy import ROLES, Action
from console.common import register
from console.messages import explain, refusal
from domain.errors import DomainError, NotFound
from service.access import allow
from service.resources import users
from service.resources.tokens import TokenIn
from tenants.registry import token_hash

bp = Blueprint("admin", __name__)


def _registry():
    return current_app.extensions["unionledger"].registry


@bp.route("/admin/tokens", methods=["GET", "POST"])
@allow(Action.MANAGE)
def tokens():
    """The tenant's tokens; on a POST, a new one, whose secret this answer shows once."""
    register()  # the same door as every page: the tenant's store for this user, checked
    tenant = g.principal.tenant_id
    values = {k: request.form.get(k, "") for k in ("role", "holder")}
    errors: dict[str, list[str]] = {}
    issued: dict[str, Any] | None = None
    if request.method == "POST":
        try:
            args = TokenIn().load({k: v.strip() for k, v in values.items() if v.strip()})
        except ValidationError as invalid:
            messages: Any = invalid.messages
            errors = {k: [explain(m) for m in v] for k, v in messages.items()}
        else:
            secret = _registry().issue_token(tenant, args["role"], args["holder"])
            issued = {"token": secret, "id": token_hash(secret)[:12], **args}
            values = {"role": "", "holder": ""}
    listed = sorted(_registry().tokens(tenant), key=lambda t: t["created_at"], reverse=True)
    return render_template(
        "console/tokens.html", tokens=listed, roles=ROLES, values=values, errors=errors, issued=issued
    ), (422 if errors else 200)


@bp.route("/admin/tokens/<token_id>/revocation", methods=["POST"])
@allow(Action.MANAGE)
def revoke(token_id: str):
    register()
    if _registry().revoke_token(g.principal.tenant_id, token_id) is None:
        raise NotFound(f"token {token_id!r} does not exist")
    return redirect(url_for("console.admin.tokens"))


USER_FIELDS = ("username", "full_name", "role", "scope_unit_id", "password")


@bp.route("/admin/users", methods=["GET", "POST"])
@allow(Action.MANAGE)
def users_page():
    """The tenant's users; on a POST, a new one, checked by the API's own schema and rules."""
    register()
    tenant = g.principal.tenant_id
    values = {k: request.form.get(k, "") for k in USER_FIELDS}
    errors: dict[str, list[str]] = {}
    added = None
    if request.method == "POST":
        body: dict[str, Any] = {k: v.strip() for k, v in values.items() if k != "password" and v.strip()}
        body["password"] = values["password"]  # as typed: spaces belong to a passphrase
        body.setdefault("scope_unit_id", None)
        try:
            args = users.UserIn().load(body)
        except ValidationError as invalid:
            messages: Any = invalid.messages
            errors = {k if k in USER_FIELDS else "form": [explain(m) for m in v] for k, v in messages.items()}
        else:
            try:
                added = users.add_user(args, tenant)
            except DomainError as refused:
                name, message = refusal(refused, {})
                errors = {name: [message]}
            else:
                values = dict.fromkeys(USER_FIELDS, "")
    values["password"] = ""  # never sent back
    listed = sorted(_registry().users(tenant), key=lambda u: (not u["active"], u["username"]))
    return render_template(
        "console/users.html", users=listed, roles=ROLES, values=values, errors=errors, added=added
    ), (422 if errors else 200)


@bp.route("/admin/users/<username>/deactivation", methods=["POST"])
@allow(Action.MANAGE)
def deactivate_user(username: str):
    """Deactivate a user: it signs in no more, and its sessions (console and API) end at once."""
    register()
    users.deactivate_user(g.principal.tenant_id, username)
    return redirect(url_for("console.admin.users_page"))
