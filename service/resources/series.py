"""Indicator series: the figures of each month, quarter or year of a period."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from domain.indicators import STEPS
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.schemas import Instant, Text

blp = Blueprint(
    "indicator-series",
    __name__,
    url_prefix="/v1/tenants/<tenant>/indicators/series",
    description="The figures of each step of a period, for charts and trends",
)


class SeriesQuery(Schema):
    period = Text(required=True, metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"})
    step = Text(required=True, validate=validate.OneOf(STEPS), metadata={"description": "month, quarter or year"})
    unit_id = Text(load_default=None, metadata={"description": "Omit for the whole tenant"})
    known_at = Instant(
        load_default=None, metadata={"description": "Answer with what the register held at this instant; default now"}
    )
    indicators = Text(
        load_default=None,
        metadata={"description": "Comma-separated codes (e.g. `coverage_pct@25`); default every code"},
    )


class Figures(fields.Dict):
    """code -> number, passed as it is: the codes are strings and the numbers plain already, so the
    per-item dumps of a series' thousand figures would leave them unchanged."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else dict(value)


class SeriesPoint(Schema):
    as_of = fields.Date(metadata={"description": "The step's last day (today for the running step)"})
    figures = Figures(keys=fields.String(), values=fields.Raw(), metadata={"description": "code -> number"})


class SeriesAnswer(Schema):
    period = fields.String()
    unit_id = fields.String(allow_none=True)
    step = fields.String()
    known_at = fields.AwareDateTime(allow_none=True)
    points = fields.List(fields.Nested(SeriesPoint))


@blp.route("")
@allow(Action.READ)
@blp.arguments(SeriesQuery(), location="query")
@blp.response(200, SeriesAnswer)
def series(args: dict, tenant: str):
    """Figures for each month, quarter or year of a period

    One point per step of the period up to today, at the step's last day (today for the running
    step): stocks on that day, flows over the step's own days, for the unit (and its child units)
    or the whole tenant. A point's figures equal `/indicators` for the step as period and its
    day as `as_of`.
    """
    register, _ = tenant_register(tenant)
    return register.reads.series(
        args["period"], args["step"], args.get("unit_id"), args.get("known_at"), args.get("indicators")
    )
