"""Personal data sealed with one key per member.

The key lives in the tenant's store, outside the ledger; destroying it erases the
member's full name, birth date and id number everywhere they were recorded,
without rewriting or deleting a single event.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from projections.base import Transaction

KEYS_TABLE = "personal_keys"
KEYS_DDL = "CREATE TABLE IF NOT EXISTS personal_keys (member_id TEXT PRIMARY KEY, key TEXT NOT NULL)"
PREFIX = "aesgcm:"
ERASED = None


def _read_keys(cur, member_ids: list[str]) -> dict[str, bytes]:
    rows = cur.rows_for("SELECT member_id, key FROM personal_keys WHERE member_id IN ({ids})", member_ids)
    return {m: bytes.fromhex(k) for m, k in rows}


KEY_SIZE, NONCE_SIZE = 32, 12  # AES-256-GCM


def new_key() -> bytes:
    """A member's key."""
    return os.urandom(KEY_SIZE)


def random_blocks(count: int, size: int) -> list[bytes]:
    """``count`` random blocks of ``size`` bytes (an import's keys, or its nonces) from one call to
    the system's generator: a call per member released the GIL to the import's other threads,
    costing the importing thread far more than the call itself."""
    pool = os.urandom(count * size)
    return [pool[i : i + size] for i in range(0, count * size, size)]


_PLAIN = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps with options makes one per call


def plain_json(data: dict[str, Any]) -> str:
    """``data`` as ``json.dumps(data, ensure_ascii=False, sort_keys=True)`` writes it, joined here
    where every value is text or None (a member's personal data): half the encoder's time."""
    parts = []
    for name in sorted(data):
        value = data[name]
        if value is None:
            text = "null"
        elif type(value) is str:
            text = encode_basestring(value)
        else:
            return _PLAIN.encode(data)
        parts.append(encode_basestring(name) + ": " + text)
    return "{" + ", ".join(parts) + "}"


def seal_with(key: bytes, member_id: str, data: dict[str, Any], nonce: bytes | None = None) -> str:
    """AES-GCM with a fresh nonce (made here unless given); the member id is bound in as associated data."""
    nonce = nonce or os.urandom(NONCE_SIZE)
    plain = plain_json(data).encode()
    return PREFIX + base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plain, member_id.encode())).decode()


class PersonalDataVault:
    def __init__(self, transaction: Transaction):
        self.transaction = transaction

    def create(self) -> None:
        with self.transaction(write=True) as cur:
            cur.execute(KEYS_DDL)

    def seal(self, member_id: str, data: dict[str, Any]) -> str:
        """Seal for a member the ledger does not hold, with a new key stored before it returns."""
        key = new_key()
        with self.transaction(write=True) as cur:
            self.keep(cur, {member_id: key})
        return seal_with(key, member_id, data)

    @staticmethod
    def seal_new(items: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], dict[str, bytes]]:
        """Seal for many members the ledger does not hold (an import's), each with a new key; the
        keys are returned for the caller to ``keep`` in the transaction that records the members."""
        keys = dict(zip([member_id for member_id, _data in items], random_blocks(len(items), KEY_SIZE)))
        nonces = random_blocks(len(items), NONCE_SIZE)
        return [
            seal_with(keys[member_id], member_id, data, nonce) for (member_id, data), nonce in zip(items, nonces)
        ], keys

    @staticmethod
    def keep(cur: Any, keys: dict[str, bytes]) -> None:
        """Store new members' keys in the caller's transaction, the one that records their
        admissions, so that a key exists exactly when an event uses it. A key already stored
        for one of them is replaced: the caller only passes members the ledger does not hold,
        so no event uses it (it was made for an admission that was never recorded)."""
        if not keys:
            return
        if cur.dialect == "postgres":
            # Two strings split by the server, not two arrays: psycopg dumps an array element by
            # element in Python, holding the GIL the import's other threads wait for. A member
            # id has no comma (ID_PATTERN), a key in hex neither.
            ids = ",".join(keys)
            if ids.count(",") != len(keys) - 1:
                raise ValueError("a member id with a comma")
            cur.execute(
                "INSERT INTO personal_keys (member_id, key) SELECT * FROM"
                " unnest(string_to_array(?, ','), string_to_array(?, ','))"
                " ON CONFLICT (member_id) DO UPDATE SET key = EXCLUDED.key",
                (ids, ",".join(k.hex() for k in keys.values())),
            )
        else:
            cur.executemany(
                "INSERT INTO personal_keys (member_id, key) VALUES (?, ?)"
                " ON CONFLICT (member_id) DO UPDATE SET key = excluded.key",
                [(m, k.hex()) for m, k in keys.items()],
            )

    def unseal_many(self, sealed: Iterable[tuple[str, str | None]]) -> dict[str, dict | None]:
        """member_id -> personal data, or None where the key was destroyed."""
        pairs = [(m, s) for m, s in sealed if s]
        if not pairs:
            return {}
        ids = sorted({m for m, _ in pairs})
        with self.transaction() as cur:
            keys = _read_keys(cur, ids)
        out: dict[str, dict | None] = {}
        for member_id, value in pairs:
            key = keys.get(member_id)
            if key is None or not value.startswith(PREFIX):
                out[member_id] = ERASED
                continue
            raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
            out[member_id] = json.loads(AESGCM(key).decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], member_id.encode()))
        return out

    def unseal(self, member_id: str, sealed: str | None) -> dict | None:
        return self.unseal_many([(member_id, sealed)]).get(member_id)
