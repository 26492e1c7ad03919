"""Each endpoint declares the action it performs; the access policy decides, before the body is read."""

from __future__ import annotations

import pytest

from application.policy import ROLES, Action, may
from service import access
from service.app import create_app
from tenants.bootstrap import bootstrap
from tenants.registry import Principal
from tests.conftest import TenantClient, new_tenant


def test_every_call_under_v1_declares_its_action(app):
    declared = {
        rule.endpoint: app.view_functions[rule.endpoint].action
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
    }
    assert len(declared) > 30 and access.undeclared(app) == []
    allowed = {
        endpoint: {role for role in ("platform_admin", *ROLES) if may(role, action)}
        for endpoint, action in declared.items()
    }
    assert allowed["tenants.create"] == {"platform_admin"}
    assert allowed["units.establish"] == {"federation_admin", "officer"}
    assert allowed["members.admit"] == {"federation_admin", "officer", "clerk"}
    assert allowed["members.list_members"] == set(ROLES) - {"viewer"}
    assert allowed["members.erase"] == {"federation_admin"}
    assert allowed["reports.verify"] == {"federation_admin", "inspector"}
    assert allowed["ledger.export"] == {"federation_admin", "auditor"}
    assert allowed["tokens.issue"] == {"federation_admin"}
    assert allowed["members.member_item"] == set(ROLES)
    assert declared["imports.import_file"] == Action.IMPORT


def test_an_endpoint_that_declares_no_roles_stops_the_start(settings, monkeypatch):
    from service.resources import units

    monkeypatch.delattr(units.establish, "action")
    platform = bootstrap(settings)
    try:
        with pytest.raises(RuntimeError, match="units.establish"):
            create_app(settings, platform)
    finally:
        platform.close()


@pytest.mark.parametrize(
    "role, endpoint, allowed",
    [
        ("federation_admin", "units.establish", True),
        ("inspector", "units.establish", False),
        ("auditor", "units.establish", False),
        ("platform_admin", "units.establish", False),
        ("inspector", "reports.verify", True),
        ("auditor", "reports.verify", False),
        ("auditor", "ledger.export", True),
        ("inspector", "ledger.export", False),
        ("platform_admin", "tenants.create", True),
        ("federation_admin", "tenants.create", False),
        ("inspector", "audit.audit", True),
        ("inspector", "no.such_endpoint", False),
    ],
)
def test_may_call_decides_by_the_declared_action(app, role, endpoint, allowed):
    with app.app_context():
        assert access.may_call(Principal(actor="someone", role=role, tenant_id="t"), endpoint) is allowed


# ---- the role is refused before the body is read -------------------------------------------------

BODIES = {
    "not JSON": b"{not json",
    "not an object": b"[1, 2]",
    "an invalid field": b'{"id": "", "kind": "nothing"}',
    "no body": b"",
}


def post_units(tenant: TenantClient, token: str, body: bytes):
    return tenant.client.post(
        tenant.url("/units"), data=body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize("case", BODIES)
@pytest.mark.parametrize("role", ["inspector", "auditor"])
def test_a_read_only_role_posting_any_body_is_403(tenant, role, case):
    token = tenant.post("/tokens", {"role": role, "holder": "read-only"}).get_json()["token"]
    response = post_units(tenant, token, BODIES[case])
    assert (response.status_code, response.get_json()["status"]) == (403, 403), response.get_json()


@pytest.mark.parametrize("case", BODIES)
def test_another_tenants_token_posting_any_body_is_404(client, admin, tenant, case):
    neighbour = new_tenant(client, admin)
    response = post_units(tenant, neighbour.token, BODIES[case])
    assert (response.status_code, response.get_json()["status"]) == (404, 404), response.get_json()


@pytest.mark.parametrize("case", BODIES)
def test_a_tenant_token_posting_any_body_to_the_platform_is_403(client, tenant, case):
    response = client.post("/v1/tenants", data=BODIES[case], content_type="application/json", headers=tenant.headers)
    assert response.status_code == 403, response.get_json()


@pytest.mark.parametrize(
    "case, status", [("not JSON", 400), ("not an object", 400), ("an invalid field", 422), ("no body", 400)]
)
def test_a_role_that_may_call_gets_the_body_refused(tenant, case, status):
    assert post_units(tenant, tenant.token, BODIES[case]).status_code == status
