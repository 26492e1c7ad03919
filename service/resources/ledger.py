"""The ledger's integrity: its hash-chain digest, and the ledger exported with its chain."""

from __future__ import annotations

from flask import Response, stream_with_context
from marshmallow import Schema, fields

from application.policy import Action
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint
from service.schemas import Position

blp = Blueprint(
    "ledger",
    __name__,
    url_prefix="/v1/tenants/<tenant>/ledger",
    description="The ledger's hash chain and Merkle tree: digests and signed checkpoints to keep outside, "
    "proofs that a later checkpoint extends an earlier one or holds an event, exports to audit offline",
)


class DigestAnswer(Schema):
    position = fields.Integer(metadata={"description": "The last chained event (0: empty ledger)"})
    hash = fields.String(metadata={"description": "Hex SHA-256 chain link at `position`; keep it as `hash@position`"})
    recorded_at = fields.String(allow_none=True, metadata={"description": "When that event was recorded (ISO 8601)"})


@blp.route("/digest")
@allow(Action.DIGEST)
@blp.response(200, DigestAnswer)
def digest(tenant: str):
    """The chain's head: a digest that any later state of the ledger must extend

    Chains the events recorded since the last call first. The chain link of event n is
    sha256(link of n-1 || event n), starting from sha256(tenant id); `unionledger ledger verify
    --digest hash@position` and `unionledger audit` check that the ledger still extends it.
    A deleted event stops the chain: 409 with rule `ledger_chain_broken` naming the position.
    """
    register, _ = tenant_register(tenant)
    return register.digest()


@blp.route("/export")
@allow(Action.EXPORT)
@blp.response(200, content_type="application/gzip")
@blp.doc(
    responses={
        "200": {
            "description": "gzip JSON lines: a header, then each event with its state (base64) and chain link",
            "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
def export(tenant: str):
    """The whole ledger with its chain, for `unionledger audit` (federation_admin, auditor)

    The first line is `{"format": "unionledger-export/1", "tenant", "exported_at", "events",
    "checkpoint", "public_key"}` (the signed checkpoint of the tree of `events` events, as
    `/ledger/checkpoint` answers it, and the key's public half), then
    one line per event: `position`, `originator_id`, `originator_version`, `topic`, `state` (the
    stored bytes, base64) and `link`. A position that never held an event (PostgreSQL can skip
    one) is a line `{"position", "void": true, "link"}`. Events are chained first; the export ends
    at the chain's head, whose position `events` gives.
    """
    register, _ = tenant_register(tenant)
    _upto, chunks = register.export()  # the chain extended first, so a broken chain is a 409, not a cut stream
    # The request context (and with it the tenant store) stays open until the last chunk is sent.
    return Response(
        stream_with_context(chunks),
        mimetype="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{tenant}-ledger.jsonl.gz"'},
    )


# ---- the Merkle tree (RFC 9162 2.1): checkpoints and proofs -------------------------------------------------
Hex = lambda description: fields.String(metadata={"description": description})  # noqa: E731
Proof = lambda: fields.List(  # noqa: E731
    fields.String(), metadata={"description": "Hex SHA-256 node hashes, in RFC 9162's order"}
)


class CheckpointAnswer(Schema):
    tenant = fields.String()
    size = fields.Integer(metadata={"description": "Leaves in the tree: the ledger's positions 1..size"})
    root = Hex("The tree's root (RFC 9162 MTH), hex")
    recorded_at = fields.String(
        allow_none=True, metadata={"description": "When the last event in the tree was recorded (ISO 8601)"}
    )
    key_id = fields.String(metadata={"description": "The signing key's id (see /ledger/key)"})
    signature = fields.String(
        metadata={
            "description": "Ed25519, base64, over the UTF-8 bytes of "
            '"unionledger-checkpoint\\n{tenant}\\n{size}\\n{root}\\n"'
        }
    )


class KeyAnswer(Schema):
    key_id = fields.String(metadata={"description": "Hex of the first 16 bytes of SHA-256(public key)"})
    public_key = fields.String(metadata={"description": "The raw 32-byte Ed25519 public key, base64"})


class ConsistencyQuery(Schema):
    from_ = Position(required=True, data_key="from", metadata={"description": "The older size, from 1"})
    to = Position(required=True, metadata={"description": "The newer size, at most the tree's"})


class ConsistencyAnswer(Schema):
    from_ = fields.Integer(data_key="from")
    to = fields.Integer()
    proof = Proof()


class InclusionQuery(Schema):
    position = Position(required=True, metadata={"description": "The event's ledger position (leaf position - 1)"})
    size = Position(required=True, metadata={"description": "The tree's size the path leads to the root of"})


class InclusionAnswer(Schema):
    position = fields.Integer()
    size = fields.Integer()
    leaf_hash = Hex("SHA-256(0x00 || the event's canonical bytes, as stored now), hex")
    proof = Proof()


@blp.route("/checkpoint")
@allow(Action.DIGEST)
@blp.response(200, CheckpointAnswer)
def checkpoint(tenant: str):
    """The Merkle tree's signed head over every event recorded (auditor, inspector, federation_admin)

    Keep it: any later checkpoint must extend it, which `/ledger/consistency` proves and
    `unionledger audit consistency` checks offline with the tenant's public key.
    """
    register, _ = tenant_register(tenant)
    return register.checkpoint()


@blp.route("/key")
@allow(Action.DIGEST)
@blp.response(200, KeyAnswer)
def key(tenant: str):
    """The public half of the tenant's checkpoint signing key (its own: never another tenant's)"""
    register, _ = tenant_register(tenant)
    return register.public_key()


@blp.route("/consistency")
@allow(Action.DIGEST)
@blp.arguments(ConsistencyQuery(), location="query")
@blp.response(200, ConsistencyAnswer)
def consistency(args: dict, tenant: str):
    """RFC 9162 2.1.4 proof that the tree of `to` events extends the tree of its first `from`

    0 < from <= to <= the tree's size, else 422 naming the field.
    """
    register, _ = tenant_register(tenant)
    answer = register.consistency(args["from_"], args["to"])
    return {"from_": answer["from"], "to": answer["to"], "proof": answer["proof"]}  # `from` is Python's


@blp.route("/inclusion")
@allow(Action.DIGEST)
@blp.arguments(InclusionQuery(), location="query")
@blp.response(200, InclusionAnswer)
def inclusion(args: dict, tenant: str):
    """RFC 9162 2.1.3 audit path of the event at `position` (leaf `position - 1`) in the tree of `size`

    0 < position <= size <= the tree's size, else 422 naming the field.
    """
    register, _ = tenant_register(tenant)
    return register.inclusion(args["position"], args["size"])
