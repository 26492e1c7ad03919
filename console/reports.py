"""Reports: the list, a report with its figures, and its verification against the ledger line by
line (reported / at submission / now / status) with the late events that explain a line."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from application.policy import Action
from console.common import register
from console.messages import explain, refusal
from domain.commands import SubmitReport
from domain.errors import DomainError, NotFound
from service import files
from service.access import allow
from service.resources.reports import ReportIn

bp = Blueprint("reports", __name__)


@bp.route("/reports")
@allow(Action.READ)
def index():
    """Reports by period and unit, the latest first."""
    period = (request.args.get("period") or "").strip() or None
    unit_id = (request.args.get("unit_id") or "").strip() or None
    error = None
    try:
        reports = register().reads.reports(period, unit_id)
    except DomainError as refused:
        reports, error = [], str(refused)
    reports.sort(key=lambda r: (r["submitted_at"], r["id"]), reverse=True)
    return render_template("console/reports.html", reports=reports, period=period, unit_id=unit_id, error=error)


def _report(report_id: str) -> dict:
    found = register().reads.report(report_id)
    if found is None:
        raise NotFound(f"report {report_id!r} does not exist")
    return found


@bp.route("/reports/<report_id>")
@allow(Action.READ)
def show(report_id: str):
    """A report, its figures and its latest recorded verification."""
    return render_template("console/report.html", report=_report(report_id), result=None)


@bp.route("/reports/<report_id>/verification", methods=["POST"])
@allow(Action.VERIFY)
def verify(report_id: str):
    """Verify the report against the ledger now (recorded as ReportVerified) and show each line."""
    reg = register()
    _report(report_id)
    result = reg.verify_report(report_id, g.principal.actor)
    return render_template("console/report.html", report=_report(report_id), result=result)


def _figure(text: str) -> float | str:
    """A figure as typed: 28437, 28.437 is not a figure but 89,3 and 89.3 are the same percentage."""
    cleaned = text.strip().replace(" ", "")
    try:
        value = float(cleaned.replace(",", "."))
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


@bp.route("/reports/new", methods=["GET", "POST"])
@allow(Action.PLAN)
def submit():
    """A report started from the ledger's draft: the figures as recorded for the unit, period and
    cut-off, to check and correct, then submitted (or submitted to replace an earlier one)."""
    source: Any = request.form if request.method == "POST" else request.args
    asked = {k: (source.get(k) or "").strip() or None for k in ("unit_id", "period", "as_of", "replaces")}
    errors: dict[str, list[str]] = {}
    figures: dict[str, Any] = {}
    reg = register()
    if request.method == "POST":
        figures = {k.removeprefix("fig:"): v for k, v in request.form.items() if k.startswith("fig:")}
        body = {**asked, "figures": {k: _figure(v) for k, v in figures.items()}}
        try:
            args = ReportIn().load(body)
        except ValidationError as invalid:
            messages: Any = invalid.messages
            for name, said in messages.items():
                if name == "figures" and isinstance(said, dict):
                    for code, inner in said.items():
                        value = inner.get("value", inner) if isinstance(inner, dict) else inner
                        errors[f"fig:{code}"] = [explain(m) for m in (value if isinstance(value, list) else [value])]
                else:
                    errors[name] = [explain(m) for m in (said if isinstance(said, list) else [str(said)])]
        else:
            try:
                report = reg.execute(SubmitReport(**args, actor=g.principal.actor))
            except DomainError as refused:
                name, message = refusal(refused, {"scope": "unit_id"})
                errors = {name: [message]}
            else:
                return redirect(url_for("console.reports.show", report_id=report.report_id))
    elif asked["period"]:
        try:
            on = date.fromisoformat(asked["as_of"]) if asked["as_of"] else None
            question, drafted = reg.reads.draft(asked["period"], asked["unit_id"], on)
        except ValueError:
            errors = {"as_of": [explain("Not a valid date.")]}
        except DomainError as refused:
            name, message = refusal(refused, {})
            errors = {name if name != "form" else "period": [message]}
        else:
            asked["as_of"] = question.as_of.isoformat()
            figures = {code: str(value).replace(".", ",") if isinstance(value, float) else str(value)
                       for code, value in drafted.items()}  # fmt: skip
    status = 422 if errors else 200
    return render_template("console/submit.html", asked=asked, figures=figures, errors=errors), status


# ---- the list of reports as a workbook ----------------------------------------------------------------
REPORT_COLUMNS = (
    "id",
    "unit_id",
    "period",
    "as_of",
    "status",
    "submitted_at",
    "submitted_by",
    "replaces",
    "replaced_by",
)
CHECK_COLUMNS = ("verdict", "verified_at", "verified_by")


@bp.route("/reports.xlsx")
@allow(Action.READ)
def index_file():
    """The reports the page lists (same filters, same order) as a workbook through the API's file
    writer: a row per report, its latest verification, then a column per figure reported."""
    period = (request.args.get("period") or "").strip() or None
    unit_id = (request.args.get("unit_id") or "").strip() or None
    reports = register().reads.reports(period, unit_id)
    reports.sort(key=lambda r: (r["submitted_at"], r["id"]), reverse=True)
    codes = sorted({code for r in reports for code in r.get("figures") or {}})
    rows = []
    for r in reports:
        check = r.get("verification") or {}
        rows.append(
            [files.plain(r.get(c)) for c in REPORT_COLUMNS]
            + [files.plain(check.get(c)) for c in CHECK_COLUMNS]
            + [(r.get("figures") or {}).get(code) for code in codes]
        )
    columns = [*REPORT_COLUMNS, *CHECK_COLUMNS, *codes]
    return files.answer(
        "xlsx", columns, rows, files.filename(g.principal.tenant_id, "reports", period, unit_id), "reports"
    )
