"""Writing events in a transaction of the caller's, so that the views, the hash chain and the
members' keys written there commit with the events or not at all.

The library inserts a batch as one ``INSERT ... SELECT FROM unnest(...)``. A large batch (a
bulk import's) goes by COPY under the same ``EXCLUSIVE`` table lock, which keeps notification
ids in commit order: the batch's ids are then the last ``n`` of the sequence, since no other
writer can take ids while the lock is held.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import struct
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import errors
from psycopg.rows import DictRow, TupleRow
from psycopg.sql import SQL, Identifier

from persistence.mapper import entry_columns
from projections.audit import ENTRY_COLUMNS

COPY_FROM = 200  # smaller batches gain nothing from COPY
EVENT_COLUMNS = ("originator_id", "originator_version", "topic", "state", *ENTRY_COLUMNS)
ENTRY_TYPES = ("bigint", "text", "text", "text", "text", "integer")  # of ENTRY_COLUMNS, on PostgreSQL
EVENT_TYPES = ("bigint", "uuid", "bigint", "text", "bytea", *ENTRY_TYPES)  # notification_id, EVENT_COLUMNS


def entry_ddl(table: str, dialect: str) -> list[str]:
    """The audit trail's columns on the ledger's table and the indexes its filters use, made if
    missing: an entity's events, an actor's, and a span of recorded instants, each in ledger order.
    ``table`` as a statement names it (schema-qualified and quoted where needed). SQLite's columns
    are added by ``add_entry_columns``, as it has no ``ADD COLUMN IF NOT EXISTS``."""
    # SQLite ends every index with the rowid (its position) and names no rowid in one
    key = ", notification_id" if dialect == "postgres" else ""
    name = table.replace('"', "").split(".")[-1]
    on = f" ON {table} " if dialect == "postgres" else f" ON {name} "
    statements = (
        [
            f"ALTER TABLE {table} "
            + ", ".join(f"ADD COLUMN IF NOT EXISTS {c} {t}" for c, t in zip(ENTRY_COLUMNS, ENTRY_TYPES))
        ]
        if dialect == "postgres"
        else []
    )
    return statements + [
        f"CREATE INDEX IF NOT EXISTS {name}_entity{on}(entity_type, entity_id{key})",
        f"CREATE INDEX IF NOT EXISTS {name}_actor{on}(actor{key})",
        f"CREATE INDEX IF NOT EXISTS {name}_recorded{on}(recorded_at)",
        # the events whose columns are still to fill: none once a store is opened
        f"CREATE INDEX IF NOT EXISTS {name}_unlisted{on}(originator_version) WHERE event IS NULL",
    ]


def add_entry_columns(cursor: Any, table: str) -> None:
    """SQLite: add the trail's columns that ``table`` lacks."""
    have = {row[1] for row in cursor.execute(f"PRAGMA table_info({table})").fetchall()}
    for column, kind in zip(ENTRY_COLUMNS, ("INTEGER", "TEXT", "TEXT", "TEXT", "TEXT", "INTEGER")):
        if column not in have:
            cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


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
    """The library's recorder, writing the audit trail's columns beside each event (made with its
    table), with COPY for large batches and numbered inserts for the group commit."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        self.sql_create_statements.extend(SQL(s).format() for s in entry_ddl(table, "postgres"))

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        """The library's insert (its ``insert_events``), with the trail's columns."""
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(*self._unnest(stored_events))

    def _unnest(self, stored_events: Sequence[StoredEvent], ids: list[int] | None = None) -> tuple[Any, tuple]:
        """One ``INSERT ... SELECT FROM unnest(...)`` of ``stored_events`` (at positions ``ids`` if
        given, else numbered by the sequence and returning them)."""
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        entries = [entry_columns(e) for e in stored_events]
        names = ("notification_id", *EVENT_COLUMNS) if ids is not None else EVENT_COLUMNS
        types = EVENT_TYPES if ids is not None else EVENT_TYPES[1:]
        arrays: list[list] = [ids] if ids is not None else []
        arrays += [
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        ]
        arrays += [[row[i] for row in entries] for i in range(len(ENTRY_COLUMNS))]
        statement = SQL(
            "INSERT INTO {0} ("
            + ", ".join(names)
            + ") SELECT * FROM unnest("
            + ", ".join(f"%s::{t}[]" for t in types)
            + ")"
            + ("" if ids is not None else " RETURNING notification_id")
        ).format(table)
        return statement, tuple(arrays)

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
        table = self._locked_past_voids(curs)
        try:
            if copy and len(stored_events) >= COPY_FROM:
                with curs.copy(SQL("COPY {0} (" + ", ".join(EVENT_COLUMNS) + ") FROM STDIN").format(table)) as rows_in:
                    for e in stored_events:
                        rows_in.write_row((e.originator_id, e.originator_version, e.topic, e.state, *entry_columns(e)))
                return self._last_positions(curs, table, len(stored_events))
            curs.execute(*self._unnest(stored_events))
            return [row[0] for row in curs.fetchall()]  # in pipeline mode, an error shows here
        except errors.UniqueViolation as error:
            raise IntegrityError(str(error)) from error

    def insert_copy_binary(self, curs: psycopg.Cursor[TupleRow], rows: bytes, count: int) -> list[int]:
        """``insert_within`` for ``count`` events given as COPY's binary tuples of ``EVENT_COLUMNS``
        (``copy_binary_row``), made elsewhere (an import's builder): written as they are, in one
        piece, between the format's signature and its trailer. The server takes each value as it
        comes: no state's bytea hex, uuid or number to parse from text."""
        table = self._locked_past_voids(curs)
        statement = SQL("COPY {0} (" + ", ".join(EVENT_COLUMNS) + ") FROM STDIN (FORMAT binary)").format(table)
        try:
            with curs.copy(statement) as rows_in:
                rows_in.write(COPY_BINARY_HEADER)
                rows_in.write(rows)
                rows_in.write(COPY_BINARY_TRAILER)
            return self._last_positions(curs, table, count)
        except errors.UniqueViolation as error:
            raise IntegrityError(str(error)) from error

    def _locked_past_voids(self, curs: psycopg.Cursor[TupleRow]) -> Any:
        """The events table, locked as every writer locks it, past any position a rolled-back
        write used (noted void)."""
        self._lock_table(curs)  # type: ignore[arg-type]  # typed for the library's dict-row cursors; reads no row
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        curs.execute(  # the positions a rolled-back write used up hold no event: never one to miss
            SQL(
                "INSERT INTO {0}.ledger_voids (position) SELECT generate_series("
                "coalesce((SELECT max(notification_id) FROM {1}), 0) + 1,"
                " pg_sequence_last_value(pg_get_serial_sequence(%s, 'notification_id')::regclass))"
                " ON CONFLICT DO NOTHING"
            ).format(Identifier(self.datastore.schema), table),
            (f'"{self.datastore.schema}"."{self.events_table_name}"',),
        )
        return table

    @staticmethod
    def _last_positions(curs: psycopg.Cursor[TupleRow], table: Any, count: int) -> list[int]:
        """The positions of the ``count`` events just copied: the lock keeps every other writer
        out until the transaction ends, so they are the sequence's last ``count``."""
        curs.execute(SQL("SELECT MAX(notification_id) FROM {0}").format(table))
        row = curs.fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        top = row[0]
        return list(range(top - count + 1, top + 1))

    def insert_numbered(self, curs: Any, stored_events: Sequence[StoredEvent], first: int) -> list[int]:
        """Insert in the caller's transaction at positions ``first``... (the ledger's next ones,
        read under the tenant lock that the caller holds, which every writer of the ledger takes),
        and move the sequence past them, so that nothing needs to be read back: the statements
        can go with the rest of the transaction. Under the same table lock as ``insert_within``."""
        locks, insert = self._numbered_statements
        for lock in locks:
            curs.execute(lock)
        ids = list(range(first, first + len(stored_events)))
        curs.execute(insert, self._unnest(stored_events, ids)[1])
        curs.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
            (f'"{self.datastore.schema}"."{self.events_table_name}"', ids[-1]),
        )
        return ids

    def write_numbered(self, curs: Any, stored_events: Sequence[StoredEvent], first: int, keys: tuple) -> list[int]:
        """``insert_numbered`` with the new members' ``keys`` (``PersonalDataVault.key_rows``) as
        one call of the schema's ``group_write_function``."""
        ids = list(range(first, first + len(stored_events)))
        name = group_write_function(self.events_table_name, self.datastore.lock_timeout)[0]
        arrays = self._unnest(stored_events, ids)[1]
        casts = ("text[]", "text[]", "text[]", "text[]", *(f"{t}[]" for t in EVENT_TYPES))
        curs.execute(f"SELECT {name}({', '.join(f'%s::{t}' for t in casts)})", (*keys, *arrays))
        return ids

    @functools.cached_property
    def _numbered_statements(self) -> tuple[list[str], str]:
        """``insert_numbered``'s statements as text, made once: the table lock's and the insert."""
        locks = [q if isinstance(q, str) else q.as_string(None) for q in self.lock_table_statements]  # type: ignore[union-attr]
        insert, _arrays = self._unnest([], [])
        return locks, insert.as_string(None)


@functools.cache
def group_write_function(events_table: str, lock_timeout: int) -> tuple[str, str, str]:
    """A group commit's ledger write as a PL/pgSQL function of the tenant's schema, whose plans the
    session keeps (sent as text, the statements were parsed and planned at every group): the new
    members' keys and index tokens, the table lock ``insert_numbered`` takes, the events at the
    positions given, and the sequence moved past them. Returns its name (with a digest of its
    arguments' types and body: a store made by an older version gets this one beside its own when
    opened, as ``TenantStore._made`` looks for it by signature), the statement that makes it in
    the current schema, and its signature."""
    columns = ("notification_id", *EVENT_COLUMNS)
    events = ", ".join(f"e_{c}" for c in columns)
    body = (
        "BEGIN IF cardinality(key_ids) > 0 THEN"
        " INSERT INTO personal_keys (member_id, key) SELECT * FROM unnest(key_ids, key_hexes)"
        " ON CONFLICT (member_id) DO UPDATE SET key = EXCLUDED.key;"
        " INSERT INTO member_tokens (member_id, tokens)"
        " SELECT m, t::bigint[] FROM unnest(token_ids, token_lists) r(m, t);"
        f" END IF; PERFORM set_config('lock_timeout', '{int(lock_timeout)}s', true);"
        f" LOCK TABLE {events_table} IN EXCLUSIVE MODE;"
        f" INSERT INTO {events_table} ({', '.join(columns)}) SELECT * FROM unnest({events});"
        f" PERFORM setval(pg_get_serial_sequence('{events_table}', 'notification_id'),"
        " e_notification_id[cardinality(e_notification_id)]); END"
    )
    types = ("text[]", "text[]", "text[]", "text[]", *(f"{t}[]" for t in EVENT_TYPES))
    name = "group_write_" + hashlib.sha1(f"{types}{body}".encode()).hexdigest()[:12]
    names = ("key_ids", "key_hexes", "token_ids", "token_lists", *(f"e_{c}" for c in columns))
    ddl = (
        f"CREATE OR REPLACE FUNCTION {name}({', '.join(f'{n} {t}' for n, t in zip(names, types))}) RETURNS void"
        f" LANGUAGE plpgsql AS $write$ {body} $write$"
    )
    return name, ddl, f"{name}({', '.join(types)})"


class EntrySQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, writing the audit trail's columns beside each event."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        self.insert_events_statement = (
            f"INSERT INTO {self.events_table_name} ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})"
        )

    def construct_create_table_statements(self) -> list[str]:
        columns = ", ".join(
            f"{c} {t}" for c, t in zip(ENTRY_COLUMNS, ("INTEGER", "TEXT", "TEXT", "TEXT", "TEXT", "INTEGER"))
        )
        return [
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name} (originator_id TEXT, originator_version INTEGER,"
            f" topic TEXT, state BLOB, {columns}, PRIMARY KEY (originator_id, originator_version))",
            *entry_ddl(self.events_table_name, "sqlite"),
        ]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any) -> Sequence[int] | None:
        returning = []
        for s in stored_events:
            originator = s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id
            c.execute(
                self.insert_events_statement,
                (originator, s.originator_version, s.topic, s.state, *entry_columns(s)),
            )
            returning.append(c.lastrowid)
        return returning


COPY_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # the signature, no flags, no header extension
COPY_BINARY_TRAILER = b"\xff\xff"
_PACKED = {"bigint": struct.Struct(">iq").pack, "integer": struct.Struct(">ii").pack}


def copy_binary_field(value: Any, kind: str) -> bytes:
    """A value in COPY's binary format: its length and its bytes as a column of type ``kind``
    (one of ``EVENT_TYPES``) receives them; None as the length -1."""
    if value is None:
        return b"\xff\xff\xff\xff"
    if kind in _PACKED:
        return _PACKED[kind](8 if kind == "bigint" else 4, value)
    raw = value.bytes if kind == "uuid" else value.encode() if kind == "text" else bytes(value)
    return struct.pack(">i", len(raw)) + raw


def copy_binary_row(values: Sequence[Any]) -> bytes:
    """One tuple of the ledger's columns (``EVENT_COLUMNS``) in COPY's binary format: the count of
    its fields, then each field."""
    return struct.pack(">h", len(values)) + b"".join(
        copy_binary_field(value, kind) for value, kind in zip(values, EVENT_TYPES[1:], strict=True)
    )


def insert_copy_binary(recorder: Any, cur: Any, rows: bytes, count: int) -> list[int]:
    """``insert_within`` of events given as COPY's binary tuples (PostgreSQL, outside a pipeline)."""
    if cur.dialect != "postgres" or cur.pipelined:
        raise ValueError("events as COPY tuples go to PostgreSQL by COPY only")
    return recorder.insert_copy_binary(cur.raw, rows, count)


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
