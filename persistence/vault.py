"""Personal data sealed with one key per member, and a blind index to find members by it.

The key lives in the tenant's store, outside the ledger; destroying it erases the
member's full name, birth date and id number everywhere they were recorded,
without rewriting or deleting a single event.

Names and id numbers are found through keyed blind indexes: an HMAC, under a key of the
tenant's, of each word of a member's name (as ``domain.text.search_words`` normalises it),
of each pair of its words, and of the id number. Nothing in clear is kept to answer a
search, and nothing is decrypted for it. The index is a row per member holding its
tokens; an erasure deletes that row with the member's key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any, overload

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.text import search_words
from projections.base import Transaction

KEYS_TABLE = "personal_keys"
KEYS_DDL = "CREATE TABLE IF NOT EXISTS personal_keys (member_id TEXT PRIMARY KEY, key TEXT NOT NULL)"
INDEX_TABLE = "member_tokens"
OLD_INDEX_TABLE = "member_index"  # a row per token and member, as stores kept before the array


def index_ddl(dialect: str) -> tuple[str, ...]:
    """The blind index: a row per member holding its tokens, on PostgreSQL as an array under a GIN
    index (new entries go to its pending list), on SQLite as a JSON array that a search scans."""
    made: tuple[str, ...]
    if dialect == "postgres":
        made = (
            "CREATE TABLE IF NOT EXISTS member_tokens (member_id TEXT PRIMARY KEY, tokens BIGINT[] NOT NULL)",
            "CREATE INDEX IF NOT EXISTS member_tokens_tokens ON member_tokens USING gin (tokens)"
            " WITH (fastupdate = on)",
        )
    else:
        made = ("CREATE TABLE IF NOT EXISTS member_tokens (member_id TEXT PRIMARY KEY, tokens TEXT NOT NULL)",)
    return (*made, "CREATE TABLE IF NOT EXISTS index_keys (name TEXT PRIMARY KEY, key TEXT NOT NULL)")


# A row of index_keys once the members recorded before the index are in it, with the tokens of
# today's kinds, in today's shape: "indexed" alone was before the pairs of words (such a store is
# indexed again from the sealed data), "indexed:pairs" a row per token (its tokens are carried over).
INDEXED = "indexed:tokens"
INDEXED_PAIRS = "indexed:pairs"
# What a token stands for: a word of the name, two words of it (any two, in sorted order), the id number
NAME, PAIR, ID_NUMBER = "n:", "p:", "i:"
# A name of more words than this has tokens for pairs of neighbouring words only (a query still
# finds it through its words): C(n, 2) tokens would grow fast for the rare very long name
PAIRED_WORDS = 6
TOKEN_SIZE = 8  # bytes of the HMAC kept, as a signed 64-bit integer: among a province's
# millions of tokens, a collision (which would only add a member to a search's answer) is unlikely
WORD_TOKENS_KEPT = 100_000  # name words and pairs whose tokens a vault keeps in memory
NAMES_KEPT = 20_000  # whole names whose tokens a vault keeps in memory (a few MB)
PREFIX = "aesgcm:"
ERASED = None


def _opened(sealed: Iterable[tuple[str, str, bytes | None]]) -> dict[str, dict | None]:
    """member_id -> personal data opened with its key, or None where the key was destroyed."""
    out: dict[str, dict | None] = {}
    skip, decode, loads = len(PREFIX), base64.urlsafe_b64decode, json.loads  # a file opens a million
    for member_id, value, key in sealed:
        if key is None or not value.startswith(PREFIX):
            out[member_id] = ERASED
            continue
        raw = decode(value[skip:])
        plain = AESGCM(key).decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], member_id.encode())
        out[member_id] = loads(plain.decode())
    return out


def _opened_hex(sealed: list[tuple[str, str, str | None]]) -> dict[str, dict | None]:
    """``_opened`` of keys in hex, as read beside the members (and as a process of its own takes them)."""
    return _opened((m, s, bytes.fromhex(k) if k else None) for m, s, k in sealed)


# A file's page of this many members or more is opened in a process of its own: opening is most of
# a file's CPU in its worker (an AES-GCM context per member), and the page is read ahead in a thread
# while the one before is written, so the opening moves to another core. Passing the page there and
# back costs its worker about a sixth of opening it.
OFFLOADED = 2_000
_opener: ProcessPoolExecutor | None = None
_opener_lock = threading.Lock()


def _open_elsewhere(sealed: list[tuple[str, str, str | None]]) -> Callable[[], dict[str, dict | None]]:
    """``_opened_hex`` started in the opening process (started the first time, from a fork server:
    a serving process has threads and connections that a plain fork would copy), answered when
    called; opened in this process if that one has died (it is started again next time)."""
    global _opener
    with _opener_lock:
        if _opener is None:
            _opener = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
        opener = _opener
    try:
        future = opener.submit(_opened_hex, sealed)
    except BrokenProcessPool:
        return _here(opener, sealed)

    def answer() -> dict[str, dict | None]:
        try:
            return future.result()
        except BrokenProcessPool:
            return _here(opener, sealed)()

    return answer


def _here(opener: ProcessPoolExecutor, sealed: list[tuple[str, str, str | None]]) -> Callable[[], dict]:
    global _opener
    with _opener_lock:
        if _opener is opener:
            _opener = None
    return functools.partial(_opened_hex, sealed)


# How a read of the views joins a member's key (``personal_keys k`` on the member's id), to open
# the personal data of many members with ``unseal_with_keys``; the joined table's member id
PERSONAL_KEY_JOIN = "LEFT JOIN personal_keys k ON k.member_id = {member_id}"
PERSONAL_KEY_COLUMN = "k.key"
PERSONAL_KEY_MEMBER = "k.member_id"


def _read_keys(cur, member_ids: list[str]) -> dict[str, bytes]:
    rows = cur.rows_for("SELECT member_id, key FROM personal_keys WHERE member_id IN ({ids})", member_ids)
    return {m: bytes.fromhex(k) for m, k in rows}


KEY_SIZE, NONCE_SIZE = 32, 12  # AES-256-GCM


def new_key() -> bytes:
    """A member's key."""
    return os.urandom(KEY_SIZE)


def random_blocks(count: int, size: int) -> list[bytes]:
    """``count`` random blocks of ``size`` bytes (an import's keys, or its nonces) from one call to
    the system's generator: a call per member released the GIL to the import's other threads,
    costing the importing thread far more than the call itself."""
    pool = os.urandom(count * size)
    return [pool[i : i + size] for i in range(0, count * size, size)]


_PLAIN = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps with options makes one per call


def plain_json(data: dict[str, Any]) -> str:
    """``data`` as ``json.dumps(data, ensure_ascii=False, sort_keys=True)`` writes it, joined here
    where every value is text or None (a member's personal data): half the encoder's time."""
    parts = []
    for name in sorted(data):
        value = data[name]
        if value is None:
            text = "null"
        elif type(value) is str:
            text = encode_basestring(value)
        else:
            return _PLAIN.encode(data)
        parts.append(encode_basestring(name) + ": " + text)
    return "{" + ", ".join(parts) + "}"


def seal_with(key: bytes, member_id: str, data: dict[str, Any], nonce: bytes | None = None) -> str:
    """AES-GCM with a fresh nonce (made here unless given); the member id is bound in as associated data."""
    nonce = nonce or os.urandom(NONCE_SIZE)
    plain = plain_json(data).encode()
    return PREFIX + base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plain, member_id.encode())).decode()


@dataclass
class Sealing:
    """What new members' personal data leaves beside their events: each member's key, and the
    blind index tokens of their name and id number; stored with the events that use them."""

    keys: dict[str, bytes] = field(default_factory=dict)
    tokens: dict[str, list[int]] = field(default_factory=dict)
    # An import's tokens also as the index's rows in COPY's text format (see ``index_rows``), made
    # where it seals: the writing thread passes them on whole (a builder process sends only these).
    index_rows: bytes | None = None

    def add(self, member_id: str, key: bytes, tokens: list[int]) -> None:
        self.keys[member_id], self.tokens[member_id] = key, tokens

    def drop(self, member_ids: Iterable[str]) -> None:
        dropped = set(member_ids)
        for member_id in dropped:
            self.keys.pop(member_id, None)
            self.tokens.pop(member_id, None)
        if self.index_rows is not None:
            kept = [row for row in self.index_rows.split(b"\n") if row and row.split(b"\t")[0].decode() not in dropped]
            self.index_rows = b"".join(row + b"\n" for row in kept)


def token_with(index_key: bytes, kind: str, text: str) -> int:
    """A blind index token: the HMAC of what it stands for under the tenant's index key, its first
    bytes as a signed integer (a PostgreSQL bigint)."""
    digest = hmac.new(index_key, (kind + text).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:TOKEN_SIZE], "big", signed=True)


def tokens_with(
    index_key: bytes, data: dict[str, Any] | None, word_token: Callable[[str, str], int] | None = None
) -> list[int]:
    """``PersonalDataVault.tokens`` under ``index_key``, which a process without the store is given;
    ``word_token`` may answer a name word's or pair's token from memory."""
    if not data:
        return []
    word = word_token or functools.partial(token_with, index_key)
    words = list(dict.fromkeys(search_words(data.get("full_name") or "")))
    found = [word(NAME, w) for w in words]
    found += [word(PAIR, pair) for pair in word_pairs(words, PAIRED_WORDS)]
    if data.get("id_number"):
        found.append(token_with(index_key, ID_NUMBER, id_number_key(data["id_number"])))
    return found


class IndexTokens:
    """``tokens_with`` under one index key, with what names share kept in memory: a province's
    names are made of a few hundred words, so a name's tokens (its words' and pairs') were mostly
    worked out for an earlier member; only the id number's is new to each."""

    def __init__(self, index_key: bytes):
        self.index_key = index_key
        self._names: dict[str, list[int]] = {}  # a whole name -> its words' and pairs' tokens
        self._pieces: dict[str, list[str]] = {}  # a name's piece between spaces -> its search words
        self._words: dict[str, int] = {}  # kind + word or pair -> its token

    def __call__(self, data: dict[str, Any] | None) -> list[int]:
        if not data:
            return []
        found = self.of_name(data.get("full_name") or "")
        number = data.get("id_number")
        if number:
            return [*found, token_with(self.index_key, ID_NUMBER, id_number_key(number))]
        return list(found)

    def of_name(self, full_name: str) -> list[int]:
        """The tokens of a name's words and pairs (not to be changed: they may be kept)."""
        found = self._names.get(full_name)
        if found is None:
            words: list[str] = []
            for piece in full_name.split():  # search_words finds no word across a space
                these = self._pieces.get(piece)
                if these is None:
                    these = search_words(piece)
                    if len(self._pieces) < WORD_TOKENS_KEPT:
                        self._pieces[piece] = these
                words += these
            words = list(dict.fromkeys(words))
            found = [self.word(NAME, w) for w in words] + [self.word(PAIR, p) for p in word_pairs(words, PAIRED_WORDS)]
            if len(self._names) < NAMES_KEPT:
                self._names[full_name] = found
        return found

    def word(self, kind: str, text: str) -> int:
        """A name word's or pair's token, from memory when worked out before."""
        found = self._words.get(kind + text)
        if found is None:
            found = token_with(self.index_key, kind, text)
            if len(self._words) < WORD_TOKENS_KEPT:
                self._words[kind + text] = found
        return found


_index_tokens: IndexTokens | None = None  # a builder process's, for the index key it was last given


def index_tokens(index_key: bytes) -> IndexTokens:
    """The tokens under ``index_key`` in a process without the store (kept for the next chunk)."""
    global _index_tokens
    made = _index_tokens
    if made is None or made.index_key != index_key:
        made = _index_tokens = IndexTokens(index_key)
    return made


def seal_new_with(
    index_key: bytes, items: list[tuple[str, dict[str, Any]]], tokens: IndexTokens | None = None
) -> tuple[list[str], Sealing]:
    """``PersonalDataVault.seal_new`` under ``index_key``: also in a process of its own (an import's)."""
    tokens = tokens or index_tokens(index_key)
    keys = dict(zip([member_id for member_id, _data in items], random_blocks(len(items), KEY_SIZE)))
    nonces = random_blocks(len(items), NONCE_SIZE)
    sealed = [seal_with(keys[member_id], member_id, data, nonce) for (member_id, data), nonce in zip(items, nonces)]
    return sealed, Sealing(keys, {member_id: tokens(data) for member_id, data in items})


def index_rows(tokens: dict[str, list[int]]) -> bytes:
    """The index rows of ``tokens`` (a member and its array of tokens) as COPY's text format reads
    them, in member order (the key's B-tree takes rows in its own order touching fewer pages).
    Member ids match ID_PATTERN (no tab, line break or backslash): nothing needs escaping."""
    return "".join(
        f"{member_id}\t{{{','.join(map(str, tokens[member_id]))}}}\n" for member_id in sorted(tokens)
    ).encode()


def tokens_text(tokens: Iterable[int]) -> str:
    """Tokens as the index's column holds them on SQLite (a JSON array), and as PostgreSQL reads an
    array from text once its brackets are braces."""
    return "[" + ",".join(map(str, tokens)) + "]"


class PersonalDataVault:
    def __init__(self, transaction: Transaction):
        self.transaction = transaction
        self._index_key: bytes | None = None
        self._index_key_lock = threading.Lock()
        # Names repeat (a province has a few hundred given names, family names and middle names):
        # a word's or a pair's token is worked out once. Id numbers, one a member, are not kept.
        self._index_tokens: IndexTokens | None = None

    def create(self) -> None:
        with self.transaction(write=True) as cur:
            cur.execute(KEYS_DDL)
            for statement in index_ddl(cur.dialect):
                cur.execute(statement)

    # ---- sealing ---------------------------------------------------------------------------------
    def seal_one(self, member_id: str, data: dict[str, Any]) -> tuple[str, bytes, list[int]]:
        """Seal a new member's personal data with a key of their own: the sealed value, the key and
        the member's index tokens, for the caller to ``keep`` with the admission."""
        fresh = os.urandom(KEY_SIZE + NONCE_SIZE)  # the key and the nonce from one call to the system's generator
        key = fresh[:KEY_SIZE]
        return seal_with(key, member_id, data, fresh[KEY_SIZE:]), key, self.tokens(data)

    def seal_new(self, items: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], Sealing]:
        """Seal for many members the ledger does not hold (an import's), each with a new key; the
        keys and tokens are returned for the caller to ``keep`` in the transaction that records them."""
        return seal_new_with(self.index_key(), items, self._tokens())

    # ---- the blind index -------------------------------------------------------------------------
    def index_key(self) -> bytes:
        """The tenant's key of the blind index, made the first time it is asked for."""
        if self._index_key is None:
            with self._index_key_lock:
                if self._index_key is None:
                    with self.transaction(write=True) as cur:
                        cur.execute(
                            "INSERT INTO index_keys (name, key) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                            ("search", new_key().hex()),
                        )
                        stored = cur.scalar("SELECT key FROM index_keys WHERE name = ?", ("search",))
                    self._index_key = bytes.fromhex(stored)
        return self._index_key

    def token(self, kind: str, text: str) -> int:
        return token_with(self.index_key(), kind, text)

    def _tokens(self) -> IndexTokens:
        made = self._index_tokens
        if made is None:
            made = self._index_tokens = IndexTokens(self.index_key())
        return made

    def tokens(self, data: dict[str, Any] | None) -> list[int]:
        """The index tokens of a member's personal data: one per word of the name, one per pair of
        its words, one for the id number."""
        return self._tokens()(data)

    def search(self, words: list[str], id_number: str | None) -> Sequence[str] | None:
        """Members whose name holds every word and whose id number is ``id_number`` (either may be
        left out), by their tokens alone; None when neither is asked."""
        words = list(dict.fromkeys(words))
        wanted = [self.token(NAME, word) for word in words]
        if id_number:
            wanted.append(self.token(ID_NUMBER, id_number_key(id_number)))
        if not wanted:
            return None
        # A name holding two words holds their pair's token too, far rarer than either word ("thi" or
        # "nguyen": half a province). Every word is in one of the pairs, so the pairs (and the id
        # number) are asked alone: the words' long posting lists add nothing to the answer. A name of
        # many words has pairs of neighbouring words only: when no member holds every pair, the
        # words alone are asked.
        pairs = [self.token(PAIR, pair) for pair in word_pairs(words, PAIRED_WORDS)]
        with self.transaction() as cur:
            postgres = cur.dialect == "postgres"
            if not postgres:
                found = self._holders(cur, pairs + wanted[len(words) :]) if pairs else []
                return found or self._holders(cur, wanted)
        if pairs:
            holders = Holders(self.transaction, pairs + wanted[len(words) :])
            if holders:
                return holders
        return Holders(self.transaction, wanted)

    @staticmethod
    def _holders(cur: Any, tokens: list[int]) -> list[str]:
        """Members holding every one of ``tokens``, in id order."""
        if cur.dialect == "postgres":
            sql = "SELECT member_id FROM member_tokens WHERE tokens @> ?::bigint[] ORDER BY member_id"
            return [m for (m,) in cur.execute(sql, ("{" + ",".join(map(str, tokens)) + "}",)).fetchall()]
        distinct = sorted(set(tokens))
        sql = (
            "SELECT member_id FROM member_tokens WHERE (SELECT count(DISTINCT value) FROM json_each(tokens)"
            f" WHERE value IN ({', '.join('?' * len(distinct))})) = ? ORDER BY member_id"
        )
        return [m for (m,) in cur.execute(sql, (*distinct, len(distinct))).fetchall()]

    @staticmethod
    def keep(cur: Any, sealing: Sealing, fresh: bool = False) -> None:
        """Store new members' keys and index tokens in the caller's transaction, the one that
        records their admissions, so that they exist exactly when an event uses them. A key
        already stored for one of them (by an older version, which stored keys ahead) is
        replaced: the caller only passes members the ledger does not hold, so no event uses it.
        ``fresh``: the keys' table was empty when the transaction began and has no key yet to
        find a member by (``persistence.fresh``): the keys go by COPY, none to replace."""
        keys = sealing.keys
        if not keys:
            return
        if fresh and cur.dialect == "postgres" and not cur.pipelined:
            with cur.raw.copy("COPY personal_keys (member_id, key) FROM STDIN") as copy:
                copy.write("".join(f"{m}\t{k.hex()}\n" for m, k in keys.items()).encode())
        elif cur.dialect == "postgres":
            # two text arrays, in binary where psycopg binds them (ViewCursor.binary_mark)
            mark = cur.binary_mark
            cur.raw.execute(
                f"INSERT INTO personal_keys (member_id, key) SELECT * FROM unnest({mark}::text[], {mark}::text[])"
                " ON CONFLICT (member_id) DO UPDATE SET key = EXCLUDED.key",
                (list(keys), [k.hex() for k in keys.values()]),
            )
        else:
            cur.executemany(
                "INSERT INTO personal_keys (member_id, key) VALUES (?, ?)"
                " ON CONFLICT (member_id) DO UPDATE SET key = excluded.key",
                [(m, k.hex()) for m, k in keys.items()],
            )
        if sealing.index_rows is not None and cur.dialect == "postgres" and not cur.pipelined:
            with cur.raw.copy("COPY member_tokens (member_id, tokens) FROM STDIN") as copy:
                copy.write(sealing.index_rows)
            return
        cur.insert_rows("member_tokens", ("member_id", "tokens"), _token_rows(sealing, cur.dialect))

    @staticmethod
    def key_rows(sealing: Sealing) -> tuple[list[str], list[str], list[str], list[str]]:
        """What ``keep`` stores on PostgreSQL, as the arguments of the group's write function
        (persistence.recorders.group_write_function): the members' ids and their keys in hex,
        and the index tokens' member ids and arrays' text."""
        keys = sealing.keys
        if not keys:
            return [], [], [], []
        rows = _token_rows(sealing, "postgres")
        return list(keys), [k.hex() for k in keys.values()], [m for m, _ in rows], [t for _, t in rows]

    def unseal_many(self, sealed: Iterable[tuple[str, str | None]]) -> dict[str, dict | None]:
        """member_id -> personal data, or None where the key was destroyed."""
        pairs = [(m, s) for m, s in sealed if s]
        if not pairs:
            return {}
        ids = sorted({m for m, _ in pairs})
        with self.transaction() as cur:
            keys = _read_keys(cur, ids)
        return _opened((m, s, keys.get(m)) for m, s in pairs)

    @staticmethod
    def unseal_with_keys(sealed: Iterable[tuple[str, str | None, str | None]]) -> dict[str, dict | None]:
        """As ``unseal_many``, from (member_id, sealed, key) read together with the members (a
        file's page: one statement, not two); the key as PERSONAL_KEY_COLUMN reads it, None once
        destroyed. Many members at once are opened in a process of its own (see OFFLOADED)."""
        return PersonalDataVault.unseal_later(sealed)()

    @staticmethod
    def unseal_later(sealed: Iterable[tuple[str, str | None, str | None]]) -> Callable[[], dict[str, dict | None]]:
        """``unseal_with_keys`` started now and answered when called: a file's next page is read
        while this one is opened in the opening process, and both while the page before is written."""
        rows = [(m, s, k) for m, s, k in sealed if s]
        return _open_elsewhere(rows) if len(rows) >= OFFLOADED else functools.partial(_opened_hex, rows)

    def unseal(self, member_id: str, sealed: str | None) -> dict | None:
        return self.unseal_many([(member_id, sealed)]).get(member_id)


def word_pairs(words: list[str], most: int) -> list[str]:
    """The pairs of distinct words a name (or a query) is indexed by, each in sorted order ("an
    nguyen"), so that a query finds the name whatever the words' order: every pair of up to ``most``
    words, and past that the neighbouring ones."""
    words = list(dict.fromkeys(words))
    if len(words) <= most:
        chosen = [(a, b) for i, a in enumerate(words) for b in words[i + 1 :]]
    else:
        chosen = list(zip(words, words[1:]))
    return [" ".join(sorted(pair)) for pair in chosen]


def id_number_key(id_number: str) -> str:
    """An id number as the index compares it: letters in upper case, nothing around it."""
    return id_number.strip().upper()


# A search's holders are first looked for by walking the index's rows in id order: a first window
# of this many rows tells how dense they are. A common pair of words is held by one member in a
# hundred or more, and a page's few hundred of them are then found in a few hundred pages of the
# table, where the GIN index would fetch a row for each of its thousands of holders, all over it.
HOLDERS_WINDOW = 2_000
# Past this many rows to walk for the holders asked (holders too sparse), the rest is asked of the
# GIN index: a row walked costs about an eighth of a holder fetched through it.
HOLDERS_WALK = 60_000


class Holders(Sequence[str]):
    """The members holding every one of some tokens (PostgreSQL's index), in id order, read as far
    as asked: the first ones by walking the rows in id order while holders are dense, the rest
    through the GIN index. The same members as one statement with the GIN index would give."""

    def __init__(self, transaction: Transaction, tokens: list[int]):
        self._transaction = transaction
        self._tokens = "{" + ",".join(map(str, tokens)) + "}"
        self._known: list[str] = []
        self._walked = 0  # rows walked in id order
        self._walked_to: str | None = None  # every holder up to this id is known
        self._complete = False

    def _read(self, wanted: int | None) -> None:
        """Know at least ``wanted`` holders (every one when None), or all there are."""
        with self._transaction() as cur:
            while not self._complete and (wanted is None or len(self._known) < wanted):
                if wanted is None or not self._walk(cur, wanted):
                    self._rest(cur)

    def _walk(self, cur: Any, wanted: int) -> bool:
        """Walk the next rows in id order (a first window, then as many as the holders' density so
        far asks for ``wanted``); False when that would be too many rows for a walk to pay."""
        rows = HOLDERS_WINDOW
        if self._walked:
            density = len(self._known) / self._walked
            if not density:
                return False
            rows = max(HOLDERS_WINDOW, int((wanted - len(self._known)) / density * 1.25))
            if rows > HOLDERS_WALK:
                return False
        after = "" if self._walked_to is None else " WHERE member_id > ?"
        params: tuple = () if self._walked_to is None else (self._walked_to,)
        found, last, count = cur.execute(
            "SELECT array_agg(member_id ORDER BY member_id) FILTER (WHERE tokens @> ?::bigint[]),"
            f" max(member_id), count(*) FROM (SELECT member_id, tokens FROM member_tokens{after}"
            " ORDER BY member_id LIMIT ?) w",
            (self._tokens, *params, rows),
        ).fetchone()
        self._known += found or []
        self._walked += count
        self._walked_to = last if last is not None else self._walked_to
        self._complete = count < rows
        return True

    def _rest(self, cur: Any) -> None:
        after = "" if self._walked_to is None else " AND member_id > ?"
        params: tuple = () if self._walked_to is None else (self._walked_to,)
        sql = f"SELECT member_id FROM member_tokens WHERE tokens @> ?::bigint[]{after} ORDER BY member_id"
        self._known += [m for (m,) in cur.execute(sql, (self._tokens, *params)).fetchall()]
        self._complete = True

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            if index.stop is None or index.stop < 0 or (index.start or 0) < 0:
                self._read(None)
            else:
                self._read(index.stop)
            return self._known[index]
        self._read(None if index < 0 else index + 1)
        return self._known[index]

    def __len__(self) -> int:
        self._read(None)
        return len(self._known)

    def __bool__(self) -> bool:
        self._read(1)
        return bool(self._known)

    def __iter__(self) -> Iterator[str]:
        self._read(None)
        return iter(self._known)

    def __eq__(self, other: object) -> bool:
        return list(self) == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


def _token_rows(sealing: Sealing, dialect: str) -> list[tuple[str, str]]:
    """The index tokens' rows of ``sealing``: (member id, the tokens as a JSON array on SQLite,
    as PostgreSQL's array text on PostgreSQL)."""
    if sealing.index_rows is None:
        rows = [(m, tokens_text(tokens)) for m, tokens in sealing.tokens.items()]
    else:
        split = (row.decode().split("\t") for row in sealing.index_rows.splitlines())
        rows = [(m, "[" + tokens[1:-1] + "]") for m, tokens in split]
    if dialect == "postgres":  # the JSON array as PostgreSQL's array text
        rows = [(m, "{" + tokens[1:-1] + "}") for m, tokens in rows]
    return rows
