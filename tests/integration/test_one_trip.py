"""A group's statements are bound on the client (persistence/one_trip.py): every value must reach
PostgreSQL as psycopg's own client-side binding (``ClientCursor``) would have sent it."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from persistence.one_trip import OneTrip, bound
from persistence.vault import KEY_SIZE, KEYS_DDL, PersonalDataVault, Sealing, index_ddl
from projections.base import ViewCursor
from tests.conftest import PG_URL

VALUES = [
    None,
    "",
    "plain",
    "Nguyễn Thị Ánh",
    "it's",
    "back\\slash \\x00 and 'quotes' and \"double\"",
    "line\nbreak\ttab",
    "%s and %% and ?",
    0,
    7,
    -7,
    2**62,
    -(2**62),
    10**30,
    True,
    False,
    b"",
    b"\x00\x01'\\\xff",
    1.5,
]

ARRAYS = [
    ("text[]", ["a", "b'c", 'd"e', "f\\g", "{braces}", "comma,here", "", None, "NULL", " space "]),
    ("bigint[]", [1, -2, 2**62, None]),
    ("uuid[]", [uuid.UUID(int=1), uuid.uuid4(), None]),
    ("bytea[]", [b"ab", b"\x00'\\\"", b"", None]),
    ("text[]", []),
]


@pytest.fixture
def conn():
    with psycopg.connect(PG_URL, autocommit=True) as c:
        yield c


def psycopg_side(conn, query: str, params: tuple):
    return psycopg.ClientCursor(conn).execute(query, params).fetchone()


def client_side(conn, query: str, params: tuple):
    text = bound(query, params, lambda v: psycopg.ClientCursor(conn).mogrify("%s", (v,)))
    return conn.execute(text.encode(), prepare=False).fetchone()


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_reads_back_as_psycopg_binds_it(conn, value):
    query = "SELECT %s::text" if isinstance(value, str) else "SELECT %s, pg_typeof(%s)::text"
    params = (value,) if isinstance(value, str) else (value, value)
    assert client_side(conn, query, params) == psycopg_side(conn, query, params)


@pytest.mark.parametrize(("kind", "items"), ARRAYS, ids=lambda x: x if isinstance(x, str) else None)
def test_an_array_reads_back_as_psycopg_binds_it(conn, kind, items):
    query = f"SELECT %s::{kind}, (SELECT count(*) FROM unnest(%s::{kind}))"
    assert client_side(conn, query, (items, items)) == psycopg_side(conn, query, (items, items))


def test_text_compared_with_any_of_a_list_of_text(conn):
    query = "SELECT 'b''c' = ANY(%s), 'x' = ANY(%s)"
    params = (["a", "b'c"], ["a", "b'c"])
    assert client_side(conn, query, params) == (True, False)


def test_text_holding_nul_is_refused_as_psycopg_refuses_it(conn):
    trip = OneTrip(conn)
    with pytest.raises(psycopg.DataError):
        trip.execute("SELECT %s", ("a\x00b",))
    with pytest.raises(psycopg.DataError):
        trip.execute("SELECT %s::text[]", (["a\x00b"],))


def test_a_statement_with_the_wrong_number_of_parameters_is_refused(conn):
    with pytest.raises(psycopg.ProgrammingError):
        OneTrip(conn).execute("SELECT %s, %s", (1,))


def test_statements_kept_and_sent_together_answer_the_last_ones_rows(conn):
    trip = OneTrip(conn)
    trip.execute("CREATE TEMPORARY TABLE one_trip_check (name text, data bytea)")
    trip.execute(
        "INSERT INTO one_trip_check SELECT * FROM unnest(%s::text[], %s::bytea[])", (["a'", "b"], [b"\x00", b"\xff"])
    )
    trip.execute("SELECT name, data FROM one_trip_check ORDER BY name")
    assert trip.fetchall() == [("a'", b"\x00"), ("b", b"\xff")]


@pytest.mark.parametrize("one_trip", [False, True], ids=["psycopg", "one-trip"])
def test_new_members_keys_kept_through_either_cursor_read_back_as_given(conn, one_trip):
    """``PersonalDataVault.keep`` sends the keys' text arrays in binary to psycopg's own cursor and
    as text in a one trip's (``ViewCursor.binary_mark``): either way each key reads back as given."""
    raw = OneTrip(conn) if one_trip else conn.cursor()
    cur = ViewCursor(raw, "postgres", one_trip=one_trip)
    assert (cur.binary_mark, cur.pipelined) == (("%s", True) if one_trip else ("%b", False))
    for statement in (KEYS_DDL, *index_ddl("postgres")[:1]):  # the store's tables, for this session only
        cur.execute(statement.replace("CREATE TABLE", "CREATE TEMPORARY TABLE"))
    keys = {m: bytes([n]) * KEY_SIZE for n, m in enumerate(["a,b", "it's", 'c"\\{d}', "Nguyễn Thị Ánh"])}
    PersonalDataVault.keep(cur, Sealing(keys, {m: [n, -n] for n, m in enumerate(keys)}))
    rows = cur.execute("SELECT member_id, key FROM personal_keys").fetchall()
    assert dict(rows) == {m: k.hex() for m, k in keys.items()}
