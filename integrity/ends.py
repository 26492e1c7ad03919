"""Where a group commit's transaction finds the views, the ledger, the chain and the tree ending,
read under the tenant lock (application.commit), as a PL/pgSQL function of the tenant's schema.

The statement touches eight tables and many of their indexes: planned at each group, its planning
cost the server more than its execution and more than any other statement of the group. A
PL/pgSQL function keeps its plan for the session, and PostgreSQL plans it again by itself when a
table it reads changes (a rebuild's swap, an index, new statistics, another search_path); a
prepared statement would not survive psycopg's ``DEALLOCATE ALL`` after a rolled-back read.
"""

from __future__ import annotations

import functools
import hashlib

from projections.placement import PLACEMENTS_VERSION
from projections.runner import INTACT

# The rows of ledger_tree that hold the right edge of the tree of c.position leaves (integrity.tree)
EDGE_ROWS = (
    "(SELECT array_agg(t.nodes ORDER BY t.position) FROM ledger_tree t WHERE t.position IN"
    " (SELECT (c.position >> b) << b FROM generate_series(0, 62) b WHERE (c.position >> b) & 1 = 1))"
)


def ends_select(events_table: str, lanes: str) -> str:
    """The statement: where the views are (the furthest behind of ``lanes``, an SQL text array),
    the ledger's last event, its sequence's last value, the chain's last link, the tree's right
    edge and the placements' version (projections.placement)."""
    quoted = "'" + events_table.replace("'", "''") + "'"
    return (
        f"SELECT (SELECT min(position) FROM view_positions WHERE name = ANY({lanes}) AND {INTACT}),"
        f" (SELECT max(notification_id) FROM {events_table}),"
        f" pg_sequence_last_value(pg_get_serial_sequence({quoted}, 'notification_id')::regclass),"
        f" c.position, c.link, {EDGE_ROWS}, ({PLACEMENTS_VERSION})"
        " FROM (SELECT 1) one LEFT JOIN LATERAL"
        " (SELECT position, link FROM ledger_chain ORDER BY position DESC LIMIT 1) c ON true"
    )


@functools.cache
def ends_function(events_table: str) -> tuple[str, str]:
    """The function's name (with a digest of its body: a store made by earlier code gets the
    current one beside its own) and the statement that makes it in the current schema."""
    body = ends_select(events_table, "lanes")
    name = "group_ends_" + hashlib.sha1(body.encode()).hexdigest()[:12]
    ddl = (
        f"CREATE OR REPLACE FUNCTION {name}(lanes text[]) RETURNS TABLE (views_at bigint, top bigint,"
        " numbered bigint, chained bigint, chain_link text, edge bytea[], placements bigint)"
        f" LANGUAGE plpgsql AS $ends$ BEGIN RETURN QUERY {body}; END $ends$"
    )
    return name, ddl
