"""The national level as the witness of every tenant's ledger.

For each tenant it keeps the last signed checkpoint it checked and accepted (``witness_heads``,
in the national store; a row per head accepted, never changed). A new checkpoint is accepted
only if its signature holds with the tenant's key seen first and a consistency proof, asked
from the tenant and checked here with RFC 9162's algorithm, leads from the accepted root to the
new one; the national key then cosigns it. A checkpoint that fails (a ledger rewritten under a
head already witnessed) is recorded in ``witness_alarms``, which nothing deletes: the tenant is
shown inconsistent from then on, with the checkpoint that failed and the head it failed against.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from application.register import Register
from integrity import merkle
from projections.base import from_micros, micros

log = logging.getLogger(__name__)

WITNESS_DDL = (
    "CREATE TABLE IF NOT EXISTS witness_heads (tenant_id TEXT NOT NULL, size BIGINT NOT NULL, root TEXT NOT NULL,"
    " key_id TEXT NOT NULL, public_key TEXT NOT NULL, signature TEXT NOT NULL, cosignature TEXT NOT NULL,"
    " witnessed_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, size))",
    "CREATE TABLE IF NOT EXISTS witness_alarms (tenant_id TEXT NOT NULL, size BIGINT NOT NULL, root TEXT NOT NULL,"
    " signature TEXT NOT NULL, against_size BIGINT, against_root TEXT, reason TEXT NOT NULL,"
    " detected_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, size, root))",
)
COSIGNED = b"unionledger-witness\n"  # the national key signs this, then the checkpoint's own message


class Witness:
    """``platform``: the registry, the tenant stores and the national store (tenants.bootstrap.Platform)."""

    def __init__(self, platform: Any):
        self.platform = platform

    def witness(self) -> dict:
        """Check every tenant's current checkpoint against the last one accepted; answer each
        tenant's state (API.md: ``GET /v1/national/witness``)."""
        with self.platform.national() as national:
            with national.transaction(write=True) as cur:
                for statement in WITNESS_DDL:
                    cur.execute(statement)
            for tenant in self.platform.registry.tenants():
                try:
                    with national.lock(national.lock_wait):  # two rounds at once check each head once
                        self._one(national, tenant["id"])
                except Exception as error:  # noqa: BLE001 - a tenant away now is witnessed next time
                    log.warning("witness: tenant %s not witnessed this time: %s", tenant["id"], error)
            key = national.chain.tree.public_key()  # what the cosignatures verify with
            return {"key": key, "tenants": [self._state(national, t["id"]) for t in self.platform.registry.tenants()]}

    def _one(self, national: Any, tenant_id: str) -> None:
        with self.platform.stores.use(tenant_id) as store:
            register = Register(store)
            head, key = register.checkpoint(), register.public_key()
            last = _last(national, tenant_id)
            if last is not None and key["public_key"] != last["public_key"]:
                key = {"key_id": last["key_id"], "public_key": last["public_key"]}  # the key first seen holds
            try:
                merkle.verify_checkpoint(head, key["public_key"])
            except merkle.ProofFailed as error:
                return self._alarm(national, head, last, f"the checkpoint's signature fails: {error}")
            if last is None or last["size"] == 0:
                return self._accept(national, head, key)
            if head["size"] < last["size"]:
                return self._alarm(national, head, last, "the ledger is shorter than a head already witnessed")
            if head["size"] == last["size"]:
                if head["root"] != last["root"]:
                    self._alarm(national, head, last, "another root for a size already witnessed")
                return None
            proof = register.consistency(last["size"], head["size"])["proof"]
        try:
            merkle.verify_consistency(
                last["size"],
                head["size"],
                bytes.fromhex(last["root"]),
                bytes.fromhex(head["root"]),
                merkle.unhex(proof),
            )
        except merkle.ProofFailed as error:
            return self._alarm(national, head, last, str(error))
        return self._accept(national, head, key)

    @staticmethod
    def _accept(national: Any, head: dict, key: dict) -> None:
        """Cosign the head with the national key and keep it as the tenant's last."""
        _key_id, private = national.chain.tree.signing_key()
        message = COSIGNED + merkle.checkpoint_message(head["tenant"], head["size"], head["root"])
        with national.transaction(write=True) as cur:
            cur.execute(
                "INSERT INTO witness_heads (tenant_id, size, root, key_id, public_key, signature, cosignature,"
                " witnessed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, size) DO NOTHING",
                (
                    head["tenant"],
                    head["size"],
                    head["root"],
                    key["key_id"],
                    key["public_key"],
                    head["signature"],
                    merkle.sign(private, message),
                    micros(datetime.now(UTC)),
                ),
            )

    @staticmethod
    def _alarm(national: Any, head: dict, last: dict | None, reason: str) -> None:
        log.error(
            "witness: tenant %s: checkpoint of %s events is inconsistent: %s", head["tenant"], head["size"], reason
        )
        with national.transaction(write=True) as cur:
            cur.execute(
                "INSERT INTO witness_alarms (tenant_id, size, root, signature, against_size, against_root, reason,"
                " detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, size, root) DO NOTHING",
                (
                    head["tenant"],
                    head["size"],
                    head["root"],
                    head["signature"],
                    last and last["size"],
                    last and last["root"],
                    reason,
                    micros(datetime.now(UTC)),
                ),
            )

    @staticmethod
    def _state(national: Any, tenant_id: str) -> dict:
        last = _last(national, tenant_id)
        with national.transaction() as cur:
            alarms = cur.execute(
                "SELECT size, root, signature, against_size, against_root, reason, detected_at FROM witness_alarms"
                " WHERE tenant_id = ? ORDER BY detected_at, size",
                (tenant_id,),
            ).fetchall()
        return {
            "tenant_id": tenant_id,
            "size": last["size"] if last else None,
            "root": last["root"] if last else None,
            "witnessed_at": last["witnessed_at"] if last else None,
            "cosignature": last["cosignature"] if last else None,
            "consistent": not alarms,
            "alarms": [
                {
                    "size": a[0],
                    "root": a[1],
                    "signature": a[2],
                    "against_size": a[3],
                    "against_root": a[4],
                    "reason": a[5],
                    "detected_at": _instant(a[6]),
                }
                for a in alarms
            ],
        }


def _last(national: Any, tenant_id: str) -> dict | None:
    with national.transaction() as cur:
        row = cur.execute(
            "SELECT size, root, key_id, public_key, cosignature, witnessed_at FROM witness_heads WHERE tenant_id = ?"
            " ORDER BY size DESC LIMIT 1",
            (tenant_id,),
        ).fetchone()
    if row is None:
        return None
    return {
        "size": row[0],
        "root": row[1],
        "key_id": row[2],
        "public_key": row[3],
        "cosignature": row[4],
        "witnessed_at": _instant(row[5]),
    }


def _instant(value: int | None) -> str | None:
    at = from_micros(value)
    return at.isoformat() if at else None
