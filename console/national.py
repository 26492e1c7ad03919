"""The national level: every province's figures and their national sum, for national tokens, read
through the same use case as ``GET /v1/national/indicators`` (application/national.py)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from application.policy import Action
from console.common import asked_day
from console.messages import explain
from domain.errors import DomainError
from service.access import allow
from service.resources.national import national

bp = Blueprint("national", __name__)
SHOWN = ("members_total", "unions_total", "workplaces_eligible", "workplaces_covered", "coverage_pct")


@bp.route("/national")
@allow(Action.NATIONAL)
def index():
    """Each province's figures for a period at a date (default this year, today), the national sum,
    and the national targets of the period against each province's figure."""
    levels = national()
    period = request.args.get("period", "").strip() or str(levels.today().year)
    as_of, date_error = asked_day()
    answer, progress, error = None, None, None
    if date_error is None:
        try:
            answer = levels.indicators(period, as_of, None, ",".join(SHOWN))
            progress = levels.progress(period, as_of)["lines"]  # the national targets, as /v1/national/targets/progress
        except DomainError as refused:
            error = explain(refused.message, refused.rule)
    return render_template(
        "console/national.html",
        answer=answer,
        progress=progress,
        names={t["tenant_id"]: t["name"] for t in answer["tenants"]} if answer else {},
        period=period,
        as_of=as_of,
        error=date_error or error,
        shown=SHOWN,
        title=_("National level"),
    ), (422 if date_error or error else 200)
