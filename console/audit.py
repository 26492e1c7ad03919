"""The auditor's page: the ledger's current digest, a check of its hash chain (optionally against a
digest kept outside), the signed checkpoint and key to keep for the offline proofs, the export for
the offline audit, and the audit trail."""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, render_template, request, stream_with_context

from application.policy import Action
from console.common import register
from console.messages import explain
from domain.errors import DomainError
from integrity.chain import ChainBroken, Digest
from service.access import allow

bp = Blueprint("audit", __name__)
TRAIL = 50  # entries of the audit trail a page shows


@bp.route("/audit", methods=["GET", "POST"])
@allow(Action.DIGEST)
def index():
    """The digest to keep; on a POST, the chain recomputed from the stored events (nothing is written)."""
    reg = register()
    digest = reg.digest()
    checkpoint = reg.checkpoint()
    checked, broken, error = None, None, None
    kept = (request.form.get("digest") or "").strip()
    if request.method == "POST":
        try:
            checked = reg.verify_chain(Digest.parse(kept) if kept else None)
        except ChainBroken as chain:
            broken = chain
        except DomainError as refused:
            error = explain(refused.message, refused.rule)
    return render_template(
        "console/audit.html",
        digest=digest,
        checkpoint=checkpoint,
        checked=checked,
        broken=broken,
        error=error,
        kept=kept,
    ), (422 if error else 200)


@bp.route("/audit/checkpoint.json")
@allow(Action.DIGEST)
def checkpoint():
    """The signed checkpoint as ``GET /ledger/checkpoint`` answers it, as a file to keep."""
    return _download(register().checkpoint(), "checkpoint")


@bp.route("/audit/key.json")
@allow(Action.DIGEST)
def key():
    """The public key the checkpoints verify with, as ``GET /ledger/key`` answers it, as a file to keep."""
    return _download(register().public_key(), "key")


def _download(data: dict, name: str) -> Response:
    tenant = g.principal.tenant_id
    suffix = f"-{data['size']}" if "size" in data else ""
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{tenant}-{name}{suffix}.json"'},
    )


@bp.route("/audit/export")
@allow(Action.EXPORT)
def export():
    """The whole ledger with its chain (gzip JSON lines), as ``GET /ledger/export`` sends it."""
    _upto, chunks = register().export()
    tenant = g.principal.tenant_id
    return Response(
        stream_with_context(chunks),
        mimetype="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{tenant}-ledger.jsonl.gz"'},
    )


@bp.route("/audit/trail")
@allow(Action.READ)
def trail():
    """Who recorded what and when, in the order of the ledger, a page at a time."""
    after = request.args.get("after", type=int)
    entries, cursor = register().reads.audit(after=after, limit=TRAIL)
    return render_template("console/trail.html", entries=entries, cursor=cursor)
