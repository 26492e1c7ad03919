"""A Merkle tree over a tenant's ledger, hashed as RFC 9162 section 2.1, its proofs and their checks.

Leaf ``i`` (from 0) is the ledger's position ``i + 1``: leaf hash ``H(0x00 || canonical(event))``
with ``canonical`` the hash chain's (integrity.chain), ``H(0x00)`` for a void position; a node is
``H(0x01 || left || right)``. Proofs are built from the hashes of complete subtrees, which a
``Nodes`` reader fetches all at once, so a proof costs one read of O(log n) stored hashes.
The checks (``verify_*``) follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 and need nothing but hashes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162: the hash of an empty tree
CHECKPOINT_PREFIX = "unionledger-checkpoint"

Key = tuple[int, int]  # a complete subtree: (level, index); it covers leaves [index * 2**level, (index + 1) * 2**level)
Nodes = Callable[[Iterable[Key]], dict[Key, bytes]]  # the stored hashes of complete subtrees, fetched at once


class ProofFailed(Exception):
    """A proof does not lead from what the verifier holds to what it was given."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier(size: int) -> list[Key]:
    """The complete subtrees a tree of ``size`` leaves is made of, left to right (its right edge)."""
    keys, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def root_of(keys: Sequence[Key], hashes: dict[Key, bytes]) -> bytes:
    """The root of a tree from its frontier's hashes (the smallest subtree folded in first)."""
    if not keys:
        return EMPTY_ROOT
    root = hashes[keys[-1]]
    for key in reversed(keys[:-1]):
        root = node_hash(hashes[key], root)
    return root


class _Subtrees:
    """MTH(D[a:b]) for the ranges RFC 9162's proofs ask, from complete subtrees: first noted, then
    fetched in one read, then combined."""

    def __init__(self) -> None:
        self.wanted: set[Key] = set()
        self.hashes: dict[Key, bytes] | None = None

    def __call__(self, a: int, b: int) -> bytes:
        size = b - a
        if size & (size - 1) == 0 and a % size == 0:  # complete and aligned: stored
            level = size.bit_length() - 1
            key = (level, a >> level)
            if self.hashes is None:
                self.wanted.add(key)
                return b""
            return self.hashes[key]
        k = _split(size)
        left, right = self(a, a + k), self(a + k, b)
        return b"" if self.hashes is None else node_hash(left, right)


def _path(m: int, a: int, b: int, mth: Callable[[int, int], bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[a:b]): the audit path of leaf ``a + m``."""
    n = b - a
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, a, a + k, mth), mth(a + k, b)]
    return [*_path(m - k, a + k, b, mth), mth(a, a + k)]


def _subproof(m: int, a: int, b: int, whole: bool, mth: Callable[[int, int], bytes]) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[a:b], b)."""
    n = b - a
    if m == n:
        return [] if whole else [mth(a, b)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, a, a + k, whole, mth), mth(a + k, b)]
    return [*_subproof(m - k, a + k, b, False, mth), mth(a, a + k)]


def _built(build: Callable[[_Subtrees], list[bytes]], nodes: Nodes) -> list[bytes]:
    subtrees = _Subtrees()
    build(subtrees)
    subtrees.hashes = nodes(subtrees.wanted) if subtrees.wanted else {}
    return build(subtrees)


def inclusion_proof(index: int, size: int, nodes: Nodes) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (0 <= index < size)."""
    return _built(lambda mth: _path(index, 0, size, mth), nodes)


def consistency_proof(old: int, new: int, nodes: Nodes) -> list[bytes]:
    """The proof that the tree of ``new`` leaves extends the tree of its first ``old`` (0 < old <= new)."""
    return _built(lambda mth: _subproof(old, 0, new, True, mth), nodes)


# ---- checks, for auditors and the witness -----------------------------------------------------------------
def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2; ProofFailed where the path does not lead from ``leaf`` to ``root``."""
    if not 0 <= index < size:
        raise ProofFailed(f"leaf {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofFailed("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofFailed("the proof is shorter than the tree is deep")
    if r != root:
        raise ProofFailed("the path does not lead to the root")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 2.1.4.2; ProofFailed where the tree of ``new`` does not extend that of ``old``."""
    if not 0 < old <= new:
        raise ProofFailed(f"no consistency proof goes from {old} to {new}")
    if old == new:
        if proof:
            raise ProofFailed("a proof between equal sizes is empty")
        if old_root != new_root:
            raise ProofFailed("two heads of the same size have different roots")
        return
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        raise ProofFailed("the proof is empty")
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofFailed("the proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofFailed("the proof is shorter than the trees are deep")
    if fr != old_root:
        raise ProofFailed("the proof does not lead to the old root: the ledger was rewritten before the old size")
    if sr != new_root:
        raise ProofFailed("the proof does not lead to the new root: the new tree does not extend the old one")


# ---- signed checkpoints ---------------------------------------------------------------------------------
def checkpoint_message(tenant: str, size: int, root_hex: str) -> bytes:
    """What a checkpoint's signature covers (API.md, part 3)."""
    return f"{CHECKPOINT_PREFIX}\n{tenant}\n{size}\n{root_hex}\n".encode()


def key_id(public: bytes) -> str:
    """A key's name: the first 16 bytes of the SHA-256 of its raw public half, in hex."""
    return hashlib.sha256(public).hexdigest()[:32]


def new_private_key() -> bytes:
    """A fresh Ed25519 private key, raw 32 bytes (never the same twice: a tenant's is its own)."""
    from cryptography.hazmat.primitives import serialization

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def public_of(private: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return (
        Ed25519PrivateKey.from_private_bytes(private)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def sign(private: bytes, message: bytes) -> str:
    return base64.b64encode(Ed25519PrivateKey.from_private_bytes(private).sign(message)).decode()


def verify_checkpoint(checkpoint: dict[str, Any], public_key_b64: str) -> None:
    """ProofFailed unless ``checkpoint`` is well formed and signed by the key given (base64 raw 32 bytes)."""
    try:
        public = base64.b64decode(public_key_b64, validate=True)
        key = Ed25519PublicKey.from_public_bytes(public)
        size, root = int(checkpoint["size"]), str(checkpoint["root"])
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        bytes.fromhex(root)
        tenant = str(checkpoint["tenant"])
    except (KeyError, TypeError, ValueError) as error:
        raise ProofFailed(f"not a checkpoint and a key ({error})") from None
    if checkpoint.get("key_id") not in (None, key_id(public)):
        raise ProofFailed(f"the checkpoint names key {checkpoint.get('key_id')}, not the key given ({key_id(public)})")
    try:
        key.verify(signature, checkpoint_message(tenant, size, root))
    except InvalidSignature:
        raise ProofFailed("the checkpoint's signature does not verify with the key given") from None


def hexes(proof: Sequence[bytes]) -> list[str]:
    return [p.hex() for p in proof]


def unhex(values: Any, field: str = "proof") -> list[bytes]:
    """A proof as JSON carries it: a list of 64-digit hex strings."""
    if not isinstance(values, list):
        raise ProofFailed(f"{field} must be a list of hex hashes")
    out = []
    for v in values:
        try:
            raw = bytes.fromhex(v)
        except (TypeError, ValueError):
            raw = b""
        if len(raw) != HASH_SIZE:
            raise ProofFailed(f"{field} holds {v!r}, not a 64-digit hex hash")
        out.append(raw)
    return out


def append(stack: list[tuple[int, bytes]], leaf: bytes) -> bytes:
    """Add a leaf to a tree's right edge ``stack`` of (level, hash), smallest last; returns the
    hashes of the complete subtrees that now end at this leaf, level 0 first, concatenated."""
    level, h, made = 0, leaf, [leaf]
    while stack and stack[-1][0] == level:
        h = node_hash(stack.pop()[1], h)
        level += 1
        made.append(h)
    stack.append((level, h))
    return b"".join(made)


def grow(stack: list[tuple[int, bytes]], leaves: Sequence[bytes]) -> list[bytes]:
    """``append`` for each of ``leaves`` in turn (the same rows, the same edge left in ``stack``),
    in one loop: the tree's size says how many subtrees each new leaf completes."""
    size = sum(1 << level for level, _h in stack)
    hashes = [h for _level, h in stack]
    pop, push, sha = hashes.pop, hashes.append, hashlib.sha256
    made: list[bytes] = []
    add = made.append
    for leaf in leaves:
        size += 1
        if size & 1:  # a left leaf: no subtree ends at it
            push(leaf)
            add(leaf)
            continue
        h = sha(b"\x01" + pop() + leaf).digest()
        row, rest = leaf + h, size >> 1
        while not rest & 1:
            h = sha(b"\x01" + pop() + h).digest()
            row += h
            rest >>= 1
        push(h)
        add(row)
    levels = [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]
    stack[:] = list(zip(levels, hashes))
    return made


def root_from_leaves(leaves: Iterable[bytes]) -> bytes:
    """The root of the tree of these leaf hashes, computed whole (offline, from an export)."""
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        append(stack, leaf)
    if not stack:
        return EMPTY_ROOT
    root = stack[-1][1]
    for _level, h in reversed(stack[:-1]):
        root = node_hash(h, root)
    return root
