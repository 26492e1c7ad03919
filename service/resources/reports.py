"""Reports (báo cáo): drafts from the ledger, submissions, and their verification by inspectors."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, fields, validate

from application.policy import Action
from application.register import Register
from domain.commands import SubmitReport
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.resources.entities import add_history_route
from service.schemas import ClientId, EntityMeta, Number, PeriodFilter, Text

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/v1/tenants/<tenant>/reports",
    description="Reports sent up, and their verification against the ledger",
)


class ReportIn(Schema):
    unit_id = ClientId(required=True, allow_none=True, metadata={"description": "null: the whole tenant"})
    period = Text(required=True)
    as_of = fields.Date(
        load_default=None,
        metadata={"description": "The cut-off date; default the period's last day, or today while the period runs"},
    )
    figures = fields.Dict(keys=Text(), values=Number(), required=True, validate=validate.Length(min=1, max=100))
    replaces = Text(
        load_default=None,
        allow_none=True,
        metadata={"description": "The report this one corrects (same unit and period)"},
    )


class VerificationSummary(Schema):
    verdict = fields.String()
    verified_at = fields.DateTime()
    verified_by = fields.String()
    lines = fields.List(fields.Dict())


class ReportOut(EntityMeta):
    id = fields.String()
    unit_id = fields.String(allow_none=True)
    period = fields.String()
    as_of = fields.Date()
    figures = fields.Dict(keys=fields.String(), values=fields.Raw())
    submitted_at = fields.DateTime()
    submitted_by = fields.String()
    replaces = fields.String(allow_none=True)
    replaced_by = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "current, or replaced by a later report"})
    verification = fields.Nested(
        VerificationSummary, allow_none=True, metadata={"description": "The latest verification, if any"}
    )


class ReportList(Schema):
    reports = fields.List(fields.Nested(ReportOut))


class ReportsQuery(Schema):
    period = PeriodFilter()
    unit_id = Text(load_default=None)


class DraftQuery(Schema):
    period = Text(required=True)
    unit_id = Text(load_default=None)
    as_of = fields.Date(load_default=None)


class DraftOut(Schema):
    unit_id = fields.String(allow_none=True)
    period = fields.String()
    as_of = fields.Date()
    figures = fields.Dict(keys=fields.String(), values=fields.Raw())


class LateEvent(Schema):
    position = fields.Integer()
    event = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    business_date = fields.Date()
    recorded_at = fields.DateTime()
    actor = fields.String()


class VerificationLine(Schema):
    indicator = fields.String()
    reported = fields.Raw()
    ledger_at_submission = fields.Raw()
    ledger_now = fields.Raw()
    status = fields.String(
        metadata={"description": "match, corrected_later, backfilled, over_reported or under_reported"}
    )
    late_events = fields.List(
        fields.Nested(LateEvent),
        metadata={
            "description": "Events recorded after the submission, dated on or before the cut-off, within the "
            "report's unit, that can move this figure (at most 50)"
        },
    )
    late_events_total = fields.Integer()


class VerificationOut(Schema):
    report_id = fields.String()
    verdict = fields.String(metadata={"description": "consistent or discrepant"})
    lines = fields.List(fields.Nested(VerificationLine))


def _report(register: Register, report_id: str) -> dict:
    report = register.reads.report(report_id)
    if report is None:
        abort(404, message=f"report {report_id!r} does not exist")
    return report


@blp.route("", methods=["POST"])
@allow(Action.PLAN)
@blp.arguments(ReportIn())
@blp.response(201, ReportOut)
def submit(args: dict, tenant: str):
    """Submit a report (ReportSubmitted); the service gives its id

    With `replaces`, the new report corrects an earlier one of the same unit and period.
    """
    register, who = tenant_register(tenant)
    report = register.execute(SubmitReport(**args, actor=who.actor))
    return _report(register, report.report_id)


@blp.route("", methods=["GET"])
@allow(Action.READ)
@blp.arguments(ReportsQuery(), location="query")
@blp.response(200, ReportList)
def list_reports(args: dict, tenant: str):
    """List reports, by period and unit, oldest first"""
    register, _ = tenant_register(tenant)
    return {"reports": register.reads.reports(args["period"], args["unit_id"])}


@blp.route("/draft", methods=["GET"])
@allow(Action.READ)
@blp.arguments(DraftQuery(), location="query")
@blp.response(200, DraftOut)
def draft(args: dict, tenant: str):
    """The ledger's figures for a report, ready to submit"""
    register, _ = tenant_register(tenant)
    q, figures = register.reads.draft(args["period"], args["unit_id"], args["as_of"])
    return {"unit_id": q.unit_id, "period": q.period.code, "as_of": q.as_of, "figures": figures}


@blp.route("/<report_id>", methods=["GET"])
@allow(Action.READ)
@blp.response(200, ReportOut)
def get_report(tenant: str, report_id: str):
    """A report, with its latest verification"""
    register, _ = tenant_register(tenant)
    return _report(register, report_id)


@blp.route("/<report_id>/verification", methods=["POST"])
@allow(Action.VERIFY)
@blp.response(201, VerificationOut)
def verify(tenant: str, report_id: str):
    """Verify a report against the ledger (ReportVerified)

    Every reported figure is recomputed for the report's unit, period and cut-off twice: as the
    register stood when the report was submitted (`ledger_at_submission`) and as it stands now
    (`ledger_now`). `match`: reported equals both. `corrected_later`: equals the figure at
    submission, but events recorded since change it. `backfilled`: differs from the figure at
    submission but equals it now. `over_reported` / `under_reported`: differs from both and is above /
    below the figure now. The verdict is `consistent` when every line is `match` or `corrected_later`.
    """
    register, who = tenant_register(tenant)
    return register.verify_report(report_id, who.actor)


add_history_route(blp, "report")
