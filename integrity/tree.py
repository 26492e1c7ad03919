"""The Merkle tree of a tenant's ledger as stored beside its hash chain, and its signed checkpoints.

One row per ledger position ``p`` (``ledger_tree``): the hashes of every complete subtree whose
last leaf is ``p``, level 0 (the leaf) first, concatenated; there are 1 + (trailing zeros of p)
of them, two per position on average. The complete subtree (level, index) is thus found at
position ``(index + 1) << level``, so a proof or a root reads O(log n) rows by their primary key.

The tree grows with the chain and never ahead of it: commands and imports add their leaves in
the transaction that records their events and links them (``link``); a chain extension adds the
leaves it links (``extend_locked``); ``rebuild_locked`` makes it again from the stored events
when asked (``unionledger rebuild --tree``) or when it lost rows of its right edge. A tree made
again from a ledger whose rows were changed has another root, and no consistency proof joins it
to a checkpoint signed before.

The tenant's Ed25519 key is made on first use and kept in ``ledger_keys`` in the tenant's store;
only its public half ever leaves it.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.errors import Conflict, InvalidValue
from integrity import merkle
from integrity.chain import BATCH, leaf_of
from projections.base import FEW_ROWS, from_micros

TREE_TABLE = "ledger_tree"
REBUILT_TABLE = "ledger_tree_rebuilt"  # a rebuild's new tree, put in place of the old one when complete
KEYS_TABLE = "ledger_keys"
SIGNING_KEY = "checkpoint"  # the name of the tenant's one signing key in ledger_keys
LEAVES_BATCH = 20_000  # leaves hashed by the server per statement (integrity.chain.canonical, in SQL)
# merkle.leaf_hash(chain.canonical(...)) of each stored event, computed by PostgreSQL.
LEAVES_SQL = (
    "SELECT notification_id, sha256('\\x00'::bytea || int8send(notification_id) || int8send(originator_version)"
    " || int4send(octet_length(o)) || o || int4send(octet_length(t)) || t || int4send(octet_length(state)) || state)"
    " FROM (SELECT notification_id, originator_version, convert_to(originator_id::text, 'UTF8') AS o,"
    " convert_to(topic, 'UTF8') AS t, state FROM {table} WHERE notification_id BETWEEN %s AND %s) AS e"
    " ORDER BY notification_id"
)
# PostgreSQL's binary COPY: its header (signature, flags, extension length), each row's field
# count and lengths before a position (int8) and its nodes, and the end mark
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_ROW = struct.Struct("!hiqi")
_COPY_TRAILER = b"\xff\xff"


def tree_ddl(dialect: str, table: str = TREE_TABLE) -> tuple[str, ...]:
    blob = "BYTEA" if dialect == "postgres" else "BLOB"
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (position BIGINT PRIMARY KEY, nodes {blob} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (name TEXT PRIMARY KEY, key_id TEXT NOT NULL,"
        " private_key TEXT NOT NULL, created_at BIGINT NOT NULL)",
    )


def _position(key: merkle.Key) -> int:
    level, index = key
    return (index + 1) << level


def edge_of(size: int, rows: Sequence[bytes] | None) -> list[tuple[int, bytes]] | None:
    """The right edge of the tree of ``size`` leaves from the rows that hold it, in position order
    (read with the chain's end by a command: application.commit); None if a row is missing."""
    keys = merkle.frontier(size)
    rows = rows or []
    if len(rows) != len(keys):
        return None
    edge = []
    for (level, _index), raw in zip(keys, rows):
        if len(raw) < (level + 1) * merkle.HASH_SIZE:
            return None
        edge.append((level, bytes(raw[level * merkle.HASH_SIZE : (level + 1) * merkle.HASH_SIZE])))
    return edge


class TreeBehind(Conflict):
    """The tree lacks a stored hash below its end (rows deleted from it): `rebuild` makes it again."""

    def __init__(self, message: str):
        super().__init__(message, rule="ledger_tree_incomplete")


class Tree:
    """The tree of one tenant store (its chain's ``tree``). Writers hold the tenant lock."""

    def __init__(self, chain: Any):
        self.chain = chain
        self.tenant_id = chain.tenant_id
        self.transaction = chain.transaction
        self._key: tuple[str, bytes] | None = None  # made once, never changed: read once

    # ---- growing -----------------------------------------------------------------------------------
    @staticmethod
    def size_in(cur: Any, table: str = TREE_TABLE) -> int:
        return cur.scalar(f"SELECT MAX(position) FROM {table}") or 0

    def _edge(self, cur: Any, size: int, table: str = TREE_TABLE) -> list[tuple[int, bytes]] | None:
        """The right edge of the tree of ``size`` leaves, as (level, hash), smallest last; None if
        the tree does not end at ``size``."""
        if size == 0:
            return [] if not cur.scalar(f"SELECT 1 FROM {table} LIMIT 1") else None
        keys = merkle.frontier(size)
        try:
            hashes = self._fetch(cur, keys, table)
        except TreeBehind:
            return None
        return [(level, hashes[(level, index)]) for level, index in keys]

    def whole(self) -> bool:
        """Whether the tree holds the right edge of its size (O(log n) rows): what a chain
        extension needs to grow it; a tree that lost such a row is made again by a rebuild."""
        with self.transaction() as cur:
            return self._edge(cur, self.size_in(cur)) is not None

    def link(self, cur: Any, first: int, leaves: Sequence[bytes], edge: list[tuple[int, bytes]] | None = None) -> None:
        """Add the leaves of positions ``first``... in ``cur``'s transaction, if the tree ends right
        before them (else a later extension adds them); ``edge``: its right edge, if read already."""
        if not leaves:
            return
        stack = list(edge) if edge is not None else self._edge(cur, first - 1)
        if stack is not None:
            self._write(cur, first, stack, leaves)

    @staticmethod
    def _write(
        cur: Any, first: int, stack: list[tuple[int, bytes]], leaves: Sequence[bytes], table: str = TREE_TABLE
    ) -> None:
        Tree.store_nodes(cur, list(enumerate(merkle.grow(stack, leaves), first)), table)

    def edge(self, cur: Any, size: int) -> list[tuple[int, bytes]] | None:
        """The right edge of the tree of ``size`` leaves (None if it does not end there), for a
        writer that grows it from memory (``Chain.hashed``)."""
        return self._edge(cur, size)

    @staticmethod
    def store_nodes(cur: Any, rows: Sequence[tuple[int, bytes]], table: str = TREE_TABLE) -> None:
        """The tree's rows (position, nodes) of new leaves, in ``cur``'s transaction."""
        if cur.dialect == "postgres" and len(rows) > FEW_ROWS and not cur.pipelined:
            # binary COPY: the hashes go as they are, not escaped as text, and the rows are
            # packed here in one pass rather than adapted value by value
            field = _COPY_ROW.pack
            body = b"".join([field(2, 8, position, len(nodes)) + nodes for position, nodes in rows])
            with cur.raw.copy(f"COPY {table} (position, nodes) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(_COPY_HEADER + body + _COPY_TRAILER)
            return
        cur.insert_rows(table, ("position", "nodes"), rows)

    def extend_locked(self, upto: int, table: str = TREE_TABLE) -> int:
        """Add the leaves of every position up to ``upto`` (the chain's end) that the tree lacks,
        read from the stored events; returns the tree's size."""
        while True:
            with self.transaction() as cur:
                size = self.size_in(cur, table)
                stack = self._edge(cur, size, table)
            if size >= upto:
                return size
            if stack is None:  # rows missing below the end: only a rebuild mends that
                raise TreeBehind(f"the tree of {self.tenant_id} has holes below position {size}")
            stop = min(upto, size + (LEAVES_BATCH if self._events_table() else BATCH))
            leaves = self._leaves(size + 1, stop)
            with self.transaction(write=True) as cur:
                self._write(cur, size + 1, stack, leaves, table)

    def _events_table(self) -> str | None:
        """The stored events' table, where their leaves can be hashed in SQL (PostgreSQL)."""
        store = getattr(self.chain, "store", None)
        if store is None or getattr(store, "backend", None) != "postgres":
            return None
        return store.event_store.events_table

    def _leaves(self, start: int, stop: int) -> list[bytes]:
        """The leaf hashes of positions ``start``..``stop`` from the stored events, a deleted
        event's (or a position that never held one) over nothing. On PostgreSQL the server
        hashes them: only 32 bytes an event cross to Python, and its core does the work."""
        table = self._events_table()
        if table is None:
            leaves = [leaf_of(e) for e in self.chain.entries(start=start, stop=stop)]
            return leaves + [merkle.leaf_hash(b"")] * (stop - start + 1 - len(leaves))  # a deleted last event
        with self.transaction() as cur:  # in binary: the hashes as they are, not as hex text
            rows = cur.raw.execute(LEAVES_SQL.format(table=table), (start, stop), binary=True).fetchall()
        if len(rows) == stop - start + 1:  # no void position among them: already in order
            return [leaf for _position, leaf in rows]
        hashed = dict(rows)
        void = merkle.leaf_hash(b"")
        return [hashed.get(p, void) for p in range(start, stop + 1)]

    def rebuild_locked(self) -> int:
        """Make the tree again from the stored events, up to the chain's end, beside the old one,
        then put it in its place in one transaction (readers see the old tree or the new);
        returns its size."""
        with self.transaction(write=True) as cur:
            cur.execute(f"DROP TABLE IF EXISTS {REBUILT_TABLE}")  # what a rebuild cut off left
            cur.execute(tree_ddl(cur.dialect, REBUILT_TABLE)[0])
        size = self.extend_locked(self.chain.chained(), REBUILT_TABLE)
        with self.transaction(write=True) as cur:
            cur.execute(f"DROP TABLE {TREE_TABLE}")
            cur.execute(f"ALTER TABLE {REBUILT_TABLE} RENAME TO {TREE_TABLE}")
            if cur.dialect == "postgres":  # its key's index keeps its old name: given the usual one
                cur.execute(f"ALTER INDEX IF EXISTS {REBUILT_TABLE}_pkey RENAME TO {TREE_TABLE}_pkey")
        return size

    # ---- reading -----------------------------------------------------------------------------------
    def _fetch(self, cur: Any, keys: Iterable[merkle.Key], table: str = TREE_TABLE) -> dict[merkle.Key, bytes]:
        keys = list(keys)
        positions = sorted({_position(k) for k in keys})
        rows = dict(cur.rows_for(f"SELECT position, nodes FROM {table} WHERE position IN ({{ids}})", positions))
        hashes = {}
        for level, index in keys:
            raw = rows.get(_position((level, index)))
            if raw is None or len(raw) < (level + 1) * merkle.HASH_SIZE:
                raise TreeBehind(f"the tree lacks the subtree ({level}, {index})")
            hashes[(level, index)] = bytes(raw[level * merkle.HASH_SIZE : (level + 1) * merkle.HASH_SIZE])
        return hashes

    def size(self) -> int:
        with self.transaction() as cur:
            return self.size_in(cur)

    def root(self, size: int) -> bytes:
        keys = merkle.frontier(size)
        with self.transaction() as cur:
            return merkle.root_of(keys, self._fetch(cur, keys))

    def consistency(self, old: int, new: int) -> dict:
        """RFC 9162 2.1.4's proof from the tree of ``old`` leaves to that of ``new`` (422 naming the
        field that is out of range)."""
        size = self.size()
        if old < 1:
            raise InvalidValue("must be at least 1", field="from")
        if new > size:
            raise InvalidValue(f"must be at most the tree's size, {size}", field="to")
        if old > new:
            raise InvalidValue("must be at most `to`", field="from")
        with self.transaction() as cur:
            proof = merkle.consistency_proof(old, new, lambda keys: self._fetch(cur, keys))
        return {"from": old, "to": new, "proof": merkle.hexes(proof)}

    def inclusion(self, position: int, size: int) -> dict:
        """RFC 9162 2.1.3's audit path of ``position`` (leaf ``position - 1``) in the tree of ``size``
        leaves; ``leaf_hash`` is the hash of the event as stored now, so that an event changed
        since it was recorded fails its proof."""
        tree = self.size()
        if size < 1:
            raise InvalidValue("must be at least 1", field="size")
        if size > tree:
            raise InvalidValue(f"must be at most the tree's size, {tree}", field="size")
        if position < 1:
            raise InvalidValue("must be at least 1", field="position")
        if position > size:
            raise InvalidValue("must be at most `size`", field="position")
        entry = next(iter(self.chain.entries(start=position, stop=position)), None)
        leaf = leaf_of(entry) if entry is not None and entry.position == position else merkle.leaf_hash(b"")
        with self.transaction() as cur:
            proof = merkle.inclusion_proof(position - 1, size, lambda keys: self._fetch(cur, keys))
        return {"position": position, "size": size, "leaf_hash": leaf.hex(), "proof": merkle.hexes(proof)}

    def checker(self) -> TreeCheck:
        """A check of the stored tree against the events' leaves, fed in position order."""
        return TreeCheck(self)

    # ---- the tenant's key and its checkpoints --------------------------------------------------------
    def signing_key(self) -> tuple[str, bytes]:
        """The key id and the raw private key that sign checkpoints, made on first use."""
        if self._key is not None:
            return self._key
        with self.transaction() as cur:
            row = cur.execute(f"SELECT key_id, private_key FROM {KEYS_TABLE} WHERE name = ?", (SIGNING_KEY,)).fetchone()
        if row is None:
            private = merkle.new_private_key()
            with self.transaction(write=True) as cur:  # two first uses at once: the first one's stays
                cur.execute(
                    f"INSERT INTO {KEYS_TABLE} (name, key_id, private_key, created_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    (
                        SIGNING_KEY,
                        merkle.key_id(merkle.public_of(private)),
                        private.hex(),
                        int(datetime.now(UTC).timestamp() * 1_000_000),
                    ),
                )
            return self.signing_key()
        self._key = row[0], bytes.fromhex(row[1])
        return self._key

    def public_key(self) -> dict:
        key, private = self.signing_key()
        return {"key_id": key, "public_key": base64.b64encode(merkle.public_of(private)).decode()}

    def current(self) -> int | None:
        """The tree's size, if it holds every event recorded (else None: the chain and the tree
        must be extended first), in one statement."""
        table = self.chain.store.event_store.events_table
        with self.transaction() as cur:
            key = "notification_id" if cur.dialect == "postgres" else "rowid"
            row = cur.execute(
                f"SELECT (SELECT MAX({key}) FROM {table}), (SELECT MAX(position) FROM ledger_chain),"
                f" (SELECT MAX(position) FROM {TREE_TABLE})"
            ).fetchone()
        assert row is not None  # a SELECT of subqueries and no FROM returns one row
        ledger, chained, tree = (value or 0 for value in row)
        return tree if ledger == chained == tree else None

    def checkpoint(self, size: int | None = None) -> dict:
        """The signed head of the tree of ``size`` leaves (default: the whole tree)."""
        size = self.size() if size is None else size
        keys = merkle.frontier(size)
        key, private = self.signing_key()
        with self.transaction() as cur:
            root = merkle.root_of(keys, self._fetch(cur, keys)).hex()
            at = cur.scalar(
                "SELECT recorded_at FROM ledger_chain WHERE position <= ? AND recorded_at IS NOT NULL"
                " ORDER BY position DESC LIMIT 1",
                (size,),
            )
        recorded_at = from_micros(at) if at is not None else None
        return {
            "tenant": self.tenant_id,
            "size": size,
            "root": root,
            "recorded_at": recorded_at.isoformat() if recorded_at else None,
            "key_id": key,
            "signature": merkle.sign(private, merkle.checkpoint_message(self.tenant_id, size, root)),
        }


class TreeCheck:
    """Compares every stored row of the tree with the rows its leaves make, a batch at a time, as
    ``Chain.verify`` feeds it the leaves of the events it has checked (ChainBroken at the first
    position that differs)."""

    def __init__(self, tree: Tree):
        self.tree, self.size = tree, tree.size()
        self.stack: list[tuple[int, bytes]] = []
        self.pending: list[bytes] = []
        self.checked = 0

    def add(self, position: int, leaf: bytes) -> None:
        if position <= self.size:
            self.pending.append(leaf)
            if len(self.pending) >= BATCH:
                self.flush()

    def flush(self) -> None:
        from integrity.chain import ChainBroken

        if not self.pending:
            return
        start, stop = self.checked + 1, self.checked + len(self.pending)
        with self.tree.transaction() as cur:
            rows = cur.execute(
                f"SELECT position, nodes FROM {TREE_TABLE} WHERE position BETWEEN ? AND ?", (start, stop)
            ).fetchall()
        found = {p: bytes(nodes) for p, nodes in rows}
        for position, leaf in enumerate(self.pending, start=start):
            expected, stored = merkle.append(self.stack, leaf), found.get(position)
            if stored is None or stored[: merkle.HASH_SIZE] != expected[: merkle.HASH_SIZE]:
                raise ChainBroken(
                    position,
                    "the Merkle tree's leaf at this position is not the event's (the tree was changed or"
                    " lost a row); `unionledger rebuild --tree` makes it again from the ledger",
                )
            if stored != expected:
                raise ChainBroken(
                    position,
                    "the Merkle tree's nodes that end at this position are not those of its leaves (the"
                    " tree was changed); `unionledger rebuild --tree` makes it again from the ledger",
                )
        self.checked, self.pending = stop, []
