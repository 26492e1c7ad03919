"""Member cards over HTTP on both stores: the signed statement, its QR code, its verification by
another province (valid, forged, altered, another province's key, a holder no longer active), and
the offline check of its signature."""

from __future__ import annotations

import base64
import json

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.cli import main
from tests.api.test_transfers import propose, province

CARD_KEYS = ("statement", "signature", "key_id")


def carded(client, admin):
    qt = province(client, admin, "quang-tri", "uq")
    bd = province(client, admin, "binh-duong", "ub")
    qt.post("/members", {"id": "hoa", "union_id": "uq", "admitted_on": "2021-03-01", "full_name": "Lê Thị Hoa",
                         "gender": "female", "id_number": "045195000123"})  # fmt: skip
    qt.post("/members/hoa/cards", {"card_no": "QT-0001", "issued_on": "2022-01-10"})
    return qt, bd


def verify(tenant, card: dict, expect: int = 200) -> dict:
    answer = tenant.client.post("/v1/cards/verification", json={k: card[k] for k in CARD_KEYS}, headers=tenant.headers)
    assert answer.status_code == expect, answer.get_json()
    return answer.get_json()


def test_a_card_is_a_signed_statement_without_personal_data(client, admin):
    qt, _bd = carded(client, admin)
    card = qt.get("/members/hoa/card").get_json()
    fields = {"card_no": "QT-0001", "tenant": qt.id, "member_id": "hoa", "union_id": "uq", "issued_on": "2022-01-10"}
    assert {k: card[k] for k in fields} == fields
    assert json.loads(card["statement"]) == fields
    assert "Hoa" not in card["statement"] and "045195000123" not in card["statement"]
    key = qt.get("/ledger/key").get_json()
    assert card["key_id"] == key["key_id"]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(card["signature"]), b"unionledger-card\n" + card["statement"].encode())
    png = qt.get("/members/hoa/card", format="png")
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    qt.post(
        "/members", {"id": "nocard", "union_id": "uq", "admitted_on": "2021-03-01", "full_name": "N", "gender": "male"}
    )
    assert "card" in qt.get("/members/nocard/card", expect=404).get_json()["errors"]
    qt.get("/members/nobody/card", expect=404)


def test_another_province_checks_a_card_and_refuses_forged_ones(client, admin):
    qt, bd = carded(client, admin)
    card = qt.get("/members/hoa/card").get_json()
    assert verify(bd, card) | {"reason": None} == {
        "valid": True, "tenant": qt.id, "member_id": "hoa", "active": True, "reason": None
    }  # fmt: skip
    altered = card | {"statement": card["statement"].replace("QT-0001", "QT-0002")}
    assert verify(bd, altered)["valid"] is False
    # Bình Dương signs a statement naming Quảng Trị with its own key: not Quảng Trị's card
    bd.post("/members", {"id": "x", "union_id": "ub", "admitted_on": "2021-03-01", "full_name": "X", "gender": "male"})
    bd.post("/members/x/cards", {"card_no": "QT-0001", "issued_on": "2022-01-10"})
    theirs = bd.get("/members/x/card").get_json()
    assert verify(bd, card | {"signature": theirs["signature"], "key_id": theirs["key_id"]})["valid"] is False
    assert verify(bd, card | {"signature": base64.b64encode(b"0" * 64).decode()})["valid"] is False
    assert verify(bd, card | {"statement": "not json"})["valid"] is False
    assert "signature" in verify(bd, {"statement": card["statement"], "signature": "", "key_id": "k"}, 422)["errors"]
    # She moves to Bình Dương: her Quảng Trị card is still real, of someone no longer active there
    transfer_id = propose(qt, bd)
    bd.post(f"/transfers/{transfer_id}/acceptance", {"union_id": "ub", "member_id": "bd-hoa"})
    assert verify(bd, card) | {"reason": None} == {
        "valid": True, "tenant": qt.id, "member_id": "hoa", "active": False, "reason": None
    }  # fmt: skip
    # A national token verifies no card (no tenant's)
    national = client.post("/v1/national/tokens", json={"holder": "n", "role": "national"}, headers=admin)
    refused = client.post(
        "/v1/cards/verification",
        json={k: card[k] for k in CARD_KEYS},
        headers={"Authorization": f"Bearer {national.get_json()['token']}"},
    )
    assert refused.status_code == 403


def test_the_signature_is_checked_offline(client, admin, tmp_path):
    qt, bd = carded(client, admin)
    card_file, key_file, other_key = tmp_path / "card.json", tmp_path / "key.json", tmp_path / "other.json"
    card_file.write_text(qt.get("/members/hoa/card").get_data(as_text=True))
    key_file.write_text(qt.get("/ledger/key").get_data(as_text=True))
    other_key.write_text(bd.get("/ledger/key").get_data(as_text=True))
    ok = CliRunner().invoke(main, ["card", "verify", str(card_file), "--key", str(key_file)])
    assert ok.exit_code == 0 and "valid: card QT-0001 of member hoa" in ok.output, ok.output
    wrong = CliRunner().invoke(main, ["card", "verify", str(card_file), "--key", str(other_key)])
    assert wrong.exit_code != 0 and "key" in wrong.output
    data = json.loads(card_file.read_text())
    card_file.write_text(json.dumps(data | {"statement": data["statement"].replace("hoa", "hob")}))
    altered = CliRunner().invoke(main, ["card", "verify", str(card_file), "--key", str(key_file)])
    assert altered.exit_code != 0 and "does not verify" in altered.output


def test_a_member_who_moved_in_gets_a_card_from_the_day_she_arrived(client, admin):
    qt, bd = carded(client, admin)
    bd.post(f"/transfers/{propose(qt, bd)}/acceptance", {"union_id": "ub", "member_id": "bd-hoa"})
    early = bd.post("/members/bd-hoa/cards", {"card_no": "BD-1", "issued_on": "2024-06-30"}, expect=409)
    assert "issued_on" in early.get_json()["errors"]
    bd.post("/members/bd-hoa/cards", {"card_no": "BD-1", "issued_on": "2024-07-01"})
    card = bd.get("/members/bd-hoa/card").get_json()
    assert (card["tenant"], card["card_no"], card["union_id"]) == (bd.id, "BD-1", "ub")
