"""GET /ledger/digest and /ledger/export: the chain's head, and the ledger streamed with its chain."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import datetime

from integrity.chain import Entry, genesis, next_link
from tests.conftest import TenantClient
from tests.integration.test_views import build_history


def as_role(app, tenant: TenantClient, role: str) -> TenantClient:
    token = app.extensions["unionledger"].registry.issue_token(tenant.id, role, f"{role}-1")
    return TenantClient(tenant.client, tenant.id, token)


def test_the_digest_of_an_empty_ledger_is_the_genesis(tenant):
    assert tenant.get("/ledger/digest").get_json() == {
        "position": 0,
        "hash": hashlib.sha256(tenant.id.encode()).hexdigest(),
        "recorded_at": None,
    }


def test_the_digest_chains_every_event_in_ledger_order(app, tenant):
    tenant.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"})
    first = tenant.get("/ledger/digest").get_json()
    assert first["position"] == 1
    tenant.post("/units", {"id": "d2", "name": "D2", "kind": "district", "established_on": "2018-01-01"})
    head = tenant.get("/ledger/digest").get_json()
    assert head["position"] == 2 and head["hash"] != first["hash"]
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        notes = store.event_store.recorder.select_notifications(1, 10)
        recorded = store.event_store.mapper.to_domain_event(notes[-1]).timestamp
    link = genesis(tenant.id)
    for n in notes:
        link = next_link(link, Entry(n.id, n.originator_id, n.originator_version, n.topic, n.state))
    assert head["hash"] == link.hex()
    assert datetime.fromisoformat(head["recorded_at"]) == recorded
    # Read again: nothing new, the same head.
    assert tenant.get("/ledger/digest").get_json() == head


def test_every_tenant_role_reads_the_digest(app, tenant):
    tenant.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"})
    for role in ("inspector", "auditor"):
        assert as_role(app, tenant, role).get("/ledger/digest").get_json()["position"] == 1


def test_the_export_streams_the_ledger_with_its_chain(app, tenant):
    build_history(tenant)
    response = tenant.get("/ledger/export")
    assert response.is_streamed and response.mimetype == "application/gzip"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = [json.loads(line) for line in gzip.decompress(response.data).decode().splitlines()]
    header, events = lines[0], lines[1:]
    assert header["format"] == "unionledger-export/1" and header["tenant"] == tenant.id and header["events"] == 15
    assert datetime.fromisoformat(header["exported_at"]).tzinfo is not None
    head = tenant.get("/ledger/digest").get_json()
    assert [e["position"] for e in events] == list(range(1, 16)) and events[-1]["link"] == head["hash"]
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        stored = store.event_store.recorder.select_notifications(1, 100)
    assert [base64.b64decode(e["state"]) for e in events] == [bytes(n.state) for n in stored]
    assert [(e["originator_id"], e["originator_version"], e["topic"]) for e in events] == [
        (str(n.originator_id), n.originator_version, n.topic) for n in stored
    ]

    auditor = as_role(app, tenant, "auditor").get("/ledger/export")
    assert auditor.status_code == 200
    assert [json.loads(x) for x in gzip.decompress(auditor.data).decode().splitlines()][1:] == events


def test_inspectors_may_not_export(app, tenant):
    answer = as_role(app, tenant, "inspector").get("/ledger/export", expect=403)
    assert answer.mimetype == "application/problem+json"


def test_the_export_of_an_empty_ledger_is_its_header(tenant):
    lines = gzip.decompress(tenant.get("/ledger/export").data).decode().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["events"] == 0


def test_another_tenant_sees_neither(client, admin, tenant):
    from tests.conftest import new_tenant

    other = new_tenant(client, admin)
    for path in ("/ledger/digest", "/ledger/export"):
        response = client.get(tenant.url(path), headers=other.headers)
        assert response.status_code == 404
