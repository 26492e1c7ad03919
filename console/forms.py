"""The register's command forms. Each takes what the API's schema for the command takes, checked by
that same schema, and goes through the same use case (Register.execute); a refusal is shown
beside the field it is about, in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from marshmallow import Schema, ValidationError

from application.policy import Action
from console.common import register
from console.messages import explain, refusal
from domain.commands import AdmitMember, Command, RecordDeparture, TransferMember
from domain.errors import DomainError, NotFound
from domain.members import DEPARTURE_REASONS, GENDERS
from service.access import allow
from service.resources.members import DepartureIn, MemberIn, MemberTransferIn

bp = Blueprint("forms", __name__)


@dataclass(frozen=True)
class Input:
    name: str
    label: Any  # a lazy text of the catalogue
    type: str = "text"  # text, date, radio or select
    required: bool = True
    choices: tuple[str, ...] = ()
    hint: Any = None


@dataclass(frozen=True)
class CommandForm:
    """A register command as a form: its inputs, the API's schema that checks them, and the command."""

    title: Any
    submit: Any
    schema: type[Schema]
    inputs: tuple[Input, ...]
    command: Callable[..., Command]
    rule_fields: dict[str, str] = field(default_factory=dict)  # a refusal's rule -> the input it is about


ADMISSION = CommandForm(
    lazy_gettext("Admit a member"),
    lazy_gettext("Admit"),
    MemberIn,
    (
        Input(
            "id",
            lazy_gettext("Member code"),
            hint=lazy_gettext("Letters, digits and . _ : - ; unique in the register."),
        ),
        Input("union_id", lazy_gettext("Union code")),
        Input("admitted_on", lazy_gettext("Admitted on"), "date"),
        Input("full_name", lazy_gettext("Full name")),
        Input("gender", lazy_gettext("Gender"), "radio", choices=GENDERS),
        Input("birth_date", lazy_gettext("Date of birth"), "date", required=False),
        Input("id_number", lazy_gettext("ID number"), required=False),
    ),
    AdmitMember,
    {"union_active": "union_id", "union_dissolved": "union_id", "scope": "union_id"},
)
DEPARTURE = CommandForm(
    lazy_gettext("Record a departure"),
    lazy_gettext("Record the departure"),
    DepartureIn,
    (
        Input("left_on", lazy_gettext("Left on"), "date"),
        Input("reason", lazy_gettext("Reason"), "select", choices=DEPARTURE_REASONS),
    ),
    RecordDeparture,
)
TRANSFER = CommandForm(
    lazy_gettext("Transfer to another union"),
    lazy_gettext("Transfer"),
    MemberTransferIn,
    (Input("to_union_id", lazy_gettext("To union (code)")), Input("effective_on", lazy_gettext("From"), "date")),
    TransferMember,
    {"union_active": "to_union_id", "union_dissolved": "to_union_id", "same_union": "to_union_id"},
)


def _errors(form: CommandForm, error: ValidationError) -> dict[str, list[str]]:
    messages: Any = error.messages
    names = {i.name for i in form.inputs}
    out: dict[str, list[str]] = {}
    for name, said in messages.items():
        out.setdefault(name if name in names else "form", []).extend(
            explain(m) for m in (said if isinstance(said, list) else [str(said)])
        )
    return out


def run(form: CommandForm, done: Callable[[dict], str], subject: dict | None = None, **path: str):
    """Show the form; on a POST, check it with the API's schema and execute the command, then go to
    ``done(args)``; or show it again with each refusal beside its input."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    for name in ("union_id",):
        values.setdefault(name, request.args.get(name, ""))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        body = {i.name: (values.get(i.name) or "").strip() or None for i in form.inputs}
        body = {
            k: v for k, v in body.items() if v is not None or not next(i for i in form.inputs if i.name == k).required
        }
        try:
            args = form.schema().load(body)
        except ValidationError as invalid:
            errors = _errors(form, invalid)
        else:
            try:
                register().execute(form.command(**path, **args, actor=g.principal.actor))
            except DomainError as refused:
                name, message = refusal(refused, form.rule_fields)
                errors = {name: [message]}
            else:
                return redirect(done(args))
    status = 422 if errors else 200
    return render_template("console/command.html", form=form, values=values, errors=errors, subject=subject), status


def member_page(member_id: str) -> str:
    return url_for("console.register.entity", kind="member", entity_id=member_id)


@bp.route("/members/new", methods=["GET", "POST"])
@allow(Action.RECORD_MEMBERS)
def admit():
    """Admit a member: the form, and on a good one the member's page."""
    return run(ADMISSION, lambda args: member_page(args["id"]))


def _member(member_id: str) -> dict:
    found = register().reads.member(member_id)
    if found is None:
        raise NotFound(f"member {member_id!r} does not exist")
    return found


@bp.route("/member/<member_id>/departure", methods=["GET", "POST"])
@allow(Action.RECORD_MEMBERS)
def depart(member_id: str):
    """Record that a member left."""
    return run(DEPARTURE, lambda _args: member_page(member_id), _member(member_id), member_id=member_id)


@bp.route("/member/<member_id>/transfer", methods=["GET", "POST"])
@allow(Action.RECORD_MEMBERS)
def transfer(member_id: str):
    """Move a member to another union."""
    return run(TRANSFER, lambda _args: member_page(member_id), _member(member_id), member_id=member_id)
