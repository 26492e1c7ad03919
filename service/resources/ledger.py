"""The ledger's integrity: its hash-chain digest, and the ledger exported with its chain."""

from __future__ import annotations

from flask import Response, stream_with_context
from marshmallow import Schema, fields

from application.policy import Action
from service.access import allow
from service.auth import tenant_register
from service.bodies import Blueprint

blp = Blueprint(
    "ledger",
    __name__,
    url_prefix="/v1/tenants/<tenant>/ledger",
    description="The ledger's hash chain: digests to keep outside, and exports to audit offline",
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

    The first line is `{"format": "unionledger-export/1", "tenant", "exported_at", "events"}`, then
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
