"""Auditing an export file with no database server and no service.

The file's chain (and a digest obtained earlier) is checked first; then its events are replayed
through the project's own projections into an in-memory SQLite store, and the indicators are
answered there exactly as the API answers them.
"""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

from application.reads import RegisterReads
from domain.clock import vietnam_today
from integrity import merkle
from integrity.chain import EXPORT_FORMAT, Digest, Entry, Verified, is_void, leaf_of, recompute, void
from persistence.event_store import EventStore
from persistence.recorders import EVENT_COLUMNS
from persistence.vault import KEYS_DDL, index_ddl
from projections.audit import ENTRY_COLUMNS, entry
from projections.base import ViewCursor
from projections.indicators import IndicatorCalculator
from projections.ledger import Ledger
from projections.queries import RegisterViews
from projections.runner import Projector
from tenants.stores import view_projections


def projections() -> list:
    """The views a tenant store keeps, in the same order."""
    return view_projections()


def ledger_mapper() -> Mapper:
    """A mapper configured as a tenant's event store's (its transcodings: DateAsISO...)."""
    return EventStore({"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


LEDGER = "ledger_events"  # the export's events, as a store's ledger table holds them


class ExportError(Exception):
    """The file is not a readable unionledger export."""


@dataclass
class Export:
    header: dict
    entries: list[Entry]

    @property
    def tenant(self) -> str:
        return self.header["tenant"]

    def check(self, digest: Digest | None = None, key: str | None = None) -> Verified:
        """Recompute the chain over the file's events (ChainBroken names the first position that
        fails), then the Merkle root its checkpoint signs (ProofFailed): signed with ``key``
        (base64) where given, else with the key the file carries."""
        verified = recompute(self.tenant, self.entries, int(self.header["events"]), digest)
        self.check_checkpoint(key)
        return verified

    def check_checkpoint(self, key: str | None = None) -> dict | None:
        """The file's checkpoint, once its root is the root of the file's events and its signature holds."""
        checkpoint = self.header.get("checkpoint")
        if checkpoint is None:
            if key is not None:
                raise merkle.ProofFailed("the file carries no checkpoint (exported before checkpoints were kept)")
            return None
        if checkpoint.get("tenant") != self.tenant:
            raise merkle.ProofFailed(f"the checkpoint is of tenant {checkpoint.get('tenant')!r}, not {self.tenant!r}")
        merkle.verify_checkpoint(checkpoint, key or self.header.get("public_key", ""))
        size = int(checkpoint["size"])
        if size > len(self.entries):
            raise merkle.ProofFailed(f"the checkpoint is of {size} events; the file holds {len(self.entries)}")
        root = merkle.root_from_leaves(leaf_of(e) for e in self.entries[:size])
        if root.hex() != checkpoint["root"]:
            raise merkle.ProofFailed(
                f"the file's first {size} events have the root {root.hex()}, not the checkpoint's {checkpoint['root']}"
            )
        return checkpoint


def read_export(path: str) -> Export:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            header = json.loads(stream.readline() or "null")
            if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
                raise ExportError(f"not a {EXPORT_FORMAT} file")
            entries = []
            for number, line in enumerate(stream, start=2):
                try:
                    e = json.loads(line)
                    if e.get("void") is True:
                        entries.append(void(int(e["position"]), e["link"]))
                        continue
                    entries.append(
                        Entry(
                            int(e["position"]),
                            e["originator_id"],
                            int(e["originator_version"]),
                            e["topic"],
                            base64.b64decode(e["state"], validate=True),
                            e["link"],
                        )
                    )
                except (ValueError, KeyError, TypeError) as error:
                    raise ExportError(f"line {number} is not an event of the export ({error})") from None
    except (OSError, EOFError, ValueError) as error:
        raise ExportError(f"cannot read {path}: {error}") from None
    return Export(header, entries)


class FileRecorder:
    """The part of an application recorder the projector reads, over events held in memory."""

    def __init__(self, entries: Sequence[Entry]):
        # Ordered by position, as checked by the chain before any replay.
        self.notifications = [
            Notification(
                id=e.position,
                originator_id=UUID(e.originator_id),
                originator_version=e.originator_version,
                topic=e.topic,
                state=e.state,
            )
            for e in entries
            if not is_void(e)
        ]
        self._ids = [n.id for n in self.notifications]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        low = (start or 0) if inclusive_of_start else (start or 0) + 1
        found: list[Notification] = []
        for n in self.notifications[bisect_left(self._ids, low) :]:
            if len(found) >= limit or (stop is not None and n.id > stop):
                break
            if not topics or n.topic in topics:
                found.append(n)
        return found

    def max_notification_id(self) -> int | None:
        return self.notifications[-1].id if self.notifications else None


class MemoryStore:
    """Views in an in-memory SQLite database, built from an export by the tenant's own projector."""

    def __init__(self, entries: Sequence[Entry]):
        self._conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        recorder, mapper = FileRecorder(entries), ledger_mapper()
        self.projector = Projector(recorder, mapper, self.transaction, projections())
        with self.transaction(write=True) as cur:
            cur.execute(KEYS_DDL)  # an erasure in the ledger deletes a key here too; there are none offline
            for statement in index_ddl(cur.dialect):
                cur.execute(statement)
        self.projector.create()
        self.projector.follow()
        self._record(recorder, mapper)
        self.views = RegisterViews(self.transaction, Ledger(mapper, LEDGER))
        self.indicators = IndicatorCalculator(self.transaction)

    def _record(self, recorder: FileRecorder, mapper: Mapper) -> None:
        """The export's events in a ledger table as a store keeps it, with the audit trail's columns."""
        with self.transaction(write=True) as cur:
            cur.execute(
                f"CREATE TABLE {LEDGER} (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB,"
                f" {', '.join(ENTRY_COLUMNS)})"
            )
            cur.executemany(
                f"INSERT INTO {LEDGER} (rowid, {', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * 11)})",
                [
                    (
                        n.id,
                        str(n.originator_id),
                        n.originator_version,
                        n.topic,
                        n.state,
                        *entry(mapper.to_domain_event(n)),
                    )
                    for n in recorder.notifications
                ],
            )

    @contextmanager
    def transaction(
        self, write: bool = False, snapshot: bool = False, search_path: str | None = None
    ) -> Iterator[ViewCursor]:
        """A SQLite transaction reads one snapshot whatever ``snapshot`` says. ``search_path`` is
        for a PostgreSQL rebuild beside the views; SQLite has no schemas to name."""
        cursor = self._conn.cursor()
        cursor.execute("BEGIN")
        try:
            yield ViewCursor(cursor, "sqlite")
        except BaseException:
            self._conn.rollback()
            raise
        if write:
            self._conn.commit()
        else:
            self._conn.rollback()

    def today(self) -> date:
        return vietnam_today()

    def fresh(self) -> MemoryStore:
        """The views hold the whole export from the start."""
        return self

    def answer(
        self,
        period: str,
        unit_id: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
        indicators: str | None = None,
    ) -> dict[str, Any]:
        """The API's /indicators answer for the same arguments (same defaults, same figures)."""
        if known_at is not None and known_at.tzinfo is None:
            known_at = known_at.replace(tzinfo=UTC)  # as the API reads a naive known_at
        answer = RegisterReads(self).indicators(period, unit_id, as_of, known_at, indicators)
        return {**answer, "as_of": answer["as_of"].isoformat(), "known_at": known_at.isoformat() if known_at else None}


def audit(path: str, digest: Digest | None, key: str | None = None, **question: Any) -> tuple[Verified, dict[str, Any]]:
    """Check the file's chain and the digest (ChainBroken) and its checkpoint's root (ProofFailed),
    then answer the indicators from its events."""
    export = read_export(path)
    verified = export.check(digest, key)
    return verified, MemoryStore(export.entries).answer(**question)
