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
from domain.commands import (
    AdmitMember,
    CloseUnit,
    Command,
    DissolveUnion,
    EstablishUnit,
    FoundUnion,
    FoundWomensCommittee,
    HoldConference,
    IssueCard,
    RateUnion,
    RecordDeparture,
    RecordDues,
    RecordTraining,
    RegisterWorkplace,
    SignAgreement,
    SurveyWorkplace,
    TransferMember,
    TransferUnion,
)
from domain.errors import DomainError, NotFound
from domain.members import DEPARTURE_REASONS, GENDERS
from domain.unions import RATINGS
from domain.units import UNIT_KINDS
from domain.workplaces import SECTORS
from service.access import allow
from service.resources.members import CardIn, DepartureIn, MemberIn, MemberTransferIn
from service.resources.unions import (
    DissolutionIn,
    DuesIn,
    RatingIn,
    TrainingIn,
    UnionIn,
    UnionTransferIn,
    WomensCommitteeIn,
)
from service.resources.units import ClosureIn, UnitIn
from service.resources.workplaces import AgreementIn, ConferenceIn, SurveyIn, WorkplaceIn

bp = Blueprint("forms", __name__)


@dataclass(frozen=True)
class Input:
    name: str
    label: Any  # a lazy text of the catalogue
    type: str = "text"  # text, date, number, radio or select
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


ID_HINT = lazy_gettext("Letters, digits and . _ : - ; unique in the register.")
ESTABLISHMENT = CommandForm(
    lazy_gettext("Establish a unit"),
    lazy_gettext("Establish"),
    UnitIn,
    (
        Input("id", lazy_gettext("Unit code"), hint=ID_HINT),
        Input("name", lazy_gettext("Name")),
        Input("kind", lazy_gettext("Kind"), "select", choices=UNIT_KINDS),
        Input("established_on", lazy_gettext("Established on"), "date"),
        Input("parent_id", lazy_gettext("Parent unit (code)"), required=False),
    ),
    EstablishUnit,
    {"unit_active": "parent_id", "unit_closed": "parent_id", "scope": "parent_id"},
)
CLOSURE = CommandForm(
    lazy_gettext("Close a unit"),
    lazy_gettext("Close"),
    ClosureIn,
    (
        Input("closed_on", lazy_gettext("Closed on"), "date"),
        Input("successor_id", lazy_gettext("Successor unit (code)"), required=False),
    ),
    CloseUnit,
    {"unit_not_empty": "successor_id", "successor": "successor_id", "date_order": "closed_on"},
)
WORKFORCE = (
    Input("workers", lazy_gettext("Workers"), "number"),
    Input("female_workers", lazy_gettext("Female workers"), "number"),
    Input("as_of", lazy_gettext("As of"), "date"),
)
REGISTRATION = CommandForm(
    lazy_gettext("Register a workplace"),
    lazy_gettext("Register"),
    WorkplaceIn,
    (
        Input("id", lazy_gettext("Workplace code"), hint=ID_HINT),
        Input("name", lazy_gettext("Name")),
        Input("sector", lazy_gettext("Sector"), "select", choices=SECTORS),
        Input("unit_id", lazy_gettext("Unit code")),
        *WORKFORCE,
    ),
    RegisterWorkplace,
    {"unit_active": "unit_id", "unit_closed": "unit_id", "scope": "unit_id"},
)
SURVEY = CommandForm(
    lazy_gettext("Record a workforce survey"),
    lazy_gettext("Record"),
    SurveyIn,
    WORKFORCE,
    SurveyWorkplace,
    {"date_order": "as_of"},
)
FOUNDING = CommandForm(
    lazy_gettext("Found a grassroots union"),
    lazy_gettext("Found"),
    UnionIn,
    (
        Input("id", lazy_gettext("Union code"), hint=ID_HINT),
        Input("name", lazy_gettext("Name")),
        Input("workplace_id", lazy_gettext("Workplace code")),
        Input("unit_id", lazy_gettext("Unit code")),
        Input("founded_on", lazy_gettext("Founded on"), "date"),
        Input("decision_no", lazy_gettext("Decision number"), required=False),
    ),
    FoundUnion,
    {"unit_active": "unit_id", "unit_closed": "unit_id", "scope": "unit_id", "union_active": "workplace_id"},
)
UNION_TRANSFER = CommandForm(
    lazy_gettext("Move the union to another unit"),
    lazy_gettext("Move"),
    UnionTransferIn,
    (Input("to_unit_id", lazy_gettext("To unit (code)")), Input("effective_on", lazy_gettext("From"), "date")),
    TransferUnion,
    {"unit_active": "to_unit_id", "unit_closed": "to_unit_id", "same_unit": "to_unit_id", "date_order": "effective_on"},
)
DISSOLUTION = CommandForm(
    lazy_gettext("Dissolve the union"),
    lazy_gettext("Dissolve"),
    DissolutionIn,
    (Input("dissolved_on", lazy_gettext("Dissolved on"), "date"), Input("reason", lazy_gettext("Reason"))),
    DissolveUnion,
    {"union_has_members": "dissolved_on", "date_order": "dissolved_on", "union_dissolved": "dissolved_on"},
)


# ---- the plans' other records ------------------------------------------------------------------------
RATING = CommandForm(
    lazy_gettext("Record the union's rating"),
    lazy_gettext("Record the rating"),
    RatingIn,
    (
        Input("year", lazy_gettext("Year rated"), "number"),
        Input("rating", lazy_gettext("Rating"), "select", choices=RATINGS),
        Input("decided_on", lazy_gettext("Decided on"), "date"),
    ),
    RateUnion,
    {"rated_before_founding": "year", "union_active": "decided_on"},
)
WOMENS_COMMITTEE = CommandForm(
    lazy_gettext("Record the women's committee"),
    lazy_gettext("Record the committee"),
    WomensCommitteeIn,
    (Input("founded_on", lazy_gettext("Founded on"), "date"),),
    FoundWomensCommittee,
    {"union_active": "founded_on", "womens_committee_exists": "founded_on"},
)
DUES = CommandForm(
    lazy_gettext("Record dues"),
    lazy_gettext("Record the dues"),
    DuesIn,
    (
        Input("period", lazy_gettext("Period"), hint=lazy_gettext("2024, 2024-H1, 2024-Q3 or 2024-05.")),
        Input("due", lazy_gettext("Dues due (VND)"), "number"),
        Input("collected", lazy_gettext("Dues collected (VND)"), "number"),
    ),
    RecordDues,
    {"union_active": "period"},
)
TRAINING = CommandForm(
    lazy_gettext("Record officials' training"),
    lazy_gettext("Record the training"),
    TrainingIn,
    (
        Input("year", lazy_gettext("Year"), "number"),
        Input("officials", lazy_gettext("Union officials"), "number"),
        Input("trained", lazy_gettext("Officials trained"), "number"),
    ),
    RecordTraining,
    {"union_active": "year", "trained_exceeds_officials": "trained"},
)
AGREEMENT = CommandForm(
    lazy_gettext("Record a collective labour agreement"),
    lazy_gettext("Record the agreement"),
    AgreementIn,
    (Input("signed_on", lazy_gettext("Signed on"), "date"), Input("expires_on", lazy_gettext("Expires on"), "date")),
    SignAgreement,
    {"agreement_expiry": "expires_on", "date_order": "signed_on"},
)
CONFERENCE = CommandForm(
    lazy_gettext("Record a workers' conference"),
    lazy_gettext("Record the conference"),
    ConferenceIn,
    (Input("held_on", lazy_gettext("Held on"), "date"),),
    HoldConference,
    {"date_order": "held_on"},
)
CARD = CommandForm(
    lazy_gettext("Record a member card"),
    lazy_gettext("Record the card"),
    CardIn,
    (Input("card_no", lazy_gettext("Card number")), Input("issued_on", lazy_gettext("Issued on"), "date")),
    IssueCard,
    {"card_no_taken": "card_no", "member_active": "issued_on"},
)


def _typed(form: CommandForm, body: dict[str, Any]) -> dict[str, Any]:
    """A form sends text: a count's digits are given to the schema as the number the API takes."""
    for i in form.inputs:
        value = body.get(i.name)
        if i.type == "number" and isinstance(value, str) and value.isdigit():
            body[i.name] = int(value)
    return body


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
    for i in form.inputs:  # a link may fill some in (the union to admit to, the workplace to found at)
        values.setdefault(i.name, request.args.get(i.name, ""))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        body = {i.name: (values.get(i.name) or "").strip() or None for i in form.inputs}
        body = {
            k: v for k, v in body.items() if v is not None or not next(i for i in form.inputs if i.name == k).required
        }
        try:
            args = form.schema().load(_typed(form, body))
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


def _entity(kind: str, entity_id: str) -> dict:
    found = register().reads.entity(kind, entity_id)
    if found is None:
        raise NotFound(f"{kind} {entity_id!r} does not exist")
    return found


def entity_page(kind: str, entity_id: str) -> str:
    return url_for("console.register.entity", kind=kind, entity_id=entity_id)


@bp.route("/units/new", methods=["GET", "POST"])
@allow(Action.RECORD)
def establish():
    return run(ESTABLISHMENT, lambda args: entity_page("unit", args["id"]))


@bp.route("/unit/<unit_id>/closure", methods=["GET", "POST"])
@allow(Action.RECORD)
def close(unit_id: str):
    return run(CLOSURE, lambda _args: entity_page("unit", unit_id), _entity("unit", unit_id), unit_id=unit_id)


@bp.route("/workplaces/new", methods=["GET", "POST"])
@allow(Action.RECORD)
def register_workplace():
    return run(REGISTRATION, lambda args: entity_page("workplace", args["id"]))


@bp.route("/unions/new", methods=["GET", "POST"])
@allow(Action.RECORD)
def found():
    return run(FOUNDING, lambda args: entity_page("union", args["id"]))


# ---- commands on a union's or a workplace's page -------------------------------------------------------
RECORDS: dict[str, tuple[str, str, CommandForm]] = {  # endpoint -> (kind of entity, path's last part, form)
    "survey": ("workplace", "survey", SURVEY),
    "move_union": ("union", "transfer", UNION_TRANSFER),
    "dissolve": ("union", "dissolution", DISSOLUTION),
    "rate": ("union", "rating", RATING),
    "womens_committee": ("union", "womens-committee", WOMENS_COMMITTEE),
    "dues": ("union", "dues", DUES),
    "training": ("union", "training", TRAINING),
    "agreement": ("workplace", "agreement", AGREEMENT),
    "conference": ("workplace", "conference", CONFERENCE),
}


def _recorder(kind: str, form: CommandForm) -> Callable:
    """The page of ``form`` on a ``kind``'s own page; back to that page once recorded."""

    @allow(Action.RECORD)
    def record(**ids: str):
        entity_id = ids[f"{kind}_id"]
        return run(form, lambda _args: entity_page(kind, entity_id), _entity(kind, entity_id), **ids)

    return record


for _endpoint, (_kind, _path, _form) in RECORDS.items():
    bp.add_url_rule(f"/{_kind}/<{_kind}_id>/{_path}", _endpoint, _recorder(_kind, _form), methods=["GET", "POST"])


@bp.route("/member/<member_id>/card", methods=["GET", "POST"])
@allow(Action.RECORD)
def card(member_id: str):
    """Record a member card issued to the member."""
    return run(CARD, lambda _args: member_page(member_id), _member(member_id), member_id=member_id)
