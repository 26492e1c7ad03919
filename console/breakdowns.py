"""Breakdowns: a unit's (or the tenant's) figures by sector group and by gender on a date, read as
``GET /indicators?group_by=sector|gender`` reads them, each downloadable as that call's workbook."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from application.policy import Action
from console.common import asked_day, register
from console.dashboard import scope_unit
from console.messages import explain
from domain.errors import DomainError
from service.access import allow

bp = Blueprint("breakdowns", __name__)
BY = {
    "sector": "members_total,unions_total,workplaces_eligible,workplaces_covered,coverage_pct",
    "gender": "members_total,members_admitted,members_left",
}


@bp.route("/breakdowns")
@allow(Action.READ)
def index():
    """The figures by sector (state, non-state, FDI) and by gender for ``unit_id`` (default the
    user's scope) on ``as_of`` (default today), the year of ``as_of`` for the flows."""
    reg = register()
    today = reg.reads.today()
    as_of, date_error = asked_day(default=today)
    assert as_of is not None
    if as_of > today:
        as_of, date_error = today, "future"
    unit_id = (request.args.get("unit_id") or "").strip() or scope_unit()
    answers, error = {}, None
    try:
        for group_by, codes in BY.items():
            answers[group_by] = reg.reads.indicators(str(as_of.year), unit_id, as_of, None, codes, group_by)
    except DomainError as refused:
        error = explain(refused.message, refused.rule)
    return render_template(
        "console/breakdowns.html",
        answers=answers,
        codes={k: v.split(",") for k, v in BY.items()},
        unit_id=unit_id,
        as_of=as_of,
        today=today,
        date_error=date_error,
        error=error,
    ), (422 if error else 200)
