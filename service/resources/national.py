"""The national level (VGCL): every tenant's figures summed, national targets, the provinces' reports.

National principals see aggregates only; their tokens come from the platform admin.
"""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from application.national import National
from application.policy import NATIONAL, Action
from application.witness import Witness
from service.access import allow
from service.auth import platform
from service.bodies import Blueprint
from service.resources.reports import ReportOut, VerificationOut
from service.resources.targets import ProgressLine
from service.resources.tokens import TokenIssued
from service.schemas import Instant, Number, PeriodFilter, Text

blp = Blueprint(
    "national",
    __name__,
    url_prefix="/v1/national",
    description="The national federation: figures of every tenant, national targets, the tenants' reports "
    "(national tokens; aggregates only, never personal data or lists of members)",
)


def national() -> National:
    return National(platform())


class NationalTokenIn(Schema):
    holder = Text(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Who holds it; recorded as the actor of what they do"},
    )
    role = Text(required=True, validate=validate.OneOf([NATIONAL]))


class NationalQuery(Schema):
    period = Text(required=True, metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"})
    as_of = fields.Date(load_default=None, metadata={"description": "Default: the period's last day, or today"})
    known_at = Instant(load_default=None, metadata={"description": "What the registers held at this instant"})
    indicators = Text(load_default=None, metadata={"description": "Comma-separated codes; default every code"})


Figures = lambda: fields.Dict(keys=fields.String(), values=fields.Raw())  # noqa: E731


class TenantFigures(Schema):
    tenant_id = fields.String()
    name = fields.String()
    figures = Figures()


class NationalFigures(Schema):
    period = fields.String()
    as_of = fields.Date()
    known_at = fields.AwareDateTime(allow_none=True)
    figures = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": "Counts: the sum of the tenants'. Percentages: recomputed from the summed numerators "
            "and denominators (e.g. covered / eligible workplaces), not averaged"
        },
    )
    tenants = fields.List(
        fields.Nested(TenantFigures), metadata={"description": "Each tenant's own /indicators figures"}
    )


class NationalTargetIn(Schema):
    tenant_id = Text(required=True)
    indicator = Text(required=True, metadata={"description": "An indicator code, e.g. `coverage_pct@25`"})
    period = Text(required=True, metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"})
    value = Number(required=True)


class NationalTargetOut(Schema):
    id = fields.String()
    tenant_id = fields.String()
    indicator = fields.String()
    period = fields.String()
    value = fields.Raw(metadata={"description": "A whole number for counts, one decimal for percentages"})
    assigned_on = fields.Date()
    assigned_by = fields.String()
    recorded_at = fields.DateTime()
    position = fields.Integer(metadata={"description": "Its place in the national ledger"})


class NationalProgressQuery(Schema):
    period = Text(required=True)
    as_of = fields.Date(load_default=None, metadata={"description": "Default: the period's last day, or today"})


class NationalProgressLine(ProgressLine):
    tenant_id = fields.String()


class NationalProgressOut(Schema):
    period = fields.String()
    as_of = fields.Date()
    lines = fields.List(fields.Nested(NationalProgressLine))


class NationalReportsQuery(Schema):
    period = PeriodFilter()


class NationalReport(ReportOut):
    tenant_id = fields.String()


class NationalReportList(Schema):
    reports = fields.List(fields.Nested(NationalReport))


class NationalVerificationOut(VerificationOut):
    tenant_id = fields.String()


@blp.route("/tokens", methods=["POST"])
@allow(Action.PLATFORM)
@blp.arguments(NationalTokenIn())
@blp.response(201, TokenIssued)
def issue(args: dict):
    """Issue a national token (platform admin); the secret is shown once"""
    token, issued = platform().registry.issue_national_token(args["holder"])
    return {**issued, "revoked_at": None, "token": token}


@blp.route("/indicators", methods=["GET"])
@allow(Action.NATIONAL)
@blp.arguments(NationalQuery(), location="query")
@blp.response(200, NationalFigures)
def indicators(args: dict):
    """Figures of every tenant, and their national sum

    Each tenant's line is its own `/indicators` answer for the whole tenant. `figures` adds
    the counts; every percentage is worked out again from the added parts (`coverage_pct`: covered
    / eligible workplaces; `member_worker_ratio_pct`: members / workers of covered workplaces;
    `dues_collected_pct`: collected / due...), never averaged.
    """
    return national().indicators(args["period"], args["as_of"], args["known_at"], args["indicators"])


@blp.route("/targets", methods=["POST"])
@allow(Action.NATIONAL)
@blp.arguments(NationalTargetIn())
@blp.response(201, NationalTargetOut)
@blp.alt_response(404, response="NOT_FOUND", description="No tenant `tenant_id`")
def assign(args: dict):
    """Hand a province a target for the whole tenant (NationalTargetAssigned, in the national ledger)"""
    return national().assign_target(args["tenant_id"], args["indicator"], args["period"], args["value"], actor=_actor())


@blp.route("/targets/progress", methods=["GET"])
@allow(Action.NATIONAL)
@blp.arguments(NationalProgressQuery(), location="query")
@blp.response(200, NationalProgressOut)
def progress(args: dict):
    """Progress against the national targets of a period

    Each line is reckoned as the tenant's own `/targets/progress` reckons a target for the whole
    tenant: `actual` at `as_of`, `expected_to_date` pro rata over the period's days.
    """
    return national().progress(args["period"], args["as_of"])


@blp.route("/reports", methods=["GET"])
@allow(Action.NATIONAL)
@blp.arguments(NationalReportsQuery(), location="query")
@blp.response(200, NationalReportList)
def reports(args: dict):
    """The reports tenants submitted for the whole tenant (`unit_id` null), by tenant, oldest first"""
    return {"reports": national().reports(args["period"])}


@blp.route("/reports/<tenant_id>/<report_id>/verification", methods=["POST"])
@allow(Action.NATIONAL)
@blp.response(201, NationalVerificationOut)
@blp.alt_response(404, response="NOT_FOUND", description="No such tenant, or no such report of the whole tenant")
def verify(tenant_id: str, report_id: str):
    """Verify a tenant's report against that tenant's ledger (ReportVerified, by the national holder)

    Exactly as the tenant's own verification: see `POST /v1/tenants/{tenant}/reports/{id}/verification`.
    Events recorded late are listed without the member they concern.
    """
    return national().verify_report(tenant_id, report_id, _actor())


class WitnessAlarm(Schema):
    size = fields.Integer(metadata={"description": "The checkpoint that failed: its size"})
    root = fields.String(metadata={"description": "... its root (hex)"})
    signature = fields.String(metadata={"description": "... and the tenant's signature of it"})
    against_size = fields.Integer(allow_none=True, metadata={"description": "The head it failed against"})
    against_root = fields.String(allow_none=True)
    reason = fields.String()
    detected_at = fields.String(metadata={"description": "ISO 8601"})


class WitnessedTenant(Schema):
    tenant_id = fields.String()
    size = fields.Integer(allow_none=True, metadata={"description": "The last checkpoint accepted (null: none yet)"})
    root = fields.String(allow_none=True, metadata={"description": "Its root, hex"})
    witnessed_at = fields.String(allow_none=True, metadata={"description": "When it was accepted (ISO 8601)"})
    consistent = fields.Boolean(
        metadata={"description": "False for good once a checkpoint failed its consistency proof (see `alarms`)"}
    )
    cosignature = fields.String(
        allow_none=True,
        metadata={
            "description": "The national key's Ed25519 signature (base64) of "
            "`unionledger-witness\\n` + the checkpoint's signed message"
        },
    )
    alarms = fields.List(fields.Nested(WitnessAlarm), metadata={"description": "Never removed"})


class WitnessKey(Schema):
    key_id = fields.String()
    public_key = fields.String(metadata={"description": "The national key's raw 32-byte Ed25519 public half, base64"})


class WitnessAnswer(Schema):
    key = fields.Nested(WitnessKey, metadata={"description": "The key the cosignatures verify with"})
    tenants = fields.List(fields.Nested(WitnessedTenant))


@blp.route("/witness", methods=["GET"])
@allow(Action.NATIONAL)
@blp.response(200, WitnessAnswer)
def witness():
    """The national level as witness of every tenant's ledger

    Each call checks every tenant's current signed checkpoint against the last one accepted:
    a consistency proof (RFC 9162 2.1.4) asked from the tenant must lead from the old root to
    the new one; then the head is cosigned and kept. A checkpoint that fails is kept as an alarm
    that never disappears, and `consistent` stays false for that tenant.
    """
    return Witness(platform()).witness()


def _actor() -> str:
    return g.principal.actor
