"""A user's own account: their password, changed through the same schema and registry call as
``POST /users/{username}/password`` (their other sessions end, this one goes on)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request, session
from flask_babel import gettext as _
from marshmallow import ValidationError

from application.policy import Action
from console.common import register
from console.messages import explain
from service.access import allow
from service.auth import client_address
from service.resources.users import PasswordIn
from tenants.passwords import hash_password
from tenants.registry import token_hash

bp = Blueprint("account", __name__)


def _messages(invalid: ValidationError) -> list[str]:
    said: Any = invalid.messages
    return [explain(m) for m in said.get("password", [])]


@bp.route("/account/password", methods=["GET", "POST"])
@allow(Action.OWN_ACCOUNT)
def password():
    """The signed-in user sets a new password, typed twice; the API's rules (length) apply."""
    register()  # the same door as every page
    who = g.principal
    errors: dict[str, list[str]] = {}
    changed = False
    if request.method == "POST":
        new, again = request.form.get("password", ""), request.form.get("password_again", "")
        try:
            args = PasswordIn().load({"password": new})
        except ValidationError as invalid:
            errors["password"] = _messages(invalid)
        else:
            if new != again:
                errors["password_again"] = [_("The two passwords differ.")]
            else:
                registry = current_app.extensions["unionledger"].registry
                changed = registry.set_password(
                    who.tenant_id,
                    who.user,
                    hash_password(args["password"]),
                    actor=who.actor,
                    address=client_address(),
                    keep=token_hash(session["token"]),
                )
    return render_template("console/password.html", errors=errors, changed=changed), (422 if errors else 200)
