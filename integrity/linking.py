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
  h bytea;
  made bytea;
  lvl int;
  n int;
  positions bigint[];
  datas bytea[];
  instants bigint[];
  links text[] := '{{}}';
  nodes bytea[] := '{{}}';
BEGIN
  SELECT array_agg(x.notification_id ORDER BY x.notification_id),
      array_agg(int8send(x.notification_id) || int8send(x.originator_version)
        || int4send(octet_length(x.o)) || x.o || int4send(octet_length(x.t)) || x.t
        || int4send(octet_length(x.state)) || x.state ORDER BY x.notification_id),
      array_agg(x.recorded_at ORDER BY x.notification_id)
    INTO positions, datas, instants
    FROM (SELECT notification_id, originator_version, convert_to(originator_id::text, 'UTF8') AS o,
          convert_to(topic, 'UTF8') AS t, state, recorded_at
          FROM {events_table} WHERE notification_id BETWEEN first AND last) AS x;
  IF coalesce(cardinality(positions), 0) <> last - first + 1 THEN
    RAISE EXCEPTION USING MESSAGE = 'a position from ' || first || ' to ' || last || ' holds no event to link';
  END IF;
  FOR i IN 1 .. cardinality(datas) LOOP
    link := sha256(link || datas[i]);
    links[i] := encode(link, 'hex');
    IF hashes IS NOT NULL THEN
      h := sha256('\\x00'::bytea || datas[i]);
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
      nodes[i] := made;
    END IF;
  END LOOP;
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
