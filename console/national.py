"""The national level: every province's figures and their national sum, for national tokens, read
through the same use case as ``GET /v1/national/indicators`` (application/national.py); national
targets handed to a province and its progress beside the others'; the provinces' reports of the
whole tenant, verified against their ledgers. Never a name, never a member list."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from application.policy import Action
from console.common import asked_day
from console.messages import explain, refusal
from domain.errors import DomainError, NotFound
from domain.indicators import BASE_CODES
from service.access import allow
from service.resources.national import NationalTargetIn, national

bp = Blueprint("national", __name__)
SHOWN = ("members_total", "unions_total", "workplaces_eligible", "workplaces_covered", "coverage_pct")
TARGET_FIELDS = ("tenant_id", "indicator", "period", "value")


@bp.route("/national")
@allow(Action.NATIONAL)
def index():
    """Each province's figures for a period at a date (default this year, today), the national sum,
    and the national targets of the period against each province's figure."""
    return _page({}, {})


def _page(values: dict[str, str], errors: dict[str, list[str]]):
    levels = national()
    period = request.args.get("period", "").strip() or values.get("period") or str(levels.today().year)
    as_of, date_error = asked_day()
    answer, progress, error = None, None, None
    if date_error is None:
        try:
            progress = levels.progress(period, as_of)["lines"]  # the national targets, as /v1/national/targets/progress
            targeted = [line["indicator"] for line in progress if line["indicator"] not in SHOWN]
            answer = levels.indicators(period, as_of, None, ",".join(dict.fromkeys([*SHOWN, *targeted])))
        except DomainError as refused:
            error = explain(refused.message, refused.rule)
    tenants = levels.platform.registry.tenants()
    return render_template(
        "console/national.html",
        answer=answer,
        progress=progress,
        compared=side_by_side(answer, progress) if answer and progress else [],
        names={t["id"]: t["name"] for t in tenants},
        tenants=tenants,
        indicators=BASE_CODES,
        values={"period": period, **values},
        errors=errors,
        period=period,
        as_of=as_of,
        error=date_error or error,
        shown=SHOWN,
        title=_("National level"),
    ), (422 if date_error or error or errors else 200)


def side_by_side(answer: dict, progress: list[dict]) -> list[dict]:
    """For each indicator a national target names: every province's figure, and beside it that
    province's target and progress where it has one (several targets: one row each)."""
    out = []
    for indicator in dict.fromkeys(line["indicator"] for line in progress):
        rows = []
        for tenant in answer["tenants"]:
            lines: list[dict | None] = [
                ln for ln in progress if ln["indicator"] == indicator and ln["tenant_id"] == tenant["tenant_id"]
            ]
            for line in lines or [None]:
                rows.append({"tenant_id": tenant["tenant_id"], "name": tenant["name"], "line": line,
                             "actual": line["actual"] if line else tenant["figures"].get(indicator)})  # fmt: skip
        out.append({"indicator": indicator, "rows": rows})
    return out


@bp.route("/national/targets", methods=["POST"])
@allow(Action.NATIONAL)
def assign():
    """Hand a province a national target, checked by the API's own schema and use case."""
    values = {k: (request.form.get(k) or "").strip() for k in TARGET_FIELDS}
    body: dict[str, Any] = {k: v for k, v in values.items() if v}
    if "value" in body:
        with suppress(ValueError):  # else the schema says it is no number
            body["value"] = float(body["value"].replace(" ", "").replace(",", "."))
    errors: dict[str, list[str]] = {}
    try:
        args = NationalTargetIn().load(body)
    except ValidationError as invalid:
        said: Any = invalid.messages
        errors = {k: [explain(m) for m in v] for k, v in said.items()}
    else:
        try:
            national().assign_target(
                args["tenant_id"], args["indicator"], args["period"], args["value"], g.principal.actor
            )
        except DomainError as refused:
            name, message = refusal(refused, {})
            errors = {name if name in TARGET_FIELDS else "value": [message]}
        else:
            return redirect(url_for("console.national.index", period=args["period"]) + "#h-compare")
    return _page(values, errors)


@bp.route("/national/reports")
@allow(Action.NATIONAL)
def reports():
    """The reports the provinces submitted for their whole tenant, the latest first."""
    period = (request.args.get("period") or "").strip() or None
    error = None
    try:
        found = national().reports(period)
    except DomainError as refused:
        found, error = [], explain(refused.message, refused.rule)
    found.sort(key=lambda r: (r["submitted_at"], r["id"]), reverse=True)
    names = {t["id"]: t["name"] for t in national().platform.registry.tenants()}
    return render_template("console/national_reports.html", reports=found, names=names, period=period, error=error)


@bp.route("/national/reports/<tenant_id>/<report_id>/verification", methods=["POST"])
@allow(Action.NATIONAL)
def verify(tenant_id: str, report_id: str):
    """Verify a province's report against its ledger now, as its own inspectors would; the late
    events that explain a line are shown without the member they concern."""
    levels = national()
    if levels.platform.registry.tenant(tenant_id) is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist")
    result = levels.verify_report(tenant_id, report_id, g.principal.actor)
    report = next((r for r in levels.reports(None) if r["tenant_id"] == tenant_id and r["id"] == report_id), None)
    names = {t["id"]: t["name"] for t in levels.platform.registry.tenants()}
    return render_template("console/national_report.html", result=result, report=report, names=names)
