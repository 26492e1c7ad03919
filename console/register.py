"""The register's pages: the unit tree at any date, the lists of members and unions with their
search and filters, and an entity's page with its state and history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, render_template, request, url_for
from flask_babel import gettext as _

from application.policy import SEES_PERSONAL_DATA, Action
from application.reads import Page
from console.common import asked_day, register
from domain.errors import DomainError, NotFound
from domain.members import GENDERS, PERSONAL_FIELDS
from domain.workplaces import SECTORS
from service import files
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
    then = as_it_stood(reg, kind, found, history) if kind in STOOD_KINDS else None
    return render_template(
        "console/entity.html", kind=kind, entity=found, history=history, form_year=form_year, then=then
    )


# ---- "as the register stood at": an entity on a date, as known at an instant --------------------------
STOOD_KINDS = ("unit", "workplace", "union", "member")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
UNIT_FIGURES = "members_total,members_female,unions_total,workplaces_eligible,workplaces_covered,coverage_pct"
UNION_FIGURES = "members_total,members_female"
CREATED = {"UnitEstablished", "WorkplaceRegistered", "UnionFounded", "MemberAdmitted", "MemberTransferredIn"}
WHEN_KEYS = ("version", "updated_at", "created_at", "recorded_at", "founded_at", "admitted_at")


def asked_instant(name: str = "known_at") -> tuple[datetime | None, str | None]:
    """An instant from the query: ISO 8601 with an offset, or as <input type=datetime-local> sends it
    (read as Vietnam's time); the error to show if unreadable."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None, None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None, _("Not a valid date and time.")
    return (when if when.tzinfo else when.replace(tzinfo=VIETNAM)), None


def fold(kind: str, history: list[dict], as_of: date, known_at: datetime | None) -> tuple[dict | None, set[int]]:
    """The entity's state from its own events (the history the API answers), counting only those
    dated on or before ``as_of`` and recorded by ``known_at``, in business-date order; and the
    positions of the events counted. None: the entity did not exist then (or was not yet known)."""
    counted = [
        e
        for e in history
        if e["business_date"] is not None
        and e["business_date"] <= as_of
        and (known_at is None or e["recorded_at"] <= known_at)
    ]
    counted.sort(key=lambda e: (e["business_date"], e["position"]))
    state: dict[str, Any] | None = None
    for e in counted:
        data, event = e["data"], e["event"]
        if event in CREATED:
            state = {k: v for k, v in data.items() if k not in ("actor", "personal_data_erased")}
        elif state is None:
            continue
        elif event == "UnitClosed":
            state.update(closed_on=data.get("closed_on"), successor_id=data.get("successor_id"))
        elif event == "WorkforceSurveyed" and str(data.get("as_of")) >= str(state.get("as_of")):
            state.update(workers=data.get("workers"), female_workers=data.get("female_workers"), as_of=data["as_of"])
        elif event == "UnionTransferred":
            state["unit_id"] = data.get("to_unit_id")
        elif event == "UnionDissolved":
            state.update(dissolved_on=data.get("dissolved_on"), dissolution_reason=data.get("reason"))
        elif event == "MemberTransferred":
            state["union_id"] = data.get("to_union_id")
        elif event == "MemberLeft":
            state.update(left_on=data.get("left_on"), leave_reason=data.get("reason"))
        elif event == "MemberTransferredOut":
            state.update(left_on=data.get("effective_on"), leave_reason="transferred_out")
        elif event == "MemberDataErased":
            state.update(dict.fromkeys(PERSONAL_FIELDS))
    if state is not None:
        state["status"] = {
            "unit": "closed" if state.get("closed_on") else "active",
            "union": "dissolved" if state.get("dissolved_on") else "active",
            "member": "left" if state.get("left_on") else "active",
        }.get(kind, state.get("status"))
        if kind == "workplace":
            state.pop("registered_on", None)
    return state, {e["position"] for e in counted}


def _shaped(kind: str, state: dict, current: dict) -> dict:
    """The folded state in the order and with the keys of the current state's page (the entity's
    own id first), leaving out what only the current state knows (versions, recording times)."""
    ids = {"unit": "unit_id", "workplace": "workplace_id", "union": "union_id", "member": "member_id"}
    shaped: dict[str, Any] = {"id": state.pop(ids[kind], current.get("id"))}
    for key in current:
        if key in state and key not in WHEN_KEYS:
            shaped[key] = state.pop(key)
    shaped.update({k: v for k, v in state.items() if k not in WHEN_KEYS})
    return shaped


def successor_on(reg, unit_id: str, on: date, known_at: datetime | None, most: int = 20) -> str:
    """The unit that held what ``unit_id`` held on ``on``: a unit closed by then with a successor
    passed everything under it to the successor (no event of the union or workplace says so), as
    the unit's own history has it at ``known_at``."""
    for _step in range(most):
        unit, _counted = fold("unit", reg.reads.history("unit", unit_id), on, known_at)
        if unit is None or not unit.get("closed_on") or not unit.get("successor_id"):
            break
        unit_id = unit["successor_id"]
    return unit_id


def as_it_stood(reg, kind: str, current: dict, history: list[dict]) -> dict | None:
    """The switch of the entity page: with ``as_of`` (a date) and/or ``known_at`` (an instant), the
    entity as its history has it then, and its figures read as ``GET /indicators`` reads them
    (a unit's own; a union's from the breakdown by union of the unit it stood under)."""
    today = reg.reads.today()
    as_of, date_error = asked_day()
    known_at, instant_error = asked_instant()
    asked = {"as_of": request.args.get("as_of", ""), "known_at": request.args.get("known_at", "")}
    out: dict[str, Any] = {"asked": asked, "errors": {}, "today": today, "state": None, "figures": None}
    if date_error:
        out["errors"]["as_of"] = date_error
    elif as_of is not None and as_of > today:
        out["errors"]["as_of"] = _("May not lie in the future.")
    if instant_error:
        out["errors"]["known_at"] = instant_error
    if out["errors"] or (as_of is None and known_at is None):
        return out
    on = as_of or today
    out.update(as_of=on, known_at=known_at, shown=True)
    state, counted = fold(kind, history, on, known_at)
    out["counted"] = counted
    if state is None:
        return out
    if kind in ("union", "workplace") and state.get("unit_id"):
        state["unit_id"] = successor_on(reg, state["unit_id"], on, known_at)
    out["state"] = _shaped(kind, state, current)
    try:
        if kind == "unit":
            answer = reg.reads.indicators(str(on.year), current["id"], on, known_at, UNIT_FIGURES)
            out["figures"] = answer["figures"]
        elif kind == "union" and out["state"].get("unit_id"):
            answer = reg.reads.indicators(
                str(on.year), out["state"]["unit_id"], on, known_at, UNION_FIGURES, group_by="union"
            )
            mine = [grp["figures"] for grp in answer["groups"] if grp["key"] == current["id"]]
            out["figures"] = mine[0] if mine else dict.fromkeys(UNION_FIGURES.split(","), 0)
    except DomainError:
        out["figures"] = None  # the unit it stood under lies outside the user's scope, or is gone
    return out


# ---- the unit tree as a workbook ----------------------------------------------------------------------
TREE_COLUMNS = ("id", "name", "kind", "parent_id", "as_of")


def tree_rows(roots: list[dict], on: date, parent: str | None = None):
    """The tree's units depth first, each under its parent that day, as a file's rows."""
    for node in roots:
        yield [node["id"], node["name"], node["kind"], parent, on]
        yield from tree_rows(node.get("children", []), on, node["id"])


@bp.route("/units/tree.xlsx")
@allow(Action.READ)
def tree_file():
    """The tree the page shows on ``as_of`` as a workbook, through the API's streamed file writer."""
    reg = register()
    today = reg.reads.today()
    as_of, date_error = asked_day(default=today)
    if date_error or as_of is None or as_of > today:
        as_of = today
    roots = reg.reads.unit_tree(as_of)["roots"]
    name = files.filename(g.principal.tenant_id, "units-tree", as_of)
    return files.answer("xlsx", TREE_COLUMNS, tree_rows(roots, as_of), name, "units")
