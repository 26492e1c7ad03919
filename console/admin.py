"""Administration of the tenant: its access tokens, issued per role (the secret shown once) and revoked.
The same registry calls as ``/tokens``; user accounts join here when they exist."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from application.policy import ROLES, Action
from console.common import register
from console.messages import explain
from domain.errors import NotFound
from service.access import allow
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
