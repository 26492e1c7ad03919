"""Personal data sealed with one key per member.

The key lives in the tenant's store, outside the ledger; destroying it erases the
member's full name, birth date and id number everywhere they were recorded,
without rewriting or deleting a single event.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from projections.base import Transaction

KEYS_TABLE = "personal_keys"
KEYS_DDL = "CREATE TABLE IF NOT EXISTS personal_keys (member_id TEXT PRIMARY KEY, key TEXT NOT NULL)"
PREFIX = "aesgcm:"
ERASED = None


def _read_keys(cur, member_ids: list[str]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    if cur.dialect == "postgres":  # one array per 10,000 members
        for i in range(0, len(member_ids), 10_000):
            rows = cur.execute("SELECT member_id, key FROM personal_keys WHERE member_id = ANY(?)",
                               (member_ids[i:i + 10_000],)).fetchall()
            keys.update((m, bytes.fromhex(k)) for m, k in rows)
        return keys
    for i in range(0, len(member_ids), 500):
        chunk = member_ids[i:i + 500]
        rows = cur.execute(f"SELECT member_id, key FROM personal_keys WHERE member_id IN ({', '.join('?' * len(chunk))})",
                           chunk).fetchall()
        keys.update((m, bytes.fromhex(k)) for m, k in rows)
    return keys


def new_key() -> bytes:
    return os.urandom(32)


def seal_with(key: bytes, member_id: str, data: dict[str, Any]) -> str:
    """AES-GCM with a fresh nonce; the member id is bound in as associated data."""
    nonce = os.urandom(12)
    plain = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    return PREFIX + base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plain, member_id.encode())).decode()


class PersonalDataVault:
    def __init__(self, transaction: Transaction):
        self.transaction = transaction

    def create(self) -> None:
        with self.transaction(write=True) as cur:
            cur.execute(KEYS_DDL)

    def _keys(self, member_ids: list[str]) -> dict[str, bytes]:
        """Each member's key, made where missing (committed before any event uses it)."""
        with self.transaction(write=True) as cur:
            fresh = {m: new_key() for m in member_ids}
            if cur.dialect == "postgres":  # one statement for the whole batch
                made = cur.execute(
                    "INSERT INTO personal_keys (member_id, key) SELECT * FROM unnest(?::text[], ?::text[])"
                    " ON CONFLICT (member_id) DO NOTHING RETURNING member_id",
                    (list(fresh), [k.hex() for k in fresh.values()])).fetchall()
                kept = {m for (m,) in made}
            else:
                cur.executemany("INSERT INTO personal_keys (member_id, key) VALUES (?, ?)"
                                " ON CONFLICT (member_id) DO NOTHING", [(m, k.hex()) for m, k in fresh.items()])
                return _read_keys(cur, member_ids)
            keys = {m: fresh[m] for m in kept}
            # Members who had a key already (an import repeated after a crash) keep theirs.
            keys.update(_read_keys(cur, [m for m in fresh if m not in kept]))
            return keys

    def seal(self, member_id: str, data: dict[str, Any]) -> str:
        return self.seal_many([(member_id, data)])[0]

    def seal_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        keys = self._keys([m for m, _ in items])
        return [seal_with(keys[member_id], member_id, data) for member_id, data in items]

    @staticmethod
    def keep(cur: Any, keys: dict[str, bytes]) -> None:
        """Store new members' keys in the caller's transaction, the one that records their
        admissions, so that a key exists exactly when an event uses it. A key already stored
        for one of them is replaced: the caller only passes members the ledger does not hold,
        so no event uses it (it was made for an admission that was never recorded)."""
        if not keys:
            return
        if cur.dialect == "postgres":
            cur.execute("INSERT INTO personal_keys (member_id, key) SELECT * FROM unnest(?::text[], ?::text[])"
                        " ON CONFLICT (member_id) DO UPDATE SET key = EXCLUDED.key",
                        (list(keys), [k.hex() for k in keys.values()]))
        else:
            cur.executemany("INSERT INTO personal_keys (member_id, key) VALUES (?, ?)"
                            " ON CONFLICT (member_id) DO UPDATE SET key = excluded.key",
                            [(m, k.hex()) for m, k in keys.items()])

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
            raw = base64.urlsafe_b64decode(value[len(PREFIX):])
            out[member_id] = json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], member_id.encode()))
        return out

    def unseal(self, member_id: str, sealed: str | None) -> dict | None:
        return self.unseal_many([(member_id, sealed)]).get(member_id)
