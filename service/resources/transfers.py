"""Members who move between provinces: the sending province proposes, the receiving one accepts
into one of its unions or refuses (application/transfers.py does both ledgers' writes)."""

from __future__ import annotations

import threading

from flask import Flask, current_app
from marshmallow import Schema, fields, validate

from application.policy import Action, sees_arrivals_personal_data
from application.transfers import STATUSES, Transfers
from service.access import allow
from service.auth import platform, tenant_register
from service.bodies import Blueprint
from service.resources.members import MemberOut
from service.schemas import ClientId, FreeText

blp = Blueprint(
    "transfers",
    __name__,
    url_prefix="/v1/tenants/<tenant>",
    description="Members who move between provinces: send, list incoming and outgoing, accept, refuse",
)


def transfers() -> Transfers:
    """The process's one handoff between tenants (its control store and tenant stores)."""
    found = current_app.extensions.get("unionledger.transfers")
    if found is None:
        p = platform()
        found = current_app.extensions.setdefault("unionledger.transfers", Transfers(p.registry, p.stores.use))
    return found


def finish_in_background(app: Flask | None) -> None:
    """In a served worker: transfers a crash cut short are finished even if no one calls about them."""
    if app is None or "unionledger" not in app.extensions:
        return  # another app under the same configuration (the benchmark's bare endpoint), or none
    with app.app_context():
        every = platform().settings.transfer_finish_seconds
        if every > 0:
            transfers().finish_in_background(every, threading.Event())


class TransferOutIn(Schema):
    to_tenant = ClientId(required=True, metadata={"description": "The receiving province (tenant id)"})
    effective_on = fields.Date(required=True)


class TransferProposed(Schema):
    transfer_id = fields.String()
    status = fields.String(metadata={"description": "pending until the receiving province decides"})


class IncomingTransfer(Schema):
    transfer_id = fields.String()
    from_tenant = fields.String()
    member_id = fields.String(metadata={"description": "The member's id in the sending province"})
    admitted_on = fields.Date(metadata={"description": "The member's first admission, kept on the move"})
    effective_on = fields.Date()
    gender = fields.String()
    full_name = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    id_number = fields.String(allow_none=True)


class IncomingOut(Schema):
    transfers = fields.List(fields.Nested(IncomingTransfer))


class OutgoingQuery(Schema):
    status = fields.String(
        validate=validate.OneOf(STATUSES), metadata={"description": "Only the moves in this state; default all"}
    )


class AcceptanceIn(Schema):
    union_id = ClientId(required=True, metadata={"description": "A union here, active on effective_on"})
    member_id = ClientId(required=True, metadata={"description": "The member's id here"})


class RefusalIn(Schema):
    reason = FreeText(required=True, validate=validate.Length(min=1, max=500))


class WithdrawalIn(RefusalIn):
    """The sending province's reason for taking its proposal back."""


class TransferOut(Schema):
    transfer_id = fields.String()
    from_tenant = fields.String()
    to_tenant = fields.String()
    member_id = fields.String()
    effective_on = fields.Date()
    status = fields.String(
        metadata={"description": "pending, accepting, done, refusing, refused, withdrawing or withdrawn"}
    )
    union_id = fields.String(allow_none=True)
    new_member_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


@blp.route("/members/<member_id>/transfer-out", methods=["POST"])
@allow(Action.MOVE)
@blp.arguments(TransferOutIn())
@blp.response(201, TransferProposed)
def transfer_out(args: dict, tenant: str, member_id: str):
    """Propose a member's move to another province

    The member stays counted here until the other province accepts; then this ledger records
    MemberTransferredOut, effective on `effective_on`.
    """
    register, who = tenant_register(tenant)
    return transfers().propose(register, tenant, member_id, args["to_tenant"], args["effective_on"], who.actor)


@blp.route("/transfers/incoming", methods=["GET"])
@allow(Action.MOVE)
@blp.response(200, IncomingOut)
def incoming(tenant: str):
    """Members other provinces propose to send here, waiting for a decision

    Every officer of the province sees every proposal (it lies in no unit until accepted), but
    `full_name`, `birth_date` and `id_number` are null for a principal scoped to a unit: it finds the
    member by the sending province's `member_id` (on her card) and sees her personal data once it has
    accepted her into one of its unions.
    """
    _register, who = tenant_register(tenant)
    personal = sees_arrivals_personal_data(who.role, who.scope_unit_id)
    return {"transfers": transfers().incoming(tenant, personal)}


class OutgoingOut(Schema):
    transfers = fields.List(fields.Nested(TransferOut))


@blp.route("/transfers/outgoing", methods=["GET"])
@allow(Action.MOVE)
@blp.arguments(OutgoingQuery(), location="query")
@blp.response(200, OutgoingOut)
def outgoing(args: dict, tenant: str):
    """Moves this province proposed, and what became of each

    `pending` until the receiving province decides, then `done` (the member is recorded there and
    gone from here) or `refused` (with the receiving province's `reason`). A principal scoped to a
    unit sees the moves of the members under it.
    """
    register, _who = tenant_register(tenant)
    return {"transfers": transfers().outgoing(register, tenant, args.get("status"))}


@blp.route("/transfers/<transfer_id>", methods=["GET"])
@allow(Action.MOVE)
@blp.response(200, TransferOut)
def transfer(tenant: str, transfer_id: str):
    """A transfer, as either of its two provinces sees it

    In the sending province, a principal scoped to a unit sees only the moves of members under it.
    """
    register, _who = tenant_register(tenant)
    return transfers().transfer(register, tenant, transfer_id)


@blp.route("/transfers/<transfer_id>/acceptance", methods=["POST"])
@allow(Action.MOVE)
@blp.arguments(AcceptanceIn())
@blp.response(201, MemberOut)
def accept(args: dict, tenant: str, transfer_id: str):
    """Accept a member into one of this province's unions (MemberTransferredIn)

    The member keeps the original `admitted_on`; their personal data is sealed again under this
    province's keys. Repeating the call answers the same member and changes nothing.
    """
    register, who = tenant_register(tenant)
    return transfers().accept(register, tenant, transfer_id, args["union_id"], args["member_id"], who.actor)


@blp.route("/transfers/<transfer_id>/refusal", methods=["POST"])
@allow(Action.MOVE)
@blp.arguments(RefusalIn())
@blp.response(201, TransferOut)
def refuse(args: dict, tenant: str, transfer_id: str):
    """Refuse a member sent here; the member stays in the sending province"""
    _register, who = tenant_register(tenant)
    return transfers().refuse(tenant, transfer_id, args["reason"], who.actor)


@blp.route("/transfers/<transfer_id>/withdrawal", methods=["POST"])
@allow(Action.MOVE)
@blp.arguments(WithdrawalIn())
@blp.response(201, TransferOut)
def withdraw(args: dict, tenant: str, transfer_id: str):
    """Withdraw a move this province proposed, before the other province decides

    The member is free here again (MemberTransferWithdrawn) and no longer waits in the other
    province's incoming list; she may be proposed again. Repeating the call answers the same; a move
    already accepted or refused is 409.
    """
    register, who = tenant_register(tenant)
    return transfers().withdraw(register, tenant, transfer_id, args["reason"], who.actor)
