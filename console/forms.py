"""The register's command forms. Each takes what the API's schema for the command takes, checked by
that same schema, and goes through the same use case (Register.execute); a refusal is shown
beside the field it is about, in the user's language."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from application.policy import Action
from console.common import register
from console.messages import explain, refusal
from domain.commands import AdmitMember
from domain.errors import DomainError
from domain.members import GENDERS
from service.access import allow
from service.resources.members import MemberIn

bp = Blueprint("forms", __name__)
ADMISSION_RULE_FIELDS = {"union_active": "union_id", "union_dissolved": "union_id", "scope": "union_id"}


def _errors(error: ValidationError) -> dict[str, list[str]]:
    messages: Any = error.messages
    out: dict[str, list[str]] = {}
    for field, said in messages.items():
        out.setdefault(field if field in MemberIn().fields else "form", []).extend(
            explain(m) for m in (said if isinstance(said, list) else [str(said)])
        )
    return out


@bp.route("/members/new", methods=["GET", "POST"])
@allow(Action.RECORD_MEMBERS)
def admit():
    """Admit a member: the form, and on a good one the member's page."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    values.setdefault("union_id", request.args.get("union_id", ""))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        body = {k: (v.strip() or None) for k, v in values.items() if k in MemberIn().fields}
        body = {k: v for k, v in body.items() if v is not None or k in ("birth_date", "id_number")}
        try:
            args = MemberIn().load(body)
        except ValidationError as invalid:
            errors = _errors(invalid)
        else:
            try:
                register().execute(AdmitMember(**args, actor=g.principal.actor))
            except DomainError as refused:
                field, message = refusal(refused, ADMISSION_RULE_FIELDS)
                errors = {field: [message]}
            else:
                return redirect(url_for("console.register.entity", kind="member", entity_id=args["id"]))
    status = 422 if errors else 200
    return render_template("console/admit.html", values=values, errors=errors, genders=GENDERS), status
