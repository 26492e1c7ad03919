"""Member cards: a member's card signed with the tenant's key (JSON or a QR code), and its
verification by any tenant, for a union that receives a member from another province."""

from __future__ import annotations

from flask import Response, g
from marshmallow import Schema, fields, validate

from application.policy import Action
from application.register import Register
from integrity import cards
from integrity.merkle import ProofFailed
from service.access import allow
from service.auth import platform, tenant_register
from service.bodies import Blueprint
from service.schemas import Text

blp = Blueprint("cards", __name__, url_prefix="/v1", description="Member cards: signed statements any union can check")


class CardQuery(Schema):
    format = Text(load_default="json", validate=validate.OneOf(["json", "png"]))


class CardOut(Schema):
    card_no = fields.String()
    tenant = fields.String()
    member_id = fields.String()
    union_id = fields.String(metadata={"description": "The member's union when the card is read"})
    issued_on = fields.String(metadata={"description": "YYYY-MM-DD"})
    statement = fields.String(metadata={"description": "Canonical JSON of the five fields above: no personal data"})
    signature = fields.String(
        metadata={"description": 'Ed25519 over "unionledger-card\\n" + statement (UTF-8), base64'}
    )
    key_id = fields.String(metadata={"description": "The tenant's key (GET /ledger/key)"})


class CardVerificationIn(Schema):
    statement = Text(required=True, validate=validate.Length(min=2, max=2000))
    signature = Text(required=True, validate=validate.Length(min=1, max=200))
    key_id = Text(required=True, validate=validate.Length(min=1, max=64))


class CardVerificationOut(Schema):
    valid = fields.Boolean(metadata={"description": "Signed by the key of the tenant the statement names"})
    tenant = fields.String(allow_none=True)
    member_id = fields.String(allow_none=True)
    active = fields.Boolean(metadata={"description": "The card's holder is an active member there now"})
    reason = fields.String(allow_none=True, metadata={"description": "Why a card is not valid"})


@blp.route("/tenants/<tenant>/members/<member_id>/card")
@allow(Action.READ)
@blp.arguments(CardQuery(), location="query")
@blp.response(200, CardOut, content_type="application/json")
@blp.alt_response(200, description="format=png: a QR code of the whole card", content_type="image/png")
def card(args: dict, tenant: str, member_id: str):
    """The member's latest card, signed with the tenant's key (404 for a member without one)

    `format=png` answers a QR code of the whole card (its JSON), to print or show on a phone.
    """
    register, _ = tenant_register(tenant)
    answer = register.card(member_id)
    if args["format"] == "png":
        return Response(cards.qr_png(answer), mimetype="image/png")
    return answer


@blp.route("/cards/verification", methods=["POST"])
@allow(Action.READ)
@blp.arguments(CardVerificationIn())
@blp.response(200, CardVerificationOut)
def verify(args: dict):
    """Check a card from any province (any tenant's token)

    Valid when the statement is signed by the key of the tenant it names; `active` says whether its
    holder is an active member there now (a card of a member who left, moved or was erased is a
    real card of someone no longer active there).
    """
    try:
        fields_ = cards.read_statement(args["statement"])
    except ProofFailed as error:
        return {"valid": False, "tenant": None, "member_id": None, "active": False, "reason": str(error)}
    answer = {"valid": False, "tenant": fields_["tenant"], "member_id": fields_["member_id"], "active": False}
    p = platform()
    if not g.principal.tenant_id or p.registry.tenant(fields_["tenant"]) is None:
        return answer | {"reason": "no such tenant"}
    with p.stores.use(fields_["tenant"]) as store:
        register = Register(store, personal=False)
        try:
            cards.verify_card(args, register.public_key()["public_key"])
        except ProofFailed as error:
            return answer | {"reason": str(error)}
        holder = register.card_holder(fields_)
    if not holder["known"]:
        return answer | {"reason": "the tenant issued no such card to this member"}
    return answer | {"valid": True, "active": holder["active"], "reason": None}
