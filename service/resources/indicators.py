"""Indicators: stocks at a date and flows over a period, as known at any instant."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from domain.indicators import GROUP_BY
from service import files
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.schemas import FormatField, Instant, Text

blp = Blueprint(
    "indicators",
    __name__,
    url_prefix="/v1/tenants/<tenant>/indicators",
    description="Membership, coverage and flow figures for any unit, date and state of knowledge",
)


class IndicatorQuery(Schema):
    period = Text(required=True, metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"})
    unit_id = Text(load_default=None, metadata={"description": "Omit for the whole tenant"})
    as_of = fields.Date(
        load_default=None,
        metadata={
            "description": "Date of the stocks and last day of the flows; default the period's last day (or today)"
        },
    )
    known_at = Instant(
        load_default=None, metadata={"description": "Answer with what the register held at this instant; default now"}
    )
    indicators = Text(
        load_default=None,
        metadata={"description": "Comma-separated codes (e.g. `coverage_pct@25`); default every code"},
    )
    group_by = Text(
        load_default=None,
        validate=validate.OneOf(GROUP_BY),
        metadata={
            "description": "Break the figures down by `unit` (directly under `unit_id`), `union`, `sector`"
            " (state, non_state, fdi) or `gender`; the groups of a count add up to `figures`"
        },
    )
    format = FormatField()


class IndicatorGroup(Schema):
    key = fields.String(metadata={"description": "A unit's or union's id, `state`/`non_state`/`fdi`, `female`/`male`"})
    name = fields.String()
    figures = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        metadata={"description": "code -> number, or null where the figure does not break down this way"},
    )


class IndicatorAnswer(Schema):
    period = fields.String()
    unit_id = fields.String(allow_none=True)
    as_of = fields.Date()
    known_at = fields.AwareDateTime(allow_none=True)
    figures = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "code -> number (counts are integers, percentages have one decimal)"},
    )
    group_by = fields.String(metadata={"description": "Only with `group_by`"})
    groups = fields.List(fields.Nested(IndicatorGroup), metadata={"description": "Only with `group_by`"})


@blp.route("")
@allow(Action.READ)
@blp.arguments(IndicatorQuery(), location="query")
@blp.response(200, IndicatorAnswer)
@files.documented(blp)
def indicators(args: dict, tenant: str):
    """Figures for a unit (and its child units) or the whole tenant

    Stocks (`members_total`, `members_female`, `unions_total`, `workplaces_eligible`, `workplaces_covered`,
    `coverage_pct`, `member_worker_ratio_pct`) are counted at `as_of`, under the structure as it
    stood that day. Flows (`members_admitted`, `members_left`, `members_transferred_in`,
    `members_transferred_out`, `members_net_growth` = admitted + transferred in - left - transferred
    out, `unions_founded`, `unions_dissolved`) count the period's days up to `as_of`, each event under
    the unit that held its union on the event's date. Workplace indicators take `@N` for the
    workforce threshold (default 10). The plans' percentages: `unions_rated_good_pct`,
    `cla_coverage_pct`, `womens_committee_pct`, `members_with_card_pct`, `officials_trained_pct`
    and `workers_conference_pct` at `as_of`; `dues_collected_pct` over the dues records whose
    period lies within `period` (it may pass 100). A later rating, dues or training record of the
    same union and year (or period) replaces the earlier one. With `known_at`, events recorded
    later are left out.
    With `group_by`, `groups` holds the same figures per unit directly under `unit_id` (or per
    top-level unit), per union, per sector group or per gender, as the structure stood on `as_of`.
    As a file (`format=csv|xlsx`): a row per group, then the total row (empty `key`), a column per code.
    """
    fmt = files.wanted(args)
    register, _ = tenant_register(tenant)
    figures = register.reads.indicators(
        args["period"],
        args.get("unit_id"),
        args.get("as_of"),
        args.get("known_at"),
        args.get("indicators"),
        args.get("group_by"),
    )
    return figures if fmt == "json" else files.figures_file(fmt, figures, tenant)
