"""The Merkle tree's checkpoints and proofs, checked by a verifier written here from RFC 9162's
text (sections 2.1.1 to 2.1.4), not by the code that makes them; and tampering in the database
shows as a checkpoint no consistency proof joins to an earlier one."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.commands import EstablishUnit
from integrity import merkle
from tests.conftest import new_tenant, recorded_without_views
from tests.integration.test_chain import Tampering
from tests.integration.test_views import build_history


# ---- RFC 9162, as its text defines it ---------------------------------------------------------------------
def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaves: list[bytes]) -> bytes:
    """2.1.1: MTH({}) = SHA-256(); MTH({d0}) = H(0x00 || d0); else split at the largest power of two below n."""
    n = len(leaves)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return H(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def rfc_verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = H(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            r = H(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    """2.1.4.2, step by step (first < second; equal sizes have an empty proof and equal roots)."""
    if first == second:
        return path == [] and first_hash == second_hash
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = H(b"\x01" + c + fr)
            sr = H(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            sr = H(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


def rfc_signed(checkpoint: dict, key: dict) -> bool:
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    message = f"unionledger-checkpoint\n{checkpoint['tenant']}\n{checkpoint['size']}\n{checkpoint['root']}\n"
    try:
        public.verify(base64.b64decode(checkpoint["signature"]), message.encode())
    except Exception:  # noqa: BLE001 - any failure is a bad signature
        return False
    return True


# ---- the proofs the code makes, from stored complete subtrees -------------------------------------------
class MemoryNodes:
    """Every complete subtree of ``leaves``, as a tenant's store keeps them, counting the reads."""

    def __init__(self, leaves: list[bytes]):
        self.stack: list[tuple[int, bytes]] = []
        self.rows = {p + 1: merkle.append(self.stack, H(b"\x00" + d)) for p, d in enumerate(leaves)}
        self.reads = 0

    def __call__(self, keys):
        self.reads += 1
        return {(lv, i): self.rows[(i + 1) << lv][lv * 32 : (lv + 1) * 32] for lv, i in keys}


LEAVES = [f"event {i}".encode() for i in range(300)]
NODES = MemoryNodes(LEAVES)
ROOTS = {n: mth(LEAVES[:n]) for n in range(1, 301)}


@pytest.mark.parametrize("size", range(1, 301))
def test_every_size_has_the_rfc_root_and_inclusion_paths(size):
    keys = merkle.frontier(size)
    assert merkle.root_of(keys, NODES(keys)) == ROOTS[size]
    for index in {0, size // 3, size // 2, size - 1}:
        path = merkle.inclusion_proof(index, size, NODES)
        assert rfc_verify_inclusion(index, size, H(b"\x00" + LEAVES[index]), path, ROOTS[size])
        assert not rfc_verify_inclusion(index, size, H(b"\x00" + b"forged"), path, ROOTS[size])
        assert len(path) <= size.bit_length()
    for old in {1, size // 2 or 1, size - 1 or 1, size}:
        proof = merkle.consistency_proof(old, size, NODES)
        assert rfc_verify_consistency(old, size, ROOTS[old], ROOTS[size], proof)
        merkle.verify_consistency(old, size, ROOTS[old], ROOTS[size], proof)  # the offline check agrees


def test_random_pairs_and_one_read_per_proof():
    rng = random.Random(9162)
    for _ in range(2000):
        new = rng.randint(1, 300)
        old = rng.randint(1, new)
        before = NODES.reads
        proof = merkle.consistency_proof(old, new, NODES)
        assert NODES.reads - before <= 1  # every stored hash a proof needs, in one read
        assert rfc_verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)
        if old < new:
            forged = mth([*LEAVES[: old - 1], b"changed"])
            assert not rfc_verify_consistency(old, new, forged, ROOTS[new], proof)
            with pytest.raises(merkle.ProofFailed):
                merkle.verify_consistency(old, new, forged, ROOTS[new], proof)
        index = rng.randrange(new)
        path = merkle.inclusion_proof(index, new, NODES)
        assert rfc_verify_inclusion(index, new, H(b"\x00" + LEAVES[index]), path, ROOTS[new])
        merkle.verify_inclusion(index, new, H(b"\x00" + LEAVES[index]), path, ROOTS[new])


# ---- a tenant's store, over HTTP, on SQLite and PostgreSQL ---------------------------------------------
def leaves_of(tenant) -> list[bytes]:
    """Each position's canonical bytes, worked out from the export (as integrity.chain documents them)."""
    raw = tenant.client.get(tenant.url("/ledger/export"), headers=tenant.headers).data
    lines = [json.loads(line) for line in gzip.GzipFile(fileobj=io.BytesIO(raw)).read().splitlines()]
    out = []
    for e in lines[1:]:
        if e.get("void"):
            out.append(b"")
            continue
        fields = [e["originator_id"].encode(), e["topic"].encode(), base64.b64decode(e["state"])]
        out.append(
            e["position"].to_bytes(8, "big")
            + e["originator_version"].to_bytes(8, "big")
            + b"".join(len(f).to_bytes(4, "big") + f for f in fields)
        )
    return out


def test_checkpoints_and_proofs_over_http(app, tenant):
    build_history(tenant)
    first = tenant.get("/ledger/checkpoint").get_json()
    key = tenant.get("/ledger/key").get_json()
    leaves = leaves_of(tenant)
    assert first["size"] == len(leaves) == 15 and first["tenant"] == tenant.id
    assert first["root"] == mth(leaves).hex() and first["key_id"] == key["key_id"]
    assert rfc_signed(first, key) and len(base64.b64decode(key["public_key"])) == 32
    tenant.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    tenant.post("/members/m2/departure", {"left_on": "2024-02-01", "reason": "changed_job"})
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        assert store.chain.tree.current() == 17  # the commands grew the tree as they recorded
    later = tenant.get("/ledger/checkpoint").get_json()
    leaves = leaves_of(tenant)
    assert later["size"] == 17 and later["root"] == mth(leaves).hex() and rfc_signed(later, key)
    for old in range(1, 18):
        answer = tenant.get("/ledger/consistency", **{"from": old, "to": 17}).get_json()
        assert answer["from"] == old and answer["to"] == 17
        proof = [bytes.fromhex(p) for p in answer["proof"]]
        assert rfc_verify_consistency(old, 17, mth(leaves[:old]), bytes.fromhex(later["root"]), proof)
    for position in range(1, 18):
        answer = tenant.get("/ledger/inclusion", position=position, size=17).get_json()
        assert answer["leaf_hash"] == H(b"\x00" + leaves[position - 1]).hex()
        path = [bytes.fromhex(p) for p in answer["proof"]]
        assert rfc_verify_inclusion(position - 1, 17, bytes.fromhex(answer["leaf_hash"]), path, mth(leaves))
    assert tenant.get("/ledger/key").get_json() == key  # one key, kept


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from": 0, "to": 3}, "from"),
        ({"from": 4, "to": 3}, "from"),
        ({"from": 1, "to": 99}, "to"),
        ({"from": "x", "to": 3}, "from"),
        ({"to": 3}, "from"),
    ],
)
def test_a_bad_consistency_query_is_422_naming_the_field(tenant, query, field):
    build_history(tenant)
    answer = tenant.get("/ledger/consistency", expect=422, **query).get_json()
    assert field in answer["errors"], answer


@pytest.mark.parametrize(
    "query, field",
    [
        ({"position": 0, "size": 3}, "position"),
        ({"position": 4, "size": 3}, "position"),
        ({"position": 1, "size": 0}, "size"),
        ({"position": 1, "size": 99}, "size"),
        ({"position": 1}, "size"),
    ],
)
def test_a_bad_inclusion_query_is_422_naming_the_field(tenant, query, field):
    build_history(tenant)
    answer = tenant.get("/ledger/inclusion", expect=422, **query).get_json()
    assert field in answer["errors"], answer


def test_a_tenant_key_is_its_own(client, admin, tenant):
    other = new_tenant(client, admin, "other-province")
    assert tenant.get("/ledger/key").get_json() != other.get("/ledger/key").get_json()


@pytest.mark.parametrize(
    "tamper",
    [lambda t: t.change_actor(6), lambda t: t.delete(9), lambda t: t.swap(4, 11)],
    ids=["changed", "deleted", "swapped"],
)
def test_a_row_changed_in_the_database_breaks_consistency_with_an_earlier_checkpoint(app, tenant, settings, tamper):
    build_history(tenant)
    old = tenant.get("/ledger/checkpoint").get_json()
    before = tenant.get("/ledger/inclusion", position=9, size=15).get_json()
    tamper(Tampering(settings, tenant.id))
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.rebuild(tree=True)  # the tree made again from the ledger, as `unionledger rebuild --tree` does
    tenant.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    new = tenant.get("/ledger/checkpoint").get_json()
    assert new["size"] == 16
    proof = [bytes.fromhex(p) for p in tenant.get("/ledger/consistency", **{"from": 15, "to": 16}).get_json()["proof"]]
    assert not rfc_verify_consistency(15, 16, bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof)
    with pytest.raises(merkle.ProofFailed, match="rewritten before the old size"):
        merkle.verify_consistency(15, 16, bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof)
    assert tenant.get("/ledger/inclusion", position=9, size=15).get_json()["proof"] != before["proof"] or (
        tenant.get("/ledger/inclusion", position=9, size=15).get_json()["leaf_hash"] != before["leaf_hash"]
    )


def test_an_event_changed_without_a_rebuild_fails_its_inclusion_proof(tenant, settings):
    build_history(tenant)
    checkpoint = tenant.get("/ledger/checkpoint").get_json()
    Tampering(settings, tenant.id).change_actor(6)
    answer = tenant.get("/ledger/inclusion", position=6, size=15).get_json()
    path = [bytes.fromhex(p) for p in answer["proof"]]
    assert not rfc_verify_inclusion(5, 15, bytes.fromhex(answer["leaf_hash"]), path, bytes.fromhex(checkpoint["root"]))
    answer = tenant.get("/ledger/inclusion", position=7, size=15).get_json()
    path = [bytes.fromhex(p) for p in answer["proof"]]
    assert rfc_verify_inclusion(6, 15, bytes.fromhex(answer["leaf_hash"]), path, bytes.fromhex(checkpoint["root"]))


def test_a_store_chained_before_the_tree_gets_it_on_first_checkpoint(app, tenant):
    build_history(tenant)
    leaves = leaves_of(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store, store.transaction(write=True) as cur:
        cur.execute("DELETE FROM ledger_tree")  # as a store made before the tree was kept
    assert tenant.get("/ledger/checkpoint").get_json()["root"] == mth(leaves).hex()
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        recorded_without_views(
            store,
            EstablishUnit(id="d9", name="d9", kind="district", established_on=date(2019, 1, 1), actor="x"),
        )
    assert tenant.get("/ledger/checkpoint").get_json()["size"] == 16


# ---- offline: `unionledger audit consistency | inclusion`, and the export's checkpoint -----------------------
@pytest.fixture
def run(settings):
    """``unionledger`` on the test's stores, as test_chain runs it."""
    import click
    from click.testing import CliRunner

    from service.cli import rebuild
    from service.cli_ledger import audit, export, ledger, witness
    from tests.conftest import ADMIN_TOKEN

    commands = {"ledger": ledger, "export": export, "audit": audit, "witness": witness, "rebuild": rebuild}
    cli = click.Group("unionledger", commands=commands)
    env = {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
    }
    return lambda *args: CliRunner().invoke(cli, list(args), env=env)


def saved(path, data) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_an_auditor_checks_offline_that_today_extends_last_month(tenant, run, settings, tmp_path):
    build_history(tenant)
    old = saved(tmp_path / "old.json", tenant.get("/ledger/checkpoint").get_json())
    key = saved(tmp_path / "key.json", tenant.get("/ledger/key").get_json())
    tenant.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    new_head = tenant.get("/ledger/checkpoint").get_json()
    new = saved(tmp_path / "new.json", new_head)
    proof = saved(tmp_path / "p.json", tenant.get("/ledger/consistency", **{"from": 15, "to": 16}).get_json())
    result = run("audit", "consistency", old, new, "--proof", proof, "--key", key)
    assert result.exit_code == 0, result.output
    assert "Consistent: the checkpoint of 16 events" in result.output and "of 15 events" in result.output
    # the key given as its base64 text works as well; another tenant's key does not
    result = run(
        "audit",
        "consistency",
        old,
        new,
        "--proof",
        proof,
        "--key",
        json.loads((tmp_path / "key.json").read_text())["public_key"],
    )
    assert result.exit_code == 0, result.output
    other = saved(tmp_path / "other.json", {"public_key": base64.b64encode(bytes(32)).decode()})
    result = run("audit", "consistency", old, new, "--proof", proof, "--key", other)
    assert result.exit_code == 1 and "not the key given" in result.output

    inclusion = saved(tmp_path / "i.json", tenant.get("/ledger/inclusion", position=7, size=16).get_json())
    result = run("audit", "inclusion", new, "--proof", inclusion, "--key", key)
    assert result.exit_code == 0 and "Included: the event at position 7" in result.output, result.output
    export = tmp_path / "ledger.jsonl.gz"
    export.write_bytes(tenant.client.get(tenant.url("/ledger/export"), headers=tenant.headers).data)
    result = run("audit", "inclusion", new, "--proof", inclusion, "--key", key, "--export", str(export))
    assert result.exit_code == 0 and "Included: the event at position 7" in result.output, result.output
    lines = gzip.decompress(export.read_bytes()).decode().splitlines()
    event = json.loads(lines[7])
    event["state"] = base64.b64encode(base64.b64decode(event["state"]) + b" ").decode()  # one byte more
    forged = tmp_path / "forged.jsonl.gz"
    forged.write_bytes(gzip.compress(("\n".join([*lines[:7], json.dumps(event), *lines[8:]]) + "\n").encode()))
    result = run("audit", "inclusion", new, "--proof", inclusion, "--key", key, "--export", str(forged))
    assert result.exit_code == 1 and "NOT INCLUDED: the event at position 7" in result.output, result.output

    # Today's ledger rewritten under last month's checkpoint: the auditor is told which one fails.
    Tampering(settings, tenant.id).change_actor(6)
    with tenant.client.application.extensions["unionledger"].stores.use(tenant.id) as store:
        store.rebuild(tree=True)
    tenant.post("/units", {"id": "d4", "name": "District 4", "kind": "district", "established_on": "2019-01-01"})
    newer = saved(tmp_path / "newer.json", tenant.get("/ledger/checkpoint").get_json())
    proof = saved(tmp_path / "p2.json", tenant.get("/ledger/consistency", **{"from": 15, "to": 17}).get_json())
    result = run("audit", "consistency", old, newer, "--proof", proof, "--key", key)
    assert result.exit_code == 1
    assert "INCONSISTENT: the checkpoint of 17 events" in result.output and "of 15 events" in result.output
    # a proof for other sizes is named as such
    result = run("audit", "consistency", old, new, "--proof", proof, "--key", key)
    assert result.exit_code == 1 and "ask ?from=15&to=16" in result.output


def test_the_export_carries_its_checkpoint_and_the_replay_checks_the_root(tenant, run, tmp_path):
    build_history(tenant)
    out = tmp_path / "ledger.jsonl.gz"
    assert run("export", "--tenant", tenant.id, "--out", str(out)).exit_code == 0
    head = tenant.get("/ledger/checkpoint").get_json()
    key = saved(tmp_path / "key.json", tenant.get("/ledger/key").get_json())
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    header = json.loads(lines[0])
    assert {k: header["checkpoint"][k] for k in ("size", "root", "signature")} == {
        k: head[k] for k in ("size", "root", "signature")
    }
    digest = f"{tenant.get('/ledger/digest').get_json()['hash']}@15"
    result = run("audit", str(out), "--digest", digest, "--period", "2025", "--key", key)
    assert result.exit_code == 0, result.output
    assert "The checkpoint it carries is signed and is the root of its events." in result.output

    # The root signed no longer matches the file's events (and their links rewritten to match)
    header["checkpoint"]["root"] = "0" * 64
    forged = tmp_path / "forged.jsonl.gz"
    with gzip.open(forged, "wt") as stream:
        stream.write("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    result = run("audit", str(forged), "--digest", digest, "--period", "2025")
    assert result.exit_code == 1 and "fails the checkpoint check" in result.output and "signature" in result.output


# ---- the national level as witness ---------------------------------------------------------------------------
def test_the_witness_cosigns_what_extends_and_raises_a_lasting_alarm(app, client, admin, settings, run):
    from tests.api.test_national import Nation, national_token

    a, b = new_tenant(client, admin, "tinh-a"), new_tenant(client, admin, "tinh-b")
    build_history(a)
    b.post("/units", {"id": "d1", "name": "District 1", "kind": "district", "established_on": "2019-01-01"})
    nation = Nation(client, national_token(client, admin))

    first = {t["tenant_id"]: t for t in nation.get("/witness").get_json()["tenants"]}
    head_a = a.get("/ledger/checkpoint").get_json()
    assert first["tinh-a"]["size"] == 15 and first["tinh-a"]["root"] == head_a["root"]
    assert first["tinh-a"]["consistent"] is True and first["tinh-a"]["alarms"] == []
    assert first["tinh-b"]["size"] == 1 and first["tinh-b"]["consistent"] is True

    # A's ledger grows honestly: the new head is proved to extend the old, and cosigned.
    a.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    second = {t["tenant_id"]: t for t in nation.get("/witness").get_json()["tenants"]}
    assert second["tinh-a"]["size"] == 16 and second["tinh-a"]["consistent"] is True
    with app.extensions["unionledger"].national() as national:
        public = merkle.public_of(national.chain.tree.signing_key()[1])
    assert nation.get("/witness").get_json()["key"]["public_key"] == base64.b64encode(public).decode()
    head = a.get("/ledger/checkpoint").get_json()
    Ed25519PublicKey.from_public_bytes(public).verify(
        base64.b64decode(second["tinh-a"]["cosignature"]),
        f"unionledger-witness\nunionledger-checkpoint\ntinh-a\n16\n{head['root']}\n".encode(),
    )

    # Someone with database access changes position 6 of A and rebuilds: the next head fails.
    Tampering(settings, "tinh-a").change_actor(6)
    with app.extensions["unionledger"].stores.use("tinh-a") as store:
        store.rebuild(tree=True)
    a.post("/units", {"id": "d4", "name": "District 4", "kind": "district", "established_on": "2019-01-01"})
    bad = a.get("/ledger/checkpoint").get_json()
    third = {t["tenant_id"]: t for t in nation.get("/witness").get_json()["tenants"]}
    assert third["tinh-a"]["consistent"] is False
    assert third["tinh-a"]["size"] == 16 and third["tinh-a"]["root"] == head["root"]  # the last head that held
    (alarm,) = third["tinh-a"]["alarms"]
    assert (alarm["size"], alarm["root"], alarm["against_size"], alarm["against_root"]) == (
        17,
        bad["root"],
        16,
        head["root"],
    )
    assert "does not extend the old one" in alarm["reason"]
    assert third["tinh-b"]["consistent"] is True  # B is not touched

    # The alarm never disappears, even as A's ledger goes on.
    a.post("/units", {"id": "d5", "name": "District 5", "kind": "district", "established_on": "2019-01-01"})
    fourth = {t["tenant_id"]: t for t in nation.get("/witness").get_json()["tenants"]}
    assert fourth["tinh-a"]["consistent"] is False and fourth["tinh-a"]["alarms"][0] == alarm
    assert len(fourth["tinh-a"]["alarms"]) == 2  # the next head fails against the last good one too
    # the command line runs the same round, and says so
    result = run("witness")
    assert result.exit_code == 1 and "inconsistent" in result.output
    assert json.loads(result.stdout[: result.stdout.rindex("}") + 1])["tenants"][0]["alarms"][0] == alarm
    # a tenant's token may not ask it
    assert a.client.get("/v1/national/witness", headers=a.headers).status_code == 403


def test_ledger_verify_checks_the_stored_tree_too(app, tenant, run):
    build_history(tenant)
    assert run("ledger", "verify", "--tenant", tenant.id).exit_code == 0
    with app.extensions["unionledger"].stores.use(tenant.id) as store, store.transaction(write=True) as cur:
        nodes = bytes(cur.scalar("SELECT nodes FROM ledger_tree WHERE position = 8"))  # leaf 8, and 3 nodes above
        cur.execute("UPDATE ledger_tree SET nodes = ? WHERE position = 8", (nodes[:32] + bytes(32) + nodes[64:],))
    result = run("ledger", "verify", "--tenant", tenant.id)
    assert result.exit_code == 1 and "at position 8: the Merkle tree's nodes" in result.output
    with app.extensions["unionledger"].stores.use(tenant.id) as store, store.transaction(write=True) as cur:
        cur.execute("UPDATE ledger_tree SET nodes = ? WHERE position = 8", (bytes(32) + nodes[32:],))
    result = run("ledger", "verify", "--tenant", tenant.id)
    assert result.exit_code == 1 and "at position 8: the Merkle tree's leaf" in result.output
    # A rebuild of the views leaves the tree as recorded: the changed row is still reported.
    assert run("rebuild", "--tenant", tenant.id).exit_code == 0
    result = run("ledger", "verify", "--tenant", tenant.id)
    assert result.exit_code == 1 and "at position 8: the Merkle tree's leaf" in result.output
    result = run("rebuild", "--tenant", tenant.id, "--tree")
    assert result.exit_code == 0 and "the Merkle tree" in result.output, result.output
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.rebuild(tree=True)  # and again: a rebuild leaves nothing in the next one's way
    assert run("ledger", "verify", "--tenant", tenant.id).exit_code == 0
    assert tenant.get("/ledger/checkpoint").get_json()["root"] == mth(leaves_of(tenant)).hex()


def test_a_tree_that_lost_a_row_stops_no_command_and_a_rebuild_mends_it(app, tenant, run):
    build_history(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store, store.transaction(write=True) as cur:
        cur.execute("DELETE FROM ledger_tree WHERE position = 8")  # a row of the right edge of 15
    tenant.post("/units", {"id": "d3", "name": "District 3", "kind": "district", "established_on": "2019-01-01"})
    answer = tenant.get("/ledger/checkpoint", expect=409).get_json()
    assert answer["rule"] == "ledger_tree_incomplete"
    result = run("ledger", "verify", "--tenant", tenant.id)
    assert result.exit_code == 1 and "at position 8: the Merkle tree's leaf" in result.output
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.rebuild()
    head = tenant.get("/ledger/checkpoint").get_json()
    assert head["size"] == 16 and head["root"] == mth(leaves_of(tenant)).hex()
