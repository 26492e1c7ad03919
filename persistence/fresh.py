"""A large import into a tenant without members (PostgreSQL): its members' rows written into copies
of the empty tables, without indexes, in a schema of the import's own; each index built once at the
end by one sort, then the copies put in place of the empty tables, all in the import's transaction.

Readers keep reading the live (empty) tables until the import commits, as before; a failure or a
crash leaves nothing, the schema being made in the same transaction. Indexes and constraints are
made as the live tables have them (read from the catalogue), so the tables end as they would have.
"""

from __future__ import annotations

import time
from typing import Any

# What a member's admission writes, apart from the ledger: its state and span, its key, its tokens.
# In the one order every locker of views locks them (sorted, as ``Projector.view_tables``).
TABLES = ("member_spans", "member_state", "member_tokens", "personal_keys")
SWAP_LOCK_TIMEOUT = "500ms"  # the swap waiting on readers gives way to them, then tries again
SWAP_ATTEMPTS = 40
PARALLEL_WORKERS = 0  # PostgreSQL's workers per index build


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class FreshTables:
    """The member tables of one import's transaction, written beside the live ones while those are
    empty. ``start`` answers None where they are not (or not all) empty: the import writes the
    live tables, index entry by index entry, as any write does."""

    def __init__(self, cur: Any, schema: str):
        self.cur, self.schema = cur, schema
        self.shadow = f"{schema}__import"
        self.indexed = False

    @classmethod
    def start(cls, cur: Any, schema: str | None) -> FreshTables | None:
        """The copies made, and this transaction's tables found there first, if every one of
        ``TABLES`` is empty (the caller holds the tenant lock: no other write adds to them)."""
        if cur.dialect != "postgres" or schema is None:
            return None
        if cur.scalar("SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in TABLES)):
            return None
        made = cls(cur, schema)
        made._copies()
        return made

    def _copies(self) -> None:
        live, shadow = quoted(self.schema), quoted(self.shadow)
        cur = self.cur
        cur.execute(f"DROP SCHEMA IF EXISTS {shadow} CASCADE")  # none can be left: made in a transaction
        cur.execute(f"CREATE SCHEMA {shadow}")
        made = {
            name: (persistence, options)
            for name, persistence, options in cur.execute(
                "SELECT c.relname, c.relpersistence, c.reloptions FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = ? AND c.relname = ANY(?) AND c.relkind = 'r'",
                (self.schema, list(TABLES)),
            ).fetchall()
        }
        for table in TABLES:
            persistence, options = made[table]
            kind = "UNLOGGED TABLE" if persistence == "u" else "TABLE"
            # LIKE copies no storage parameters (a fill factor): taken from the live table's
            parameters = f" WITH ({', '.join(options)})" if options else ""
            cur.execute(
                f"CREATE {kind} {shadow}.{table} (LIKE {live}.{table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                f" INCLUDING STORAGE){parameters}"
            )
        cur.execute(f"SET LOCAL search_path TO {shadow}, {live}")

    def build_indexes(self) -> None:
        """The live tables' constraints and indexes, made on the copies from their rows (once)."""
        if self.indexed:
            return
        self.indexed = True
        cur, shadow = self.cur, quoted(self.shadow)
        # each index built by the import's own backend: the CPU it takes is counted where the
        # import's is, and on two cores a parallel worker would only share them
        cur.execute(f"SET LOCAL max_parallel_maintenance_workers = {PARALLEL_WORKERS}")
        for table in TABLES:
            for name, definition in cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = ?::regclass"
                " AND contype IN ('p', 'u') ORDER BY conname",
                (f"{quoted(self.schema)}.{table}",),
            ).fetchall():
                cur.execute(f"ALTER TABLE {shadow}.{table} ADD CONSTRAINT {quoted(name)} {definition}")
            for definition, on in cur.execute(
                "SELECT pg_get_indexdef(i.indexrelid), ' ON ' || ?::regclass::text || ' '"
                " FROM pg_index i WHERE i.indrelid = ?::regclass"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
                " ORDER BY i.indexrelid",
                (f"{quoted(self.schema)}.{table}", f"{quoted(self.schema)}.{table}"),
            ).fetchall():
                if on not in definition:
                    raise RuntimeError(f"an index of {table} not made on its copy: {definition}")
                cur.execute(definition.replace(on, f" ON {shadow}.{table} ", 1))

    def swap(self) -> None:
        """The copies, indexed, in place of the empty live tables. Readers hold the live tables
        only for a statement; a swap kept waiting by them gives way and tries again, and after
        ``SWAP_ATTEMPTS`` copies the rows into the live tables instead."""
        self.build_indexes()
        cur, live, shadow = self.cur, quoted(self.schema), quoted(self.shadow)
        tables = ", ".join(f"{live}.{t}" for t in TABLES)
        for attempt in range(SWAP_ATTEMPTS):
            cur.execute("SAVEPOINT fresh_swap")
            try:
                cur.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                cur.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
            except Exception as error:
                cur.execute("ROLLBACK TO SAVEPOINT fresh_swap")
                if getattr(error, "sqlstate", None) not in ("55P03", "40P01"):
                    raise
                time.sleep(min(0.05 * (attempt + 1), 1.0))
                continue
            cur.execute("SET LOCAL lock_timeout = DEFAULT")
            cur.execute("RELEASE SAVEPOINT fresh_swap")
            break
        else:
            self._copied_into_live()
            return
        if cur.scalar("SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {live}.{t})" for t in TABLES)):
            # only written under the tenant lock, which the import holds: not expected
            self._copied_into_live()
            return
        cur.execute(f"DROP TABLE {tables}")
        for table in TABLES:
            cur.execute(f"ALTER TABLE {shadow}.{table} SET SCHEMA {live}")
        self._end()

    def _copied_into_live(self) -> None:
        cur, live, shadow = self.cur, quoted(self.schema), quoted(self.shadow)
        for table in TABLES:
            cur.execute(f"INSERT INTO {live}.{table} SELECT * FROM {shadow}.{table}")
        self._end()

    def _end(self) -> None:
        self.cur.execute(f"DROP SCHEMA {quoted(self.shadow)} CASCADE")
        self.cur.execute(f"SET LOCAL search_path TO {quoted(self.schema)}")
