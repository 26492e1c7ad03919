"""The register's pages: the unit tree at any date, the lists of members and unions with their
search and filters, and an entity's page with its state and history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request, url_for

from application.policy import SEES_PERSONAL_DATA, Action
from application.reads import Page
from console.common import asked_day, register
from domain.errors import DomainError, NotFound
from domain.members import GENDERS, PERSONAL_FIELDS
from domain.workplaces import SECTORS
from service.access import allow

bp = Blueprint("register", __name__)
KINDS = ("unit", "workplace", "union", "member", "target", "report")
PAGE = 50


def _partial(full: str, part: str) -> str:
    """htmx asks for the part a search or filter replaces; a plain request gets the whole page."""
    return part if request.headers.get("HX-Request") else full


@bp.route("/units")
@allow(Action.READ)
def tree():
    """The units as they stood on ``as_of``: move the date to see the structure change."""
    reg = register()
    today = reg.reads.today()
    as_of, date_error = asked_day(default=today)
    assert as_of is not None
    if as_of > today:
        as_of, date_error = today, "future"
    roots = reg.reads.unit_tree(as_of)["roots"]
    return render_template(
        _partial("console/units.html", "console/units_body.html"),
        roots=roots,
        as_of=as_of,
        today=today,
        date_error=date_error,
    )


def _filters(names: tuple[str, ...]) -> dict[str, str | None]:
    return {name: (request.args.get(name) or "").strip() or None for name in names}


def _next_url(page: Page | None, asked: dict[str, str | None]) -> str | None:
    """The same list, the page after this one."""
    if page is None or page.next is None:
        return None
    kept: dict[str, Any] = {k: v for k, v in asked.items() if v and k != "after"}
    if request.args.get("as_of"):
        kept["as_of"] = request.args["as_of"]
    kept["after"] = page.next
    return url_for(request.endpoint or "", **kept)


@bp.route("/members")
@allow(Action.LIST_MEMBERS)
def members():
    """Members found by name (accents aside) or id number, under a unit or in a union, by status and gender."""
    reg = register()
    as_of, date_error = asked_day()
    asked = _filters(("q", "id_number", "union_id", "unit_id", "status", "gender", "after"))
    page: Page | None = None
    error = None
    if date_error is None:
        try:
            page = reg.reads.member_page(as_of=as_of, limit=PAGE, **asked)
        except DomainError as refused:
            error = refused
    return render_template(
        _partial("console/members.html", "console/members_body.html"),
        page=page,
        asked=asked,
        as_of=as_of,
        date_error=date_error,
        error=error,
        genders=GENDERS,
        next_url=_next_url(page, asked),
    )


@bp.route("/unions")
@allow(Action.READ)
def unions():
    """Grassroots unions under a unit, active or dissolved, on a date."""
    reg = register()
    as_of, date_error = asked_day()
    asked = _filters(("unit_id", "status", "after"))
    page: Page | None = None
    error = None
    if date_error is None:
        try:
            page = reg.reads.union_page(as_of=as_of, limit=PAGE, **asked)
        except DomainError as refused:
            error = refused
    return render_template(
        _partial("console/unions.html", "console/unions_body.html"),
        page=page,
        asked=asked,
        as_of=as_of,
        date_error=date_error,
        error=error,
        next_url=_next_url(page, asked),
    )


@bp.route("/workplaces")
@allow(Action.READ)
def workplaces():
    """Workplaces registered by a date, under a unit, with or without a union then."""
    reg = register()
    as_of, date_error = asked_day()
    asked = _filters(("unit_id", "sector", "covered", "after"))
    page: Page | None = None
    error = None
    if date_error is None:
        covered = {"yes": True, "no": False}.get(asked["covered"] or "")
        try:
            page = reg.reads.workplace_page(
                as_of=as_of,
                unit_id=asked["unit_id"],
                sector=asked["sector"],
                covered=covered,
                after=asked["after"],
                limit=PAGE,
            )
        except DomainError as refused:
            error = refused
    return render_template(
        "console/workplaces.html",
        page=page,
        asked=asked,
        as_of=as_of,
        date_error=date_error,
        error=error,
        sectors=SECTORS,
        next_url=_next_url(page, asked),
    )


@bp.route("/<any(unit, workplace, union, member, target, report):kind>/<entity_id>")
@allow(Action.READ)
def entity(kind: str, entity_id: str):
    """An entity's current state and its history: who recorded what, when, for which business date."""
    reg = register()
    found = reg.reads.entity(kind, entity_id)
    if found is None:
        raise NotFound(f"{kind} {entity_id!r} does not exist")
    history = reg.reads.history(kind, entity_id)
    if g.principal.role not in SEES_PERSONAL_DATA:
        for key in PERSONAL_FIELDS:
            found.pop(key, None)
            for entry in history:
                entry["data"].pop(key, None)
    form_year = reg.reads.today().year  # a union's form 1-HĐCĐ: this year's, or its last year's if dissolved
    if kind == "union" and found.get("dissolved_on"):
        form_year = int(str(found["dissolved_on"])[:4])
    return render_template("console/entity.html", kind=kind, entity=found, history=history, form_year=form_year)
