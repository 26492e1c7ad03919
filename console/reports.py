"""Reports: the list, a report with its figures, and its verification against the ledger line by
line (reported / at submission / now / status) with the late events that explain a line."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from application.policy import Action
from console.common import register
from domain.errors import DomainError, NotFound
from service.access import allow

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
