"""The dashboard: the user's unit (or the whole tenant) at a chosen date, as its figures, its units,
its targets and its latest reports show it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, g, render_template, request

from application.policy import Action
from application.reads import RegisterReads
from console.common import asked_day, register
from domain.errors import NotFound
from service.access import allow

bp = Blueprint("dashboard", __name__)
YEARS_SHOWN = 10  # members at each year's end over this many years
REPORTS_SHOWN = 5
HEADLINE = ("members_total", "coverage_pct", "unions_total", "workplaces_covered", "workplaces_eligible")
# The plans' other indicators, each a line of its own (API.md part 2), in the order the plans set them.
PLAN_LINES = (
    "unions_rated_good_pct",
    "officials_trained_pct",
    "cla_coverage_pct",
    "womens_committee_pct",
    "dues_collected_pct",
    "workers_conference_pct",
    "members_with_card_pct",
)


def scope_unit() -> str | None:
    """The unit a user's pages start from: their scope unit once principals carry one, else the tenant."""
    return getattr(g.principal, "scope_unit_id", None)


def _find(nodes: list[dict], unit_id: str) -> dict | None:
    for node in nodes:
        if node["id"] == unit_id:
            return node
        found = _find(node.get("children", []), unit_id)
        if found is not None:
            return found
    return None


def over_time(reads: RegisterReads, unit_id: str | None, as_of: date) -> list[dict]:
    """Members at the end of each of the last years (the last one at ``as_of``), as one series."""
    first = as_of.year - YEARS_SHOWN + 1
    series = reads.series(f"{first}-{as_of.year}", "year", unit_id, codes="members_total", as_of=as_of)
    return [
        {"year": point["as_of"].year, "on": point["as_of"], "members": point["figures"]["members_total"]}
        for point in series["points"]
    ]


def by_unit(reads: RegisterReads, unit_id: str | None, as_of: date) -> list[dict]:
    """The units directly under ``unit_id`` (the top units for the tenant) on ``as_of``, with their
    figures, from one breakdown by unit."""
    roots = reads.unit_tree(as_of)["roots"]
    node = _find(roots, unit_id) if unit_id else None
    children = node.get("children", []) if node else ([] if unit_id else roots)
    if not children:
        return []
    answer = reads.indicators(
        str(as_of.year), unit_id, as_of, codes="members_total,coverage_pct,unions_total", group_by="unit"
    )
    figures = {group["key"]: group["figures"] for group in answer["groups"]}
    empty = {"members_total": 0, "coverage_pct": 0, "unions_total": 0}
    return [{"id": c["id"], "name": c["name"], "kind": c["kind"], **figures.get(c["id"], empty)} for c in children]


def plan_lines(
    reads: RegisterReads, unit_id: str | None, as_of: date, figures: dict, progress: list[dict]
) -> list[dict]:
    """A line per plan indicator: its figure, its target's progress this year if one is set, and
    for the ratings the state / non-state split the plans set apart."""
    split = reads.indicators(str(as_of.year), unit_id, as_of, codes="unions_rated_good_pct", group_by="sector")
    sectors = {g["key"]: g["figures"]["unions_rated_good_pct"] for g in split["groups"]}
    targets = {line["indicator"]: line for line in progress}
    return [
        {
            "indicator": code,
            "value": figures[code],
            "target": targets.get(code),
            "sectors": sectors if code == "unions_rated_good_pct" else None,
        }
        for code in PLAN_LINES
    ]


def latest_reports(reads: RegisterReads, unit_id: str | None) -> list[dict]:
    reports = reads.reports(None, unit_id)
    reports.sort(key=lambda r: (r["submitted_at"], r["id"]), reverse=True)
    return reports[:REPORTS_SHOWN]


def gather(reads: RegisterReads, unit_id: str | None, as_of: date) -> dict[str, Any]:
    """Everything the dashboard shows, read through the register's use cases."""
    year = str(as_of.year)
    figures = reads.figures(reads.question(year, unit_id, as_of))
    progress = reads.progress(year, unit_id, as_of)["lines"]
    growth_target = next((line for line in progress if line["indicator"] == "members_net_growth"), None)
    return {
        "figures": figures,
        "growth_target": growth_target,
        "progress": progress,
        "plan_lines": plan_lines(reads, unit_id, as_of, figures, progress),
        "over_time": over_time(reads, unit_id, as_of),
        "units": by_unit(reads, unit_id, as_of),
        "reports": latest_reports(reads, unit_id),
    }


@bp.route("/")
@allow(Action.READ)
def index():
    """The dashboard at ``as_of`` (default today) for ``unit_id`` (default the user's scope)."""
    reg = register()
    today = reg.reads.today()
    as_of, date_error = asked_day(default=today)
    assert as_of is not None  # a default is given
    if as_of > today:
        as_of, date_error = today, "future"
    unit_id = request.args.get("unit_id") or scope_unit()
    unit = reg.reads.unit(unit_id) if unit_id else None
    if unit_id and unit is None:
        raise NotFound(f"unit {unit_id!r} does not exist")
    data = gather(reg.reads, unit_id, as_of)
    tenant = current_app.extensions["unionledger"].registry.tenant(g.principal.tenant_id)
    data["tenant_name"] = tenant["name"] if tenant else g.principal.tenant_id
    template = "console/dashboard_body.html" if request.headers.get("HX-Request") else "console/dashboard.html"
    return render_template(template, as_of=as_of, today=today, unit=unit, date_error=date_error, **data)
