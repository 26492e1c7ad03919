"""Members (đoàn viên): admit, transfer, record a departure."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, cast

from marshmallow import RAISE, Schema, fields, validate

from application.policy import Action
from application.reads import MEMBER_COLUMNS
from application.register import Register
from domain.base import ID_PATTERN
from domain.commands import AdmitMember, EraseMemberData, IssueCard, RecordDeparture, TransferMember
from domain.members import CARD_NO, CARD_NO_RULE, DEPARTURE_REASONS, GENDERS, ID_NUMBER, ID_NUMBER_RULE
from domain.text import text_fault
from service import files
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.resources.entities import add_item_routes, entity
from service.schemas import ClientId, EntityMeta, FreeText, Name, PageQuery, Text, page_schema
from tenants.registry import Principal

blp = Blueprint(
    "members",
    __name__,
    url_prefix="/v1/tenants/<tenant>/members",
    description="Members: admit, transfer, departure, cards, read",
)


class MemberIn(Schema):
    id = ClientId(required=True)
    union_id = ClientId(required=True)
    admitted_on = fields.Date(required=True)
    full_name = Name(required=True)
    gender = Text(required=True, validate=validate.OneOf(GENDERS))
    birth_date = fields.Date(load_default=None, allow_none=True)
    id_number = Text(load_default=None, allow_none=True, validate=validate.Regexp(ID_NUMBER, error=ID_NUMBER_RULE))

    def load(self, data: Any, *, many: Any = None, partial: Any = None, unknown: Any = None) -> Any:
        """An admission that keeps every rule is read in a few lines (the busiest write, and
        marshmallow's field-by-field reading is several times dearer); any other body goes through
        marshmallow, which words each refusal as the API always has."""
        if not (many or self.many or partial or unknown not in (None, RAISE)):
            quick = self.quick(data)
            if quick is not None:
                return quick
        return super().load(data, many=many, partial=partial, unknown=unknown)

    def quick(self, data: Any) -> dict | None:
        """What ``load`` gives for a body that keeps every rule, read in a few lines; None for any other."""
        return _admission(data)


_ADMISSION_FIELDS = frozenset(("id", "union_id", "admitted_on", "full_name", "gender", "birth_date", "id_number"))


def _admission(data: Any) -> dict | None:
    """What ``MemberIn`` loads from ``data`` if it keeps every rule of MemberIn's fields (the same
    checks: text_fault, the id pattern, 1-300 characters, a gender, ISO dates, the id number's
    pattern); None for anything else, which marshmallow then refuses or reads."""
    if type(data) is not dict or not data.keys() <= _ADMISSION_FIELDS:
        return None
    texts = [data.get(k) for k in ("id", "union_id", "admitted_on", "full_name", "gender")]
    if not all(type(v) is str and text_fault(v) is None for v in texts):
        return None
    member_id, union_id, on, name, gender = cast(list[str], texts)
    born, number = data.get("birth_date"), data.get("id_number")
    if not (ID_PATTERN.match(member_id) and ID_PATTERN.match(union_id)) or not 1 <= len(name) <= 300:
        return None
    if gender not in GENDERS:
        return None
    if born is not None and type(born) is not str:
        return None
    if number is not None and (
        type(number) is not str or text_fault(number) is not None or not ID_NUMBER.match(number)
    ):
        return None
    try:
        admitted_on = date.fromisoformat(on)
        birth_date = None if born is None else date.fromisoformat(born)
    except ValueError:
        return None
    return {
        "id": member_id,
        "union_id": union_id,
        "admitted_on": admitted_on,
        "full_name": name,
        "gender": gender,
        "birth_date": birth_date,
        "id_number": number,
    }


class MemberTransferIn(Schema):
    to_union_id = ClientId(required=True)
    effective_on = fields.Date(required=True)


class DepartureIn(Schema):
    left_on = fields.Date(required=True)
    reason = Text(required=True, validate=validate.OneOf(DEPARTURE_REASONS))


class CardIn(Schema):
    card_no = Text(
        required=True,
        validate=validate.Regexp(CARD_NO, error=CARD_NO_RULE),
        metadata={"description": "The number printed on the card; no other member may hold it"},
    )
    issued_on = fields.Date(required=True)


class ErasureIn(Schema):
    reason = FreeText(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "Why, e.g. the member's request and its reference"},
    )


class MemberOut(EntityMeta):  # dumped by QuickDump (service/schemas.py)
    id = fields.String()
    union_id = fields.String(metadata={"description": "The member's union now (or when they left)"})
    admitted_union_id = fields.String()
    admitted_on = fields.Date()
    gender = fields.String()
    full_name = fields.String(allow_none=True, metadata={"description": "null once personal data is erased"})
    birth_date = fields.Date(allow_none=True)
    id_number = fields.String(allow_none=True)
    left_on = fields.Date(allow_none=True)
    leave_reason = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "active or left"})
    personal_data_erased = fields.Boolean()


@blp.route("", methods=["POST"])
@allow(Action.RECORD_MEMBERS)
@blp.arguments(MemberIn())
@blp.response(201, MemberOut)
def admit(args: dict, tenant: str):
    """Admit a member to a union active on `admitted_on` (MemberAdmitted)

    `full_name`, `birth_date` and `id_number` are stored sealed with a key of the member's own.
    """
    register, who = tenant_register(tenant)
    return admit_member(register, args, who)


def admit_member(register: Register, args: dict, who: Principal) -> Any:
    """The admission as both ways of answering it make it (this view, and service/admissions.py)."""
    return register.execute(AdmitMember(**args, actor=who.actor))


@blp.route("/<member_id>/transfer", methods=["POST"])
@allow(Action.RECORD_MEMBERS)
@blp.arguments(MemberTransferIn())
@blp.response(201, MemberOut)
def transfer(args: dict, tenant: str, member_id: str):
    """Move a member to another union from `effective_on` (MemberTransferred)"""
    register, who = tenant_register(tenant)
    return register.execute(TransferMember(member_id=member_id, **args, actor=who.actor))


@blp.route("/<member_id>/departure", methods=["POST"])
@allow(Action.RECORD_MEMBERS)
@blp.arguments(DepartureIn())
@blp.response(201, MemberOut)
def depart(args: dict, tenant: str, member_id: str):
    """Record that a member left (MemberLeft); from `left_on` they no longer count"""
    register, who = tenant_register(tenant)
    return register.execute(RecordDeparture(member_id=member_id, **args, actor=who.actor))


@blp.route("/<member_id>/cards", methods=["POST"])
@allow(Action.RECORD)
@blp.arguments(CardIn())
@blp.response(201, MemberOut)
def issue_card(args: dict, tenant: str, member_id: str):
    """Record a member card issued to the member (MemberCardIssued); a renewal is a new card

    The member must be active on `issued_on`; a number another member holds is refused (409).
    """
    register, who = tenant_register(tenant)
    register.execute(IssueCard(member_id=member_id, **args, actor=who.actor))
    return entity(register, "member", member_id)


@blp.route("/<member_id>/erasure", methods=["POST"])
@allow(Action.ERASE)
@blp.arguments(ErasureIn())
@blp.response(201, MemberOut)
def erase(args: dict, tenant: str, member_id: str):
    """Erase a member's personal data (MemberDataErased)

    The member's key is destroyed: `full_name`, `birth_date` and `id_number` read as null in every
    answer, in the audit trail and in exports, while every event stays and every figure is unchanged.
    """
    register, who = tenant_register(tenant)
    register.execute(EraseMemberData(member_id=member_id, **args, actor=who.actor))
    return entity(register, "member", member_id)


class MembersQuery(PageQuery):
    union_id = Text(load_default=None, metadata={"description": "In this union that day (or when they left it)"})
    unit_id = Text(load_default=None, metadata={"description": "Under this unit (and its units) that day"})
    status = Text(
        load_default=None,
        validate=validate.OneOf(["active", "left"]),
        metadata={"description": "Active on that day, or gone by then"},
    )
    gender = Text(load_default=None, validate=validate.OneOf(GENDERS))
    q = Text(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={
            "description": "Every word of it in the name, case and Vietnamese diacritics aside (`nguyen van an`)"
        },
    )
    id_number = Text(
        load_default=None, validate=validate.Length(max=20), metadata={"description": "Exactly this id number"}
    )


@blp.route("", methods=["GET"])
@allow(Action.LIST_MEMBERS)
@blp.arguments(MembersQuery(), location="query")
@blp.response(200, page_schema("members", MemberOut))
@files.documented(blp)
def list_members(args: dict, tenant: str):
    """Members admitted by `as_of` (default today), by id, a page at a time

    Names and id numbers are found through keyed blind indexes: the register keeps no personal
    data in clear to answer, and an erased member matches neither.
    """
    fmt = files.wanted(args)
    register, _ = tenant_register(tenant)
    if fmt == "csv":  # the rows' dates and booleans made as the CSV writes them
        read = functools.partial(register.reads.member_rows, as_text=True)
        return files.rows_file(fmt, "members", MemberOut, MEMBER_COLUMNS, args, read, tenant, as_text=True)
    if fmt != "json":
        return files.rows_file(fmt, "members", MemberOut, MEMBER_COLUMNS, args, register.reads.member_rows, tenant)
    page = register.reads.member_page(**args)
    return {"members": page.items, "next": page.next}


add_item_routes(blp, "member", MemberOut)
