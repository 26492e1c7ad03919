"""A hash chain over a tenant's ledger, so that changing, deleting or reordering a stored event shows.

Every stored event is chained in ledger order (its notification id, the position)::

    link_0 = sha256(tenant id, UTF-8)              genesis: ties the chain to its tenant
    link_n = sha256(link_{n-1} || canonical(event n))

    canonical(event) = position (8 bytes, big-endian) || originator_version (8 bytes, big-endian)
                       || originator_id || topic || state,
    each of the last three as a 4-byte big-endian length then the bytes: originator_id as the
    UUID's text form (``str(uuid)``, lowercase with hyphens), topic in UTF-8, state the bytes as stored.

A position that holds no event is chained as void (``canonical`` of an empty originator id,
version 0, empty topic and state). PostgreSQL can leave such a gap: a rolled-back insert, or a
server crash, uses up sequence values. Extension, which runs under the tenant lock after the
views have applied every event written, links a gap as void only when nothing ever recorded an
event there (the next writer noted the position void); otherwise the event was deleted, and extension
stops there. A void position with no link, or whose link is not the void one, is reported as a
deleted event.

Links (hex) are kept in ``ledger_chain`` in the tenant's store, beside the events; commands and
imports write their links in the transaction that records their events, and only a write that
leaves a gap (a position a rolled-back write used) or a crash leaves the chain behind until the
next writer extends it. It never skips or reorders. It is not a
view and no rebuild drops it. A digest ``HASH@POSITION`` (the link at a position) given to someone
outside lets them check later that the ledger still extends it, even if the table was rewritten.

The same canonical bytes are the leaves of the ledger's Merkle tree (``integrity.tree``), which
grows wherever links are written, so that signed checkpoints can be checked with short proofs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from domain.errors import Conflict, InvalidValue
from integrity import merkle
from integrity.merkle import leaf_hash
from projections.base import from_micros, micros

log = logging.getLogger(__name__)

CHAIN_TABLE = "ledger_chain"
CHAIN_DDL = (
    "CREATE TABLE IF NOT EXISTS ledger_chain (position BIGINT PRIMARY KEY, link TEXT NOT NULL, recorded_at BIGINT)"
)
# Positions known to hold no event: ones a rolled-back write used up, noted by the next writer
# under the tenant lock (application.commit, persistence.recorders)
VOIDS_DDL = "CREATE TABLE IF NOT EXISTS ledger_voids (position BIGINT PRIMARY KEY)"
EXPORT_FORMAT = "unionledger-export/1"
BATCH = 2000


class ChainBroken(Conflict):
    """The stored ledger no longer matches its chain (or a digest) at ``position``."""

    def __init__(self, position: int, message: str):
        super().__init__(f"position {position}: {message}", rule="ledger_chain_broken")
        self.position = position


class Entry(NamedTuple):
    """One stored event and the link recorded for it (None where not chained yet)."""

    position: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes
    link: str | None = None


@dataclass(frozen=True)
class Digest:
    hash: str
    position: int

    @classmethod
    def parse(cls, text: str) -> Digest:
        """``HASH@POSITION``: 64 hex digits, then a position of at least 1."""
        value, _, position = text.strip().partition("@")
        value = value.lower()
        if (
            len(value) != 64
            or any(c not in "0123456789abcdef" for c in value)
            or not position.isdigit()
            or int(position) < 1
        ):
            raise InvalidValue("must be HASH@POSITION (64 hex digits, '@', a position from 1)", field="digest")
        return cls(value, int(position))

    def __str__(self) -> str:
        return f"{self.hash}@{self.position}"


@dataclass(frozen=True)
class Verified:
    events: int  # the last position present
    chained: int  # the last position with a stored link
    head: str  # the recomputed link at ``events``


def genesis(tenant_id: str) -> bytes:
    return hashlib.sha256(tenant_id.encode()).digest()


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


@dataclass
class Hashed:
    """New events' chain links (position, link in hex, recorded at), their tree rows (position,
    nodes; None where the tree does not end right before them) and the chain's new end."""

    links: list[tuple[int, str, int | None]]
    nodes: list[tuple[int, bytes]] | None
    end: tuple[int, bytes]


def _links(
    recorded: Sequence[tuple[int, Any, int | None]], end: tuple[int, bytes]
) -> tuple[list[tuple[int, str, int | None]], list[bytes], tuple[int, bytes]]:
    """The links of ``(position, stored event, recorded at)`` after ``end``, their leaves and the new end."""
    link = end[1]
    rows, leaves = [], []
    for position, stored, at in recorded:
        data = canonical(position, stored.originator_id, stored.originator_version, stored.topic, bytes(stored.state))
        link = hashlib.sha256(link + data).digest()
        rows.append((position, link.hex(), at))
        leaves.append(leaf_hash(data))
    return rows, leaves, ((recorded[-1][0], link) if recorded else end)


def canonical(position: int, originator_id: Any, originator_version: int, topic: str, state: bytes) -> bytes:
    return position.to_bytes(8, "big") + canonical_after(originator_id, originator_version, topic, state)


def canonical_after(originator_id: Any, originator_version: int, topic: str, state: bytes) -> bytes:
    """An event's canonical bytes after its position (which only the writer knows)."""
    return (
        originator_version.to_bytes(8, "big")
        + _field(str(originator_id).encode())
        + _field(topic.encode())
        + _field(bytes(state))
    )


def void(position: int, link: str | None = None) -> Entry:
    """A position that holds no event (see the module's docstring)."""
    return Entry(position, "", 0, "", b"", link)


def is_void(e: Entry) -> bool:
    return e.topic == ""


def leaf_of(e: Entry) -> bytes:
    """An event's Merkle leaf hash over its canonical bytes; a void position's, over nothing (integrity.merkle)."""
    if is_void(e):
        return leaf_hash(b"")
    return leaf_hash(canonical(e.position, e.originator_id, e.originator_version, e.topic, e.state))


def next_link(previous: bytes, e: Entry) -> bytes:
    return hashlib.sha256(
        previous + canonical(e.position, e.originator_id, e.originator_version, e.topic, e.state)
    ).digest()


def recompute(
    tenant_id: str,
    entries: Iterable[Entry],
    chained: int,
    digest: Digest | None = None,
    progress: Callable[[int], None] | None = None,
) -> Verified:
    """Recompute the chain over ``entries`` (in position order) and check it against their stored links,
    the last chained position and the digest; raises ChainBroken at the first position that fails."""
    link, expected = genesis(tenant_id), 1
    for e in entries:
        if e.position != expected:
            raise ChainBroken(
                expected,
                f"the event at position {expected} is missing (deleted)"
                if e.position > expected
                else f"position {e.position} appears out of order",
            )
        link = next_link(link, e)
        if is_void(e) and e.link != link.hex():
            raise ChainBroken(expected, f"the event at position {expected} is missing (deleted)")
        if e.link is None and expected <= chained:
            raise ChainBroken(expected, "the chain link of this position is missing")
        if e.link is not None and e.link != link.hex():
            raise ChainBroken(
                expected, "the stored event no longer matches its chain link (changed, replaced or moved)"
            )
        if digest and digest.position == expected and digest.hash != link.hex():
            raise ChainBroken(
                expected, f"the ledger no longer extends the digest {digest} (recomputed link {link.hex()})"
            )
        if progress:
            progress(1)
        expected += 1
    last = expected - 1
    if last < chained:
        raise ChainBroken(last + 1, f"the event at position {last + 1} is missing (deleted)")
    if digest and digest.position > last:
        raise ChainBroken(digest.position, f"the ledger has no position {digest.position} (it ends at {last})")
    return Verified(last, chained, link.hex())


class Chain:
    """The chain of one tenant store: extend it, read its head, verify it, export the ledger with it.

    Its table is made with the store's (``CHAIN_DDL``). ``extend`` takes the store's lock; a
    caller that holds it calls ``extend_locked``.
    """

    def __init__(self, store: Any):
        self.store = store
        self.tenant_id = store.tenant_id
        self.recorder = store.event_store.recorder
        self.mapper = store.event_store.mapper
        self.transaction = store.transaction
        from integrity.tree import Tree

        self.tree = Tree(self)

    def start(self) -> tuple[int, bytes]:
        """Where an empty chain ends: position 0, the genesis link."""
        return 0, genesis(self.tenant_id)

    def end(self, cur: Any) -> tuple[int, bytes]:
        """The last chained position and its link, read in ``cur``'s transaction."""
        row = cur.execute(f"SELECT position, link FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1").fetchone()
        return (row[0], bytes.fromhex(row[1])) if row else self.start()

    def head(self) -> dict:
        """{"position", "hash", "recorded_at"} of the latest link (position 0 and the genesis when empty)."""
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT position, link, recorded_at FROM ledger_chain ORDER BY position DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return {"position": 0, "hash": genesis(self.tenant_id).hex(), "recorded_at": None}
        recorded_at = from_micros(row[2])
        return {"position": row[0], "hash": row[1], "recorded_at": recorded_at and recorded_at.isoformat()}

    def extend(self) -> int:
        """Chain every event after the last chained one; returns the last chained position.

        Runs under the tenant lock, so extensions never interleave; each batch commits on its own.
        A gap in the positions stops it with ChainBroken: the library never leaves one.
        """
        with self.store.lock():
            return self.extend_locked()

    def extend_locked(self) -> int:
        """``extend`` for a caller that already holds the tenant lock; the Merkle tree follows the chain."""
        try:
            return self._extend_links()
        finally:
            self._extend_tree()

    def _extend_tree(self) -> None:
        """Grow the Merkle tree to the chain's end; a tree that lost rows of its right edge stays as
        it is (``ledger verify`` reports it, ``rebuild`` makes it again) and writers go on."""
        from integrity.tree import TreeBehind

        try:
            self.tree.extend_locked(self.chained())
        except TreeBehind as error:
            log.warning("tenant %s: %s; `unionledger rebuild` makes the tree again", self.tenant_id, error.message)

    def _extend_links(self) -> int:
        while True:
            with self.transaction() as cur:
                last, link = self.end(cur)
            notifications = self.recorder.select_notifications(last + 1, BATCH)
            if not notifications:
                return last
            rows: list[tuple[int, str, int | None]] = []  # position, link, recorded_at
            gap: int | None = None
            for n in notifications:
                if n.id != last + 1:
                    if self._ever_recorded(last + 1, n.id - 1):
                        gap = last + 1
                        break
                    for position in range(last + 1, n.id):
                        link = next_link(link, void(position))
                        rows.append((position, link.hex(), None))
                link = next_link(link, _entry(n))
                timestamp = getattr(self.mapper.to_domain_event(n), "timestamp", None)
                rows.append((n.id, link.hex(), micros(timestamp) if timestamp else None))
                last = n.id
            if rows:
                with self.transaction(write=True) as cur:
                    cur.insert_rows("ledger_chain", ("position", "link", "recorded_at"), rows)
                    leaves = {n.id: _entry(n) for n in notifications}
                    self.tree.link(cur, rows[0][0], [leaf_of(leaves.get(p) or void(p)) for p, _link, _at in rows])
            if gap is not None:
                raise ChainBroken(
                    gap, f"the event at position {gap} is missing (deleted); the chain stops at position {gap - 1}"
                )
            if len(notifications) < BATCH:
                return last  # a short batch: the ledger ended there when it was read

    def link_at(
        self, cur: Any, recorded: Sequence[Any], end: tuple[int, bytes], edge: list[tuple[int, bytes]] | None = None
    ) -> None:
        """Link recordings that follow ``end`` (the chain's last position and link, read under
        the lock the caller still holds) from memory, in ``cur``'s transaction; ``edge``: the
        Merkle tree's right edge, if read with ``end``."""
        self.link_stored(
            cur, [(r.notification.id, r.notification, micros(r.domain_event.timestamp)) for r in recorded], end, edge
        )

    def link_stored(
        self,
        cur: Any,
        recorded: Sequence[tuple[int, Any, int | None]],
        end: tuple[int, bytes],
        edge: list[tuple[int, bytes]] | None = None,
    ) -> tuple[int, bytes]:
        """Link events just written in ``cur``'s transaction, each ``(position, stored event,
        recorded at)``, after ``end``, and add their leaves to the tree; returns the chain's new end."""
        rows, leaves, new_end = _links(recorded, end)
        cur.insert_rows("ledger_chain", ("position", "link", "recorded_at"), rows)
        if recorded:
            self.tree.link(cur, recorded[0][0], leaves, edge)
        return new_end

    @staticmethod
    def hashed(
        recorded: Sequence[tuple[int, Any, int | None]], end: tuple[int, bytes], edge: list[tuple[int, bytes]] | None
    ) -> Hashed:
        """``link_stored``'s hashing alone, without the database, so that it can run while the
        connection does other work: the links after ``end`` and, where ``edge`` (the tree's right
        edge right before them, grown in place) is given, the tree's rows."""
        rows, leaves, new_end = _links(recorded, end)
        first = recorded[0][0] if recorded else 0
        nodes = None if edge is None else list(enumerate(merkle.grow(edge, leaves), first))
        return Hashed(rows, nodes, new_end)

    @staticmethod
    def hashed_canonical(
        first: int,
        canonicals: Sequence[bytes],
        recorded_at: Sequence[int],
        end: tuple[int, bytes],
        edge: list[tuple[int, bytes]] | None,
    ) -> Hashed:
        """``hashed`` of events at positions ``first``... given as their canonical bytes without
        the position (``canonical_after``, made where the events were encoded), each with its
        recorded instant."""
        link, sha256 = end[1], hashlib.sha256
        rows: list[tuple[int, str, int | None]] = []
        leaves: list[bytes] = []
        for position, tail, at in zip(range(first, first + len(canonicals)), canonicals, recorded_at):
            data = position.to_bytes(8, "big") + tail
            link = sha256(link + data).digest()
            rows.append((position, link.hex(), at))
            leaves.append(leaf_hash(data))
        nodes = None if edge is None else [(first + i, merkle.append(edge, leaf)) for i, leaf in enumerate(leaves)]
        return Hashed(rows, nodes, (first + len(canonicals) - 1, link) if canonicals else end)

    def store_hashed(self, cur: Any, hashed: Hashed) -> tuple[int, bytes]:
        """Store what ``hashed`` made in ``cur``'s transaction; returns the chain's new end."""
        cur.insert_rows("ledger_chain", ("position", "link", "recorded_at"), hashed.links)
        if hashed.nodes:
            self.tree.store_nodes(cur, hashed.nodes)
        return hashed.end

    def _ever_recorded(self, first: int, last: int) -> bool:
        """Whether an event was ever recorded at one of these positions (the caller holds the lock):
        SQLite never leaves a position empty; on PostgreSQL, unless the writer after a rolled-back
        one noted them void."""
        with self.transaction() as cur:
            if cur.dialect != "postgres":
                return True
            voids = cur.scalar("SELECT COUNT(*) FROM ledger_voids WHERE position BETWEEN ? AND ?", (first, last))
        return voids < last - first + 1

    def chained(self) -> int:
        with self.transaction() as cur:
            return cur.scalar("SELECT MAX(position) FROM ledger_chain") or 0

    def entries(self, stop: int | None = None, start: int = 1) -> Iterator[Entry]:
        """Stored events in position order (from ``start``, up to ``stop``), each with its stored link."""
        while True:
            notifications = self.recorder.select_notifications(start, BATCH, stop=stop)
            if not notifications:
                return
            high = notifications[-1].id
            with self.transaction() as cur:
                links = dict(
                    cur.execute(
                        "SELECT position, link FROM ledger_chain WHERE position BETWEEN ? AND ?", (start, high)
                    ).fetchall()
                )
            for n in notifications:
                for position in range(start, n.id):  # no event there
                    yield void(position, links.get(position))
                yield _entry(n, links.get(n.id))
                start = n.id + 1

    def verify(self, digest: Digest | None = None, progress: Callable[[int], None] | None = None) -> Verified:
        """Recompute the chain from the stored events, and in the same pass the Merkle tree's leaves
        (nothing is written); raises ChainBroken, also where the stored tree no longer matches them."""
        chained, tree = self.chained(), self.tree.checker()

        def feeding(entries: Iterable[Entry]) -> Iterator[Entry]:
            for e in entries:
                yield e  # checked by the chain first, so that a changed event is reported as such
                tree.add(e.position, leaf_of(e))

        verified = recompute(self.tenant_id, feeding(self.entries()), chained, digest, progress)
        tree.flush()
        return verified

    def export(
        self, upto: int, progress: Callable[[int], None] | None = None, checkpoint: dict | None = None
    ) -> Iterator[bytes]:
        """The ledger up to ``upto`` with its links, as gzip JSON lines (header first), in chunks;
        the header carries the signed checkpoint of the tree of ``upto`` leaves and the key's public half."""
        gzip = zlib.compressobj(wbits=31)  # gzip framing; mtime 0, so equal ledgers give equal bytes
        header = {
            "format": EXPORT_FORMAT,
            "tenant": self.tenant_id,
            "exported_at": datetime.now(UTC).isoformat(),
            "events": upto,
            **({"checkpoint": checkpoint, "public_key": self.tree.public_key()["public_key"]} if checkpoint else {}),
        }
        chunk, count = [_line(header)], 0
        for e in self.entries(stop=upto) if upto else ():
            chunk.append(
                _line(
                    {"position": e.position, "void": True, "link": e.link}
                    if is_void(e)
                    else {
                        "position": e.position,
                        "originator_id": str(e.originator_id),
                        "originator_version": e.originator_version,
                        "topic": e.topic,
                        "state": base64.b64encode(e.state).decode(),
                        "link": e.link,
                    }
                )
            )
            count += 1
            if len(chunk) >= BATCH:
                yield gzip.compress(b"".join(chunk))
                if progress:
                    progress(count)
                chunk, count = [], 0
        yield gzip.compress(b"".join(chunk)) + gzip.flush()
        if progress and count:
            progress(count)


def _entry(n: Any, link: str | None = None) -> Entry:
    return Entry(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state), link)


def _line(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
