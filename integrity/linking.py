"""A group commit's chain links and tree rows computed by PostgreSQL from the events it has just
written, in the same text (application.commit), as a PL/pgSQL function of the tenant's schema.

The group's transaction holds the tenant lock while its worker builds the second text; hashing
the links and growing the tree there is Python under the lock, on a thread that shares the GIL.
The server computes them from the stored rows instead, with the same bytes as integrity.chain
(``canonical``, ``link_n = sha256(link_{n-1} || canonical)``) and integrity.merkle (``leaf_hash``,
``node_hash``, ``append``: each row's nodes are the complete subtrees ending at its leaf, level 0
first), as the tree's rebuild already hashes leaves (integrity.tree ``LEAVES_SQL``).
"""

from __future__ import annotations

import functools
import hashlib

from integrity.chain import CHAIN_TABLE
from integrity.tree import TREE_TABLE


def links_body(events_table: str) -> str:
    """The function's body: the links of positions ``first``..``last`` after ``link`` (the chain's
    last link), and where ``hashes`` is not null (the tree's right edge, ``levels`` beside it,
    largest first) the tree's rows; raises if a position between them holds no event."""
    return f"""
DECLARE
  e record;
  h bytea;
  made bytea;
  lvl int;
  n int;
  expected bigint := first;
  positions bigint[] := '{{}}';
  links text[] := '{{}}';
  instants bigint[] := '{{}}';
  nodes bytea[] := '{{}}';
BEGIN
  FOR e IN SELECT x.notification_id AS p, x.recorded_at AS at,
      int8send(x.notification_id) || int8send(x.originator_version)
      || int4send(octet_length(x.o)) || x.o || int4send(octet_length(x.t)) || x.t
      || int4send(octet_length(x.state)) || x.state AS data
    FROM (SELECT notification_id, originator_version, convert_to(originator_id::text, 'UTF8') AS o,
          convert_to(topic, 'UTF8') AS t, state, recorded_at
          FROM {events_table} WHERE notification_id BETWEEN first AND last) AS x
    ORDER BY x.notification_id
  LOOP
    IF e.p <> expected THEN
      RAISE EXCEPTION USING MESSAGE = 'position ' || expected || ' holds no event to link';
    END IF;
    expected := expected + 1;
    link := sha256(link || e.data);
    positions := positions || e.p;
    links := links || encode(link, 'hex');
    instants := instants || e.at;
    IF hashes IS NOT NULL THEN
      h := sha256('\\x00'::bytea || e.data);
      made := h;
      lvl := 0;
      n := cardinality(levels);
      WHILE n > 0 AND levels[n] = lvl LOOP
        h := sha256('\\x01'::bytea || hashes[n] || h);
        made := made || h;
        levels := trim_array(levels, 1);
        hashes := trim_array(hashes, 1);
        n := n - 1;
        lvl := lvl + 1;
      END LOOP;
      levels := levels || lvl;
      hashes := hashes || h;
      nodes := nodes || made;
    END IF;
  END LOOP;
  IF expected <> last + 1 THEN
    RAISE EXCEPTION USING MESSAGE = 'position ' || expected || ' holds no event to link';
  END IF;
  INSERT INTO {CHAIN_TABLE} (position, link, recorded_at) SELECT * FROM unnest(positions, links, instants);
  IF hashes IS NOT NULL THEN
    INSERT INTO {TREE_TABLE} (position, nodes) SELECT * FROM unnest(positions, nodes);
  END IF;
END"""


@functools.cache
def links_function(events_table: str) -> tuple[str, str]:
    """The function's name (with a digest of its body: a store made by earlier code gets the
    current one beside its own) and the statement that makes it in the current schema."""
    body = links_body(events_table)
    name = "group_links_" + hashlib.sha1(body.encode()).hexdigest()[:12]
    ddl = (
        f"CREATE OR REPLACE FUNCTION {name}(first bigint, last bigint, link bytea, levels int[], hashes bytea[])"
        f" RETURNS void LANGUAGE plpgsql AS $links${body}$links$"
    )
    return name, ddl


def links_call(events_table: str) -> str:
    """The statement that links a group's positions (parameters: first, last, the chain's last
    link, the tree edge's levels and hashes or two nulls)."""
    return f"SELECT {links_function(events_table)[0]}(?, ?, ?, ?::int[], ?::bytea[])"
