"""Personal data sealed per member: an import's keys and nonces, drawn a chunk at a time."""

from __future__ import annotations

import base64
import sqlite3
from contextlib import contextmanager

from persistence.vault import (
    KEY_SIZE,
    NONCE_SIZE,
    PAIR,
    PREFIX,
    IndexTokens,
    PersonalDataVault,
    random_blocks,
    seal_new_with,
    seal_with,
    tokens_with,
    word_pairs,
)
from projections.base import ViewCursor


def memory_vault() -> tuple[PersonalDataVault, sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)

    @contextmanager
    def transaction(write: bool = False, snapshot: bool = False):
        cur = conn.cursor()
        cur.execute("BEGIN")
        try:
            yield ViewCursor(cur, "sqlite")
        except BaseException:
            conn.rollback()
            raise
        conn.commit() if write else conn.rollback()

    vault = PersonalDataVault(transaction)
    vault.create()
    return vault, conn


def test_random_blocks_are_as_many_and_as_long_as_asked_and_all_different():
    blocks = random_blocks(1000, NONCE_SIZE)
    assert (len(blocks), {len(b) for b in blocks}, len(set(blocks))) == (1000, {NONCE_SIZE}, 1000)


def test_sealed_in_a_chunk_each_member_has_a_key_and_a_nonce_of_their_own():
    vault, conn = memory_vault()
    people = [(f"dv-{n}", {"full_name": "Nguyễn Văn An", "birth_date": None, "id_number": None}) for n in range(50)]
    sealed, made = vault.seal_new(people)
    with vault.transaction(write=True) as cur:
        vault.keep(cur, made)

    keys = dict(conn.execute("SELECT member_id, key FROM personal_keys").fetchall())
    nonces = {base64.urlsafe_b64decode(s[len(PREFIX) :])[:NONCE_SIZE] for s in sealed}
    assert (len(keys), {len(bytes.fromhex(k)) for k in keys.values()}, len(set(keys.values()))) == (50, {KEY_SIZE}, 50)
    assert len(nonces) == 50  # the same data, sealed fifty times, never alike
    assert len(set(sealed)) == 50
    opened = vault.unseal_many(zip([m for m, _ in people], sealed))
    assert opened == dict(people)


def test_a_sealed_value_opens_only_for_its_own_member():
    vault, conn = memory_vault()
    (first, _), made = vault.seal_new([("dv-1", {"full_name": "A"}), ("dv-2", {"full_name": "B"})])
    with vault.transaction(write=True) as cur:
        vault.keep(cur, made)
    conn.execute(
        "UPDATE personal_keys SET key = (SELECT key FROM personal_keys WHERE member_id = 'dv-1')"
        " WHERE member_id = 'dv-2'"
    )
    assert vault.unseal("dv-1", first) == {"full_name": "A"}
    try:  # dv-1's value under dv-2's name, even with dv-1's key: the member id is bound in
        vault.unseal("dv-2", first)
    except Exception as error:  # noqa: BLE001 - the cipher refuses it
        assert type(error).__name__ == "InvalidTag"
    else:
        raise AssertionError("a value sealed for dv-1 opened for dv-2")


def test_personal_data_is_sealed_as_json_dumps_writes_it():
    import json

    from persistence.vault import plain_json

    for data in (
        {"full_name": 'Nguyễn "Lan"\\ \u2028', "birth_date": "1990-03-04", "id_number": None},
        {"full_name": "", "birth_date": None, "id_number": "045190000123"},
        {"full_name": "A", "extra": 1.5},
    ):
        assert plain_json(data) == json.dumps(data, ensure_ascii=False, sort_keys=True)


def test_a_name_has_a_token_per_word_and_per_pair_of_words_in_sorted_order():
    vault, _conn = memory_vault()
    tokens = vault.tokens({"full_name": "Nguyễn Thị An", "id_number": "0451"})
    assert len(tokens) == 3 + 3 + 1 and len(set(tokens)) == 7
    assert vault.token(PAIR, "an nguyen") in tokens and vault.token(PAIR, "nguyen an") not in tokens
    assert word_pairs(["nguyen", "thi", "an"], 6) == ["nguyen thi", "an nguyen", "an thi"]
    assert word_pairs(list("abcdefg"), 6) == ["a b", "b c", "c d", "d e", "e f", "f g"]  # neighbours only
    assert word_pairs(["an", "an"], 6) == []  # one word twice is one word


def test_tokens_kept_in_memory_are_the_tokens_worked_out_afresh(monkeypatch):
    """A name's tokens come from memory, and from its pieces between spaces: the same as from the whole."""
    from persistence import vault as vault_module

    key = b"k" * KEY_SIZE
    names = [
        "Nguyễn Thị An",
        "  ĐẶNG   văn  Đức ",
        "Lê-Thị\tHoa\u00a0Mai",  # a hyphen, a tab and a no-break space between words
        "Trần a\u0301nh Nguyễn Thị An",  # a combining accent after a space; a word twice
        "Σίσυφος O'Neil 2 b c d e f g h",  # more words than are paired
        "",
        "x" * 70,
    ]
    people = [{"full_name": n, "id_number": f" 04519000{i}x "} for i, n in enumerate(names)]
    people += [{"full_name": n} for n in names] + [None, {}]
    monkeypatch.setattr(vault_module, "NAMES_KEPT", 2)  # past it, names are worked out from their pieces
    kept = IndexTokens(key)
    for _round in range(2):
        assert [kept(p) for p in people] == [tokens_with(key, p) for p in people]
    sealed, sealing = seal_new_with(key, [(f"m{i}", p) for i, p in enumerate(people[:7])])
    assert sealing.tokens == {f"m{i}": tokens_with(key, p) for i, p in enumerate(people[:7])}
    assert len(sealed) == 7


def test_many_members_are_opened_in_a_process_of_their_own_as_they_are_here(monkeypatch):
    from persistence import vault as vault_module

    keys = random_blocks(5, KEY_SIZE)
    people = [{"full_name": f"Trần Văn {n}", "birth_date": "1990-01-0" + str(n + 1)} for n in range(5)]
    rows = [(f"m{n}", seal_with(keys[n], f"m{n}", people[n]), keys[n].hex()) for n in range(5)]
    rows[3] = ("m3", rows[3][1], None)  # erased: its key destroyed
    rows.append(("m5", None, None))  # no personal data
    here = PersonalDataVault.unseal_with_keys(rows)
    monkeypatch.setattr(vault_module, "OFFLOADED", 3)
    elsewhere = PersonalDataVault.unseal_with_keys(rows)
    assert vault_module._opener is not None  # the batch went to the opening process
    assert elsewhere == here == {"m0": people[0], "m1": people[1], "m2": people[2], "m3": None, "m4": people[4]}
