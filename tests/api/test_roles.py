"""Tokens per role, revocation, and erasure of a member's personal data."""

from __future__ import annotations

from tenants.registry import TOKEN_RECHECK_SECONDS, Registry
from tests.conftest import TenantClient
from tests.integration.test_views import VIEW_TABLES, build_history


def issue(tenant: TenantClient, role: str, holder: str) -> TenantClient:
    answer = tenant.post("/tokens", {"role": role, "holder": holder}).get_json()
    assert answer["role"] == role and answer["holder"] == holder
    return TenantClient(tenant.client, tenant.id, answer["token"])


def test_an_auditor_reads_everything_and_writes_nothing(tenant):
    build_history(tenant)
    auditor = issue(tenant, "auditor", "kiem-toan")
    assert auditor.get("/members/m1").get_json()["full_name"] == "Nguyễn Thị A"
    assert auditor.get("/audit").get_json()["entries"]
    auditor.post("/units", {"id": "x", "name": "X", "kind": "other", "established_on": "2020-01-01"}, expect=403)
    auditor.post("/tokens", {"role": "auditor", "holder": "again"}, expect=403)
    reports = tenant.post("/reports", {"unit_id": None, "period": "2024", "figures": {"members_total": 1}})
    auditor.post(f"/reports/{reports.get_json()['id']}/verification", expect=403)
    tenant.get("/units/x", expect=404)


def test_an_inspector_verifies_reports_but_records_nothing_else(tenant):
    build_history(tenant)
    inspector = issue(tenant, "inspector", "uy-ban-kiem-tra")
    report = tenant.post("/reports", {"unit_id": None, "period": "2024", "figures": {"members_total": 1}}).get_json()
    verified = inspector.post(f"/reports/{report['id']}/verification").get_json()
    assert verified["verdict"] == "consistent"
    history = tenant.get(f"/reports/{report['id']}/history").get_json()["events"]
    assert history[-1]["event"] == "ReportVerified" and history[-1]["actor"] == "uy-ban-kiem-tra"
    inspector.post("/members/m2/departure", {"left_on": "2024-01-01", "reason": "other"}, expect=403)


def test_a_revoked_token_gets_401_and_the_list_shows_no_secret(tenant):
    auditor = issue(tenant, "auditor", "short-term")
    tokens = tenant.get("/tokens").get_json()["tokens"]
    assert [t["role"] for t in tokens] == ["federation_admin", "auditor"]
    assert all("token" not in t for t in tokens)
    token_id = tokens[1]["id"]
    revoked = tenant.post(f"/tokens/{token_id}/revocation").get_json()
    assert revoked["revoked_at"] is not None
    auditor.get("/audit", expect=401)
    tenant.post("/tokens/nope/revocation", expect=404)


def test_a_token_revoked_by_another_worker_is_refused_within_the_recheck_time(app, tenant, monkeypatch):
    """Each process trusts a token it checked for TOKEN_RECHECK_SECONDS; a revocation made by
    another process (here a second registry on the same control store) reaches it after that."""
    auditor = issue(tenant, "auditor", "short-term")
    registry = app.extensions["unionledger"].registry
    auditor.get("/audit")
    other = Registry(registry.settings)
    try:
        token_id = other.tokens(tenant.id)[1]["id"]
        assert other.revoke_token(tenant.id, token_id)["revoked_at"] is not None
        assert other.authenticate(auditor.token) is None  # the revoking process: at once
    finally:
        other.close()
    checked = registry.clock()
    auditor.get("/audit")  # this process checked it less than TOKEN_RECHECK_SECONDS ago
    monkeypatch.setattr(registry, "clock", lambda: checked + TOKEN_RECHECK_SECONDS)
    auditor.get("/audit", expect=401)
    tenant.get("/audit")  # a valid token still passes, looked up again


def test_erasure_hides_personal_data_everywhere_and_changes_no_figure(app, tenant):
    build_history(tenant)
    before = {p: tenant.figures(p, as_of=a) for p, a in (("2019", "2019-12-31"), ("2023", "2023-12-31"))}
    erased = tenant.post("/members/m1/erasure", {"reason": "the member asked, 12/2026"}).get_json()
    assert erased["personal_data_erased"] is True
    assert (erased["full_name"], erased["birth_date"], erased["id_number"]) == (None, None, None)
    assert erased["status"] == "left" and erased["admitted_on"] == "2019-03-01"
    assert {p: tenant.figures(p, as_of=a) for p, a in (("2019", "2019-12-31"), ("2023", "2023-12-31"))} == before
    admitted = tenant.get("/members/m1/history").get_json()["events"][0]["data"]
    assert admitted["full_name"] is None and admitted["personal_data_erased"] is True
    audit = tenant.get("/audit", entity_id="m1").get_json()["entries"]
    assert [e["event"] for e in audit] == ["MemberAdmitted", "MemberLeft", "MemberDataErased"]
    assert "Nguyễn Thị A" not in str(audit)
    assert tenant.get("/members/m2").get_json()["full_name"] == "Trần Văn B"
    tenant.post("/members/m1/erasure", {"reason": "again"}, expect=409)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.rebuild()
        assert len(store.views.dump(VIEW_TABLES)["member_state"]) == 2
    assert tenant.get("/members/m1").get_json()["full_name"] is None
    assert tenant.figures("2023", as_of="2023-12-31") == before["2023"]


def test_after_erasure_the_chain_verifies_and_the_export_replays_the_same_figures(app, tenant, tmp_path):
    from integrity.chain import Digest
    from integrity.offline import audit

    build_history(tenant)
    digest = tenant.get("/ledger/digest").get_json()
    tenant.post("/members/m1/erasure", {"reason": "the member asked"})
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        verified = store.chain.verify(Digest.parse(f"{digest['hash']}@{digest['position']}"))
        assert verified.events == verified.chained == digest["position"] + 1
    export = tmp_path / "ledger.jsonl.gz"
    export.write_bytes(tenant.get("/ledger/export").data)
    assert b"Nguy" not in __import__("gzip").decompress(export.read_bytes())
    head = tenant.get("/ledger/digest").get_json()
    _verified, answer = audit(str(export), Digest.parse(f"{head['hash']}@{head['position']}"), period="2023")
    assert answer["figures"] == tenant.figures("2023")
