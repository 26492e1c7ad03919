"""Grassroots unions (CĐCS): found, transfer, dissolve."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from domain.commands import (
    DissolveUnion,
    FoundUnion,
    FoundWomensCommittee,
    RateUnion,
    RecordDues,
    RecordTraining,
    TransferUnion,
)
from domain.unions import RATINGS
from service import files
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.resources.entities import add_item_routes, entity
from service.schemas import (
    Amount,
    ClientId,
    Count,
    EntityMeta,
    FreeText,
    Name,
    PageQuery,
    Text,
    Year,
    page_schema,
    period_code,
)

blp = Blueprint(
    "unions",
    __name__,
    url_prefix="/v1/tenants/<tenant>/unions",
    description="Grassroots unions: found, transfer, dissolve, rate, dues, training, women's committee, read",
)


class UnionIn(Schema):
    id = ClientId(required=True)
    name = Name(required=True)
    workplace_id = ClientId(required=True)
    unit_id = ClientId(required=True)
    founded_on = fields.Date(required=True)
    decision_no = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))


class UnionTransferIn(Schema):
    to_unit_id = ClientId(required=True)
    effective_on = fields.Date(required=True)


class DissolutionIn(Schema):
    dissolved_on = fields.Date(required=True)
    reason = FreeText(required=True, validate=validate.Length(min=1, max=500))


class RatingIn(Schema):
    year = Year(required=True, metadata={"description": "The year rated"})
    rating = Text(required=True, validate=validate.OneOf(RATINGS))
    decided_on = fields.Date(required=True, metadata={"description": "The day the upper level decided it"})


class WomensCommitteeIn(Schema):
    founded_on = fields.Date(required=True)


class DuesIn(Schema):
    period = Text(
        required=True, validate=period_code, metadata={"description": "2024, 2024-H1, 2024-Q3, 2024-05 or 2023-2028"}
    )
    due = Amount(required=True, metadata={"description": "Dues due over the period, whole VND"})
    collected = Amount(required=True, metadata={"description": "Dues collected, whole VND; may exceed due"})


class TrainingIn(Schema):
    year = Year(required=True)
    officials = Count(required=True, metadata={"description": "The union's officials that year"})
    trained = Count(required=True, metadata={"description": "Of them, how many were trained; at most officials"})


class UnionOut(EntityMeta):
    id = fields.String()
    name = fields.String()
    workplace_id = fields.String()
    unit_id = fields.String(metadata={"description": "The unit holding the union now"})
    founded_on = fields.Date()
    decision_no = fields.String(allow_none=True)
    dissolved_on = fields.Date(allow_none=True)
    dissolution_reason = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "active or dissolved"})
    active_members = fields.Integer()


@blp.route("", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(UnionIn())
@blp.response(201, UnionOut)
def found(args: dict, tenant: str):
    """Found a union at a workplace, under a unit (UnionFounded)

    The unit must be active on `founded_on`; the workplace may have no other active union.
    """
    register, who = tenant_register(tenant)
    register.execute(FoundUnion(**args, actor=who.actor))
    return entity(register, "union", args["id"])


@blp.route("/<union_id>/transfer", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(UnionTransferIn())
@blp.response(201, UnionOut)
def transfer(args: dict, tenant: str, union_id: str):
    """Move a union to another unit from `effective_on` (UnionTransferred)

    Before that day its figures still count under the old unit.
    """
    register, who = tenant_register(tenant)
    register.execute(TransferUnion(union_id=union_id, **args, actor=who.actor))
    return entity(register, "union", union_id)


@blp.route("/<union_id>/dissolution", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(DissolutionIn())
@blp.response(201, UnionOut)
def dissolve(args: dict, tenant: str, union_id: str):
    """Dissolve a union (UnionDissolved); refused while it has active members on that date"""
    register, who = tenant_register(tenant)
    register.execute(DissolveUnion(union_id=union_id, **args, actor=who.actor))
    return entity(register, "union", union_id)


@blp.route("/<union_id>/ratings", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(RatingIn())
@blp.response(201, UnionOut)
def rate(args: dict, tenant: str, union_id: str):
    """Record the union's rating for a year (UnionRated)

    Not for a year before the union was founded (409); the union must be active on `decided_on`.
    A later rating of the same year replaces it in the figures; history keeps both.
    """
    register, who = tenant_register(tenant)
    register.execute(RateUnion(union_id=union_id, **args, actor=who.actor))
    return entity(register, "union", union_id)


@blp.route("/<union_id>/womens-committee", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(WomensCommitteeIn())
@blp.response(201, UnionOut)
def found_womens_committee(args: dict, tenant: str, union_id: str):
    """Record the founding of the union's women's committee (WomensCommitteeFounded)

    The union must be active on `founded_on`; a second committee is refused (409).
    """
    register, who = tenant_register(tenant)
    register.execute(FoundWomensCommittee(union_id=union_id, **args, actor=who.actor))
    return entity(register, "union", union_id)


@blp.route("/<union_id>/dues", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(DuesIn())
@blp.response(201, UnionOut)
def record_dues(args: dict, tenant: str, union_id: str):
    """Record dues due and collected over a period (DuesRecorded), dated the day it is sent

    The union must be active on some day of the period. Collected may exceed due (arrears paid
    late). A later record of the same period replaces it in the figures; history keeps both.
    """
    register, who = tenant_register(tenant)
    register.execute(RecordDues(union_id=union_id, **args, actor=who.actor))
    return entity(register, "union", union_id)


@blp.route("/<union_id>/training", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(TrainingIn())
@blp.response(201, UnionOut)
def record_training(args: dict, tenant: str, union_id: str):
    """Record how many of the union's officials were trained in a year (OfficialsTrainingRecorded)

    More trained than officials is refused (409). A later record of the same year replaces it
    in the figures; history keeps both.
    """
    register, who = tenant_register(tenant)
    register.execute(RecordTraining(union_id=union_id, **args, actor=who.actor))
    return entity(register, "union", union_id)


class UnionsQuery(PageQuery):
    unit_id = Text(load_default=None, metadata={"description": "Under this unit (and its units) that day"})
    status = Text(
        load_default=None,
        validate=validate.OneOf(["active", "dissolved"]),
        metadata={"description": "Active on that day, or dissolved by then"},
    )


@blp.route("", methods=["GET"])
@allow(Action.READ)
@blp.arguments(UnionsQuery(), location="query")
@blp.response(200, page_schema("unions", UnionOut))
@files.documented(blp)
def list_unions(args: dict, tenant: str):
    """Unions founded by `as_of` (default today), by id, a page at a time"""
    fmt = files.wanted(args)
    register, _ = tenant_register(tenant)
    if fmt != "json":
        return files.list_file(fmt, "unions", UnionOut, args, register.reads.union_page, tenant)
    page = register.reads.union_page(**args)
    return {"unions": page.items, "next": page.next}


add_item_routes(blp, "union", UnionOut)
