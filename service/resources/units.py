"""Units: upper-level unions (districts, communes, sectors, industrial zones)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from domain.commands import CloseUnit, EstablishUnit
from domain.units import UNIT_KINDS
from service import files
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.resources.entities import add_item_routes, entity
from service.schemas import ClientId, EntityMeta, Name, PageQuery, Text, page_schema

blp = Blueprint(
    "units", __name__, url_prefix="/v1/tenants/<tenant>/units", description="Upper-level unions: establish, close, read"
)


class UnitIn(Schema):
    id = ClientId(required=True)
    name = Name(required=True)
    kind = Text(required=True, validate=validate.OneOf(UNIT_KINDS))
    established_on = fields.Date(required=True)
    parent_id = ClientId(load_default=None, allow_none=True)


class ClosureIn(Schema):
    closed_on = fields.Date(required=True)
    successor_id = ClientId(load_default=None, allow_none=True)


class UnitOut(EntityMeta):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.String(allow_none=True)
    established_on = fields.Date()
    closed_on = fields.Date(allow_none=True)
    successor_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "active or closed"})


@blp.route("", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(UnitIn())
@blp.response(201, UnitOut)
def establish(args: dict, tenant: str):
    """Establish a unit (UnitEstablished)

    The parent, if any, must be active on `established_on`.
    """
    register, who = tenant_register(tenant)
    register.execute(EstablishUnit(**args, actor=who.actor))
    return entity(register, "unit", args["id"])


@blp.route("/<unit_id>/closure", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(ClosureIn())
@blp.response(201, UnitOut)
def close(args: dict, tenant: str, unit_id: str):
    """Close a unit (UnitClosed)

    With `successor_id`, child units, unions and workplaces move to the successor from
    `closed_on`; without one, closing is refused (409) while anything active is under it.
    """
    register, who = tenant_register(tenant)
    register.execute(CloseUnit(unit_id=unit_id, **args, actor=who.actor))
    return entity(register, "unit", unit_id)


class UnitsQuery(PageQuery):
    parent_id = Text(load_default=None, metadata={"description": "Only the units directly under this one that day"})


class TreeQuery(Schema):
    as_of = fields.Date(load_default=None, metadata={"description": "The date of the structure; default today"})


class TreeNode(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    children = fields.List(fields.Nested(lambda: TreeNode()))


class TreeOut(Schema):
    as_of = fields.Date()
    roots = fields.List(fields.Nested(TreeNode))


@blp.route("", methods=["GET"])
@allow(Action.READ)
@blp.arguments(UnitsQuery(), location="query")
@blp.response(200, page_schema("units", UnitOut))
@files.documented(blp)
def list_units(args: dict, tenant: str):
    """Units active on `as_of` (default today), by id, a page at a time"""
    fmt = files.wanted(args)
    register, _ = tenant_register(tenant)
    if fmt != "json":
        return files.list_file(fmt, "units", UnitOut, args, register.reads.unit_page, tenant)
    page = register.reads.unit_page(**args)
    return {"units": page.items, "next": page.next}


@blp.route("/tree", methods=["GET"])
@allow(Action.READ)
@blp.arguments(TreeQuery(), location="query")
@blp.response(200, TreeOut)
def tree(args: dict, tenant: str):
    """The units active on `as_of` (default today) as a tree, each under the unit that held it that day"""
    register, _ = tenant_register(tenant)
    return register.reads.unit_tree(args["as_of"])


add_item_routes(blp, "unit", UnitOut)
