"""Member cards: a statement without personal data, signed with the tenant's Ed25519 key (the
key that signs its checkpoints), which any union, online or offline, can check.

The statement is canonical JSON (sorted keys, no spaces, UTF-8); the signature covers
``"unionledger-card\\n" + statement``, so a card signature is never mistaken for a checkpoint's.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from integrity import merkle
from integrity.merkle import ProofFailed

CARD_PREFIX = b"unionledger-card\n"
FIELDS = ("card_no", "tenant", "member_id", "union_id", "issued_on")


def statement_of(fields: dict[str, Any]) -> str:
    """The canonical statement of a card's fields (those of FIELDS, no personal data)."""
    return json.dumps({k: fields[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign_card(private: bytes, key_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The card as answered: its fields, the statement and the tenant's signature over it."""
    statement = statement_of(fields)
    signature = merkle.sign(private, CARD_PREFIX + statement.encode())
    return {**{k: fields[k] for k in FIELDS}, "statement": statement, "signature": signature, "key_id": key_id}


def read_statement(statement: str) -> dict[str, Any]:
    """The fields a statement holds; ProofFailed if it is not one."""
    try:
        fields = json.loads(statement)
    except (TypeError, ValueError):
        raise ProofFailed("the statement is not a card's JSON") from None
    if (
        not isinstance(fields, dict)
        or set(fields) != set(FIELDS)
        or not all(isinstance(fields[k], str) for k in FIELDS)
    ):
        raise ProofFailed(f"a card's statement holds exactly {', '.join(FIELDS)}, as text")
    return fields


def verify_card(card: dict[str, Any], public_key_b64: str) -> dict[str, Any]:
    """The statement's fields if ``card`` is signed by the key given (base64 raw 32 bytes), else ProofFailed."""
    try:
        public = base64.b64decode(public_key_b64, validate=True)
        key = Ed25519PublicKey.from_public_bytes(public)
        signature = base64.b64decode(str(card["signature"]), validate=True)
        statement = str(card["statement"])
    except (KeyError, TypeError, ValueError) as error:
        raise ProofFailed(f"not a card and a key ({error})") from None
    if card.get("key_id") not in (None, merkle.key_id(public)):
        raise ProofFailed(f"the card names key {card.get('key_id')}, not the key given ({merkle.key_id(public)})")
    fields = read_statement(statement)
    try:
        key.verify(signature, CARD_PREFIX + statement.encode())
    except InvalidSignature:
        raise ProofFailed("the card's signature does not verify with the key given") from None
    return fields


def qr_png(card: dict[str, Any]) -> bytes:
    """A QR code of the whole card (its JSON), as a PNG a phone can read back."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(json.dumps(card, ensure_ascii=False, separators=(",", ":")), error="m").save(out, kind="png", scale=4)
    return out.getvalue()
