"""Indicators: stocks at a date and flows over a period, as known at any instant."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, fields

from domain.errors import InvalidValue
from domain.indicators import BASE_CODES, parse_indicator
from domain.ledger import vietnam_today
from domain.periods import parse_period
from projections.base import micros
from projections.indicators import Question
from service.access import READ_ROLES, allow
from service.auth import tenant_store
from service.bodies import Blueprint
from service.schemas import Instant, Text

blp = Blueprint("indicators", __name__, url_prefix="/v1/tenants/<tenant>/indicators",
                description="Membership, coverage and flow figures for any unit, date and state of knowledge")


class IndicatorQuery(Schema):
    period = Text(required=True, metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"})
    unit_id = Text(load_default=None, metadata={"description": "Omit for the whole tenant"})
    as_of = fields.Date(load_default=None, metadata={
        "description": "Date of the stocks and last day of the flows; default the period's last day (or today)"})
    known_at = Instant(load_default=None, metadata={
        "description": "Answer with what the register held at this instant; default now"})
    indicators = Text(load_default=None, metadata={
        "description": "Comma-separated codes (e.g. `coverage_pct@25`); default every code"})


class IndicatorAnswer(Schema):
    period = fields.String()
    unit_id = fields.String(allow_none=True)
    as_of = fields.Date()
    known_at = fields.AwareDateTime(allow_none=True)
    figures = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={"description": "code -> number (counts are integers, percentages have one decimal)"})


def resolve_question(args: dict, store) -> Question:
    """Validate period, unit and dates into a Question (422 or 404 naming the field)."""
    period = parse_period(args["period"])
    today = vietnam_today()
    as_of = args.get("as_of") or min(period.end, today)
    if as_of > today:
        raise InvalidValue("may not lie in the future", field="as_of")
    unit_id = args.get("unit_id")
    if unit_id and store.views.unit(unit_id) is None:
        abort(404, message=f"unit {unit_id!r} does not exist")
    known_at = args.get("known_at")
    return Question(period, unit_id, as_of, micros(known_at) if known_at else None)


@blp.route("")
@allow(READ_ROLES)
@blp.arguments(IndicatorQuery(), location="query")
@blp.response(200, IndicatorAnswer)
def indicators(args: dict, tenant: str):
    """Figures for a unit (and its child units) or the whole tenant

    Stocks (`members_total`, `unions_total`, `workplaces_eligible`, `workplaces_covered`,
    `coverage_pct`, `member_worker_ratio_pct`) are counted at `as_of`, under the structure as it
    stood that day. Flows (`members_admitted`, `members_left`, `members_net_growth`,
    `unions_founded`, `unions_dissolved`) count the period's days up to `as_of`, each event under
    the unit that held its union on the event's date. Workplace indicators take `@N` for the
    workforce threshold (default 10). With `known_at`, events recorded later are left out.
    """
    store, _ = tenant_store(tenant)
    store.fresh()
    q = resolve_question(args, store)
    codes = [c.strip() for c in args["indicators"].split(",") if c.strip()] if args.get("indicators") else BASE_CODES
    wanted = [parse_indicator(code, field="indicators") for code in codes]
    figures = store.indicators.figures(wanted, q)
    return {"period": q.period.code, "unit_id": q.unit_id, "as_of": q.as_of,
            "known_at": args.get("known_at"), "figures": figures}
