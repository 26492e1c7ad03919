"""Workplaces and their workforce surveys."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from application.policy import Action
from domain.commands import HoldConference, RegisterWorkplace, SignAgreement, SurveyWorkplace
from domain.workplaces import SECTORS
from service import files
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.resources.entities import add_item_routes, entity
from service.schemas import ClientId, Count, EntityMeta, Name, PageQuery, Text, page_schema

blp = Blueprint(
    "workplaces",
    __name__,
    url_prefix="/v1/tenants/<tenant>/workplaces",
    description="Workplaces: register, survey, collective agreements, workers' conferences, read",
)


class SurveyIn(Schema):
    workers = Count(required=True)
    female_workers = Count(required=True)
    as_of = fields.Date(required=True)


class WorkplaceIn(SurveyIn):
    id = ClientId(required=True)
    name = Name(required=True)
    sector = Text(required=True, validate=validate.OneOf(SECTORS))
    unit_id = ClientId(required=True)


class AgreementIn(Schema):
    signed_on = fields.Date(required=True)
    expires_on = fields.Date(required=True, metadata={"description": "Its last day in force; may lie ahead"})


class ConferenceIn(Schema):
    held_on = fields.Date(required=True)


class WorkplaceOut(EntityMeta):
    id = fields.String()
    name = fields.String()
    sector = fields.String()
    unit_id = fields.String()
    registered_on = fields.Date()
    workers = fields.Integer(metadata={"description": "From the latest survey by business date"})
    female_workers = fields.Integer()
    as_of = fields.Date(metadata={"description": "Date of the latest survey"})
    union_id = fields.String(allow_none=True, metadata={"description": "The workplace's active union"})


@blp.route("", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(WorkplaceIn())
@blp.response(201, WorkplaceOut)
def register(args: dict, tenant: str):
    """Register a workplace with its workforce as of a date (WorkplaceRegistered)"""
    register, who = tenant_register(tenant)
    register.execute(RegisterWorkplace(**args, actor=who.actor))
    return entity(register, "workplace", args["id"])


@blp.route("/<workplace_id>/agreements", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(AgreementIn())
@blp.response(201, WorkplaceOut)
def sign_agreement(args: dict, tenant: str, workplace_id: str):
    """Record a collective labour agreement signed at the workplace (CollectiveAgreementSigned)

    One expiring before it is signed is refused (409); the workplace must be registered by `signed_on`.
    """
    register, who = tenant_register(tenant)
    register.execute(SignAgreement(workplace_id=workplace_id, **args, actor=who.actor))
    return entity(register, "workplace", workplace_id)


@blp.route("/<workplace_id>/conferences", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(ConferenceIn())
@blp.response(201, WorkplaceOut)
def hold_conference(args: dict, tenant: str, workplace_id: str):
    """Record a workers' conference held at the workplace (WorkersConferenceHeld)"""
    register, who = tenant_register(tenant)
    register.execute(HoldConference(workplace_id=workplace_id, **args, actor=who.actor))
    return entity(register, "workplace", workplace_id)


@blp.route("/<workplace_id>/surveys", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(SurveyIn())
@blp.response(201, WorkplaceOut)
def survey(args: dict, tenant: str, workplace_id: str):
    """Record a workforce survey (WorkforceSurveyed)

    Eligibility on a date uses the latest survey on or before that date.
    """
    register, who = tenant_register(tenant)
    register.execute(SurveyWorkplace(workplace_id=workplace_id, **args, actor=who.actor))
    return entity(register, "workplace", workplace_id)


class WorkplacesQuery(PageQuery):
    unit_id = Text(load_default=None, metadata={"description": "Under this unit (and its units) that day"})
    sector = Text(load_default=None, validate=validate.OneOf(SECTORS))
    min_workers = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, error="must be {min} or more"),
        metadata={"description": "At least this many workers at the latest survey on or before that day"},
    )
    covered = fields.Boolean(
        load_default=None, metadata={"description": "With (true) or without (false) an active union that day"}
    )


@blp.route("", methods=["GET"])
@allow(Action.READ)
@blp.arguments(WorkplacesQuery(), location="query")
@blp.response(200, page_schema("workplaces", WorkplaceOut))
@files.documented(blp)
def list_workplaces(args: dict, tenant: str):
    """Workplaces registered by `as_of` (default today), by id, a page at a time"""
    fmt = files.wanted(args)
    register, _ = tenant_register(tenant)
    if fmt != "json":
        return files.list_file(fmt, "workplaces", WorkplaceOut, args, register.reads.workplace_page, tenant)
    page = register.reads.workplace_page(**args)
    return {"workplaces": page.items, "next": page.next}


add_item_routes(blp, "workplace", WorkplaceOut)
