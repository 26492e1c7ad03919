"""Writing events in a transaction of the caller's, so that the views, the hash chain and the
members' keys written there commit with the events or not at all.

The library inserts a batch as one ``INSERT ... SELECT FROM unnest(...)``. A large batch (a
bulk import's) goes by COPY under the same ``EXCLUSIVE`` table lock, which keeps notification
ids in commit order: the batch's ids are then the last ``n`` of the sequence, since no other
writer can take ids while the lock is held.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import errors
from psycopg.rows import DictRow, TupleRow
from psycopg.sql import SQL, Identifier

COPY_FROM = 200  # smaller batches gain nothing from COPY


FENCE = "tenant_moved"  # the constraint a move puts on a tenant's old ledger (tenants/moving.py)


class TenantMoved(Exception):
    """A write refused by the fence on a moved tenant's old copy: this process had it open still.
    Nothing was written; the tenant's next use opens it where it lives now."""


def fenced(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it: the library wraps psycopg's errors) is the fence's refusal."""
    seen: BaseException | None = error
    while seen is not None:
        diag = getattr(seen, "diag", None)
        if diag is not None and getattr(diag, "constraint_name", None) == FENCE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class CopyingPostgresApplicationRecorder(PostgresApplicationRecorder):
    def _notify_channel(self, curs: psycopg.Cursor[DictRow]) -> None:
        """No NOTIFY: the views follow the ledger by pulling, and nothing here listens. A NOTIFY
        costs a round trip per write and, at commit, a lock shared by the whole database."""

    def insert_within(
        self, curs: psycopg.Cursor[TupleRow], stored_events: Sequence[StoredEvent], copy: bool = True
    ) -> list[int]:
        """Insert in the caller's transaction, under the same table lock as ``insert_events``;
        returns the notification ids in order. A large batch goes by COPY: the lock keeps every
        other writer out until the transaction ends, so its ids are the sequence's last ``n``.
        A duplicate (originator, version) raises IntegrityError and leaves the transaction to
        be rolled back."""
        self._lock_table(curs)  # type: ignore[arg-type]  # typed for the library's dict-row cursors; reads no row
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        try:
            if copy and len(stored_events) >= COPY_FROM:
                with curs.copy(
                    SQL("COPY {0} (originator_id, originator_version, topic, state) FROM STDIN").format(table)
                ) as rows_in:
                    for e in stored_events:
                        rows_in.write_row((e.originator_id, e.originator_version, e.topic, e.state))
                curs.execute(SQL("SELECT MAX(notification_id) FROM {0}").format(table))
                row = curs.fetchone()
                assert row is not None  # an aggregate without GROUP BY returns one row
                top = row[0]
                return list(range(top - len(stored_events) + 1, top + 1))
            curs.execute(
                SQL(
                    "INSERT INTO {0} (originator_id, originator_version, topic, state)"
                    " SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[])"
                    " RETURNING notification_id"
                ).format(table),
                (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                ),
            )
            return [row[0] for row in curs.fetchall()]  # in pipeline mode, an error shows here
        except errors.UniqueViolation as error:
            raise IntegrityError(str(error)) from error

    def insert_numbered(self, curs: Any, stored_events: Sequence[StoredEvent], first: int) -> list[int]:
        """Insert in the caller's transaction at positions ``first``... (the ledger's next ones,
        read under the tenant lock that the caller holds, which every writer of the ledger takes),
        and move the sequence past them, so that nothing needs to be read back: the statements
        can go with the rest of the transaction. Under the same table lock as ``insert_within``."""
        locks, insert = self._numbered_statements
        for lock in locks:
            curs.execute(lock)
        ids = list(range(first, first + len(stored_events)))
        curs.execute(
            insert,
            (
                ids,
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )
        curs.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
            (f'"{self.datastore.schema}"."{self.events_table_name}"', ids[-1]),
        )
        return ids

    @functools.cached_property
    def _numbered_statements(self) -> tuple[list[str], str]:
        """``insert_numbered``'s statements as text, made once: the table lock's and the insert."""
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        locks = [q if isinstance(q, str) else q.as_string(None) for q in self.lock_table_statements]  # type: ignore[union-attr]
        insert = SQL(
            "INSERT INTO {0} (notification_id, originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::text[], %s::bytea[])"
        ).format(table)
        return locks, insert.as_string(None)


def insert_within(recorder: Any, cur: Any, stored_events: Sequence[StoredEvent]) -> list[int]:
    """Insert stored events in the transaction of ``cur`` (a ViewCursor on the tenant's store)
    and return their notification ids: PostgreSQL as ``insert_within`` above, SQLite with the
    library's own statement (its write transaction already serialises writers)."""
    if cur.dialect == "postgres":
        return recorder.insert_within(cur.raw, stored_events, copy=not cur.pipelined)
    try:
        return list(recorder._insert_events(cur.raw, stored_events))
    except sqlite3.IntegrityError as error:
        raise IntegrityError(str(error)) from error
