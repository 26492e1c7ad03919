"""Targets (chỉ tiêu): assign, revise, and follow progress."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, fields, validate

from application.policy import Action
from application.register import Register
from domain.commands import AssignTarget, ReviseTarget
from service import files
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.resources.entities import add_history_route
from service.schemas import ClientId, EntityMeta, FormatField, FreeText, Number, PeriodFilter, Text

blp = Blueprint(
    "targets",
    __name__,
    url_prefix="/v1/tenants/<tenant>/targets",
    description="Targets handed down for a period, and progress against them",
)


class TargetIn(Schema):
    unit_id = ClientId(required=True, allow_none=True, metadata={"description": "null: the whole tenant"})
    indicator = Text(required=True, metadata={"description": "An indicator code, e.g. `coverage_pct@25`"})
    period = Text(required=True, metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"})
    value = Number(required=True)
    assigned_on = fields.Date(load_default=None, metadata={"description": "Date of the decision; default today"})
    decision_no = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))


class RevisionIn(Schema):
    value = Number(required=True)
    reason = FreeText(required=True, validate=validate.Length(min=1, max=500))
    revised_on = fields.Date(load_default=None)


class TargetOut(EntityMeta):
    id = fields.String()
    unit_id = fields.String(allow_none=True)
    indicator = fields.String()
    period = fields.String()
    value = fields.Raw(metadata={"description": "A whole number for counts, one decimal for percentages"})
    assigned_on = fields.Date()
    decision_no = fields.String(allow_none=True)
    revisions = fields.Integer()


class TargetList(Schema):
    targets = fields.List(fields.Nested(TargetOut))


class TargetsQuery(Schema):
    period = PeriodFilter()
    unit_id = Text(load_default=None)


class ProgressQuery(Schema):
    period = Text(required=True)
    unit_id = Text(load_default=None, metadata={"description": "Omit for the whole tenant's targets"})
    as_of = fields.Date(load_default=None, metadata={"description": "Default: the period's last day, or today"})
    format = FormatField()


class ProgressLine(Schema):
    target_id = fields.String()
    indicator = fields.String()
    target = fields.Raw()
    actual = fields.Raw()
    achieved_pct = fields.Float()
    expected_to_date = fields.Float()
    status = fields.String(metadata={"description": "achieved, on_track or behind"})


class ProgressOut(Schema):
    period = fields.String()
    unit_id = fields.String(allow_none=True)
    as_of = fields.Date()
    lines = fields.List(fields.Nested(ProgressLine))


def _target(register: Register, target_id: str) -> dict:
    target = register.reads.target(target_id)
    if target is None:
        abort(404, message=f"target {target_id!r} does not exist")
    return target


@blp.route("", methods=["POST"])
@allow(Action.PLAN)
@blp.arguments(TargetIn())
@blp.response(201, TargetOut)
def assign(args: dict, tenant: str):
    """Assign a target (TargetAssigned); the service gives its id"""
    register, who = tenant_register(tenant)
    target = register.execute(AssignTarget(**args, actor=who.actor))
    return _target(register, target.target_id)


@blp.route("", methods=["GET"])
@allow(Action.READ)
@blp.arguments(TargetsQuery(), location="query")
@blp.response(200, TargetList)
def list_targets(args: dict, tenant: str):
    """List targets, by period and unit"""
    register, _ = tenant_register(tenant)
    return {"targets": register.reads.targets(args["period"], args["unit_id"])}


@blp.route("/progress", methods=["GET"])
@allow(Action.READ)
@blp.arguments(ProgressQuery(), location="query")
@blp.response(200, ProgressOut)
@files.documented(blp)
def progress(args: dict, tenant: str):
    """Progress against the targets of a unit (or the whole tenant) for a period

    `actual` is the indicator at `as_of`. `expected_to_date` is pro rata over the period's days
    up to `as_of`: for a flow, target x elapsed days / period days; for a stock, the figure on the
    day before the period plus (target - that figure) x elapsed days / period days.
    `status` is `achieved` when actual >= target, else `on_track` when actual >= expected_to_date,
    else `behind`. `achieved_pct` is 100 x actual / target, one decimal.
    """
    fmt = files.wanted(args)
    register, _ = tenant_register(tenant)
    progress = register.reads.progress(args["period"], args["unit_id"], args["as_of"])
    return progress if fmt == "json" else files.progress_file(fmt, progress, tenant)


@blp.route("/<target_id>", methods=["GET"])
@allow(Action.READ)
@blp.response(200, TargetOut)
def get_target(tenant: str, target_id: str):
    """Current state of a target"""
    register, _ = tenant_register(tenant)
    return _target(register, target_id)


@blp.route("/<target_id>/revision", methods=["POST"])
@allow(Action.PLAN)
@blp.arguments(RevisionIn())
@blp.response(201, TargetOut)
def revise(args: dict, tenant: str, target_id: str):
    """Revise a target's value, with a reason (TargetRevised); the history keeps both"""
    register, who = tenant_register(tenant)
    register.execute(ReviseTarget(target_id=target_id, **args, actor=who.actor))
    return _target(register, target_id)


add_history_route(blp, "target")
