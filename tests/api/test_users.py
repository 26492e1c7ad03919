"""Users of a tenant: added by its federation_admin with a role, a scope and a password (only a hash
is kept), listed, deactivated, and each changing its own password; and the access log of it all."""

from __future__ import annotations

import json
import logging

import pytest
from argon2 import Type

from tenants import passwords
from tests.conftest import TenantClient

PASSWORD = "correct horse battery"
CLERK = {"username": "lan", "full_name": "Trần Thị Lan", "role": "clerk", "scope_unit_id": "u-a", "password": PASSWORD}


def add_user(tenant: TenantClient, expect: int = 201, **user):
    return tenant.post("/users", {**CLERK, **user}, expect=expect)


def log_in(tenant: TenantClient, username: str = "lan", password: str = PASSWORD, expect: int | None = 201, **kw):
    response = tenant.client.post(
        "/v1/sessions", json={"tenant": tenant.id, "username": username, "password": password}, **kw
    )
    if expect is not None:
        assert response.status_code == expect, response.get_json()
    return response


def session(tenant: TenantClient, username: str = "lan", password: str = PASSWORD) -> TenantClient:
    """The tenant as the user sees it, through a session's bearer token."""
    return TenantClient(tenant.client, tenant.id, log_in(tenant, username, password).get_json()["token"])


def entries(tenant: TenantClient, **params) -> list[dict]:
    return tenant.get("/access-log", **params).get_json()["entries"]


def test_a_user_is_added_without_its_password_and_listed(units):
    added = add_user(units).get_json()
    assert added == {
        "username": "lan",
        "full_name": "Trần Thị Lan",
        "role": "clerk",
        "scope_unit_id": "u-a",
        "created_at": added["created_at"],
        "password_changed_at": added["created_at"],
        "deactivated_at": None,
        "active": True,
    }
    add_user(units, username="an", full_name="Lê An", role="auditor", scope_unit_id=None)
    listed = units.get("/users").get_json()["users"]
    assert [(u["username"], u["role"], u["scope_unit_id"]) for u in listed] == [
        ("an", "auditor", None),
        ("lan", "clerk", "u-a"),
    ]
    assert PASSWORD not in json.dumps(listed) and "password_hash" not in json.dumps(listed)


def test_only_an_argon2id_hash_of_the_password_is_kept(app, units):
    add_user(units)
    with app.extensions["unionledger"].registry.transaction(write=False) as cur:
        (stored,) = cur.execute("SELECT password_hash FROM users WHERE username = 'lan'").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert passwords.verify_password(stored, PASSWORD) and not passwords.verify_password(stored, PASSWORD + "!")
    # the service's own parameters (the tests hash with lighter ones, tests/api/conftest.py)
    assert passwords.PARAMETERS.type is Type.ID and passwords.PARAMETERS.memory_cost >= 64 * 1024
    assert passwords.PARAMETERS.time_cost >= 3


@pytest.mark.parametrize(
    "change, field",
    [
        ({"password": "nine-char"}, "password"),
        ({"role": "national"}, "role"),
        ({"role": "platform_admin"}, "role"),
        ({"role": "federation_admin"}, "scope_unit_id"),  # it keeps u-a: a federation_admin sees the whole tenant
        ({"role": "auditor"}, "scope_unit_id"),
        ({"username": "Lan Anh"}, "username"),
    ],
)
def test_a_field_that_fails_is_422_naming_it_and_adds_no_one(units, change, field):
    refused = add_user(units, expect=422, **change).get_json()
    assert list(refused["errors"]) == [field], refused
    assert units.get("/users").get_json()["users"] == []


def test_a_password_of_ten_characters_will_do(units):
    add_user(units, password="ten-chars!")
    log_in(units, password="ten-chars!")


def test_an_unknown_scope_unit_is_422_naming_it(units):
    refused = add_user(units, expect=422, scope_unit_id="u-nowhere").get_json()
    assert refused["errors"] == {"scope_unit_id": ["unit 'u-nowhere' does not exist"]}


def test_a_username_taken_is_409_and_the_first_user_keeps_its_password(units):
    add_user(units)
    refused = add_user(units, expect=409, role="viewer", password="another password").get_json()
    assert refused["errors"] == {"username": ["user 'lan' exists"]}
    log_in(units)
    log_in(units, password="another password", expect=401)
    assert units.get("/users").get_json()["users"][0]["role"] == "clerk"


def test_only_a_federation_admin_manages_users(units):
    add_user(units)
    clerk = session(units)
    clerk.post("/users", {**CLERK, "username": "x"}, expect=403)
    clerk.get("/users", expect=403)
    clerk.post("/users/lan/deactivation", expect=403)
    assert len(units.get("/users").get_json()["users"]) == 1


def test_a_deactivated_user_cannot_log_in_and_its_sessions_end(app, units):
    add_user(units)
    first, second = session(units), session(units)
    first.get("/units/u-a")
    deactivated = units.post("/users/lan/deactivation").get_json()
    assert (deactivated["active"], deactivated["deactivated_at"] is not None) == (False, True)
    first.get("/units/u-a", expect=401)  # at once in this process, though it checked the token just now
    second.get("/units/u-a", expect=401)
    wrong = log_in(units, password="not the password", expect=401)
    assert log_in(units, expect=401).data == wrong.data
    assert units.post("/users/lan/deactivation", expect=409).get_json()["errors"] == {
        "username": ["user 'lan' is deactivated already"]
    }
    units.post("/users/nobody/deactivation", expect=404)
    units.post("/users/lan/password", {"password": "a new password"}, expect=409)


def test_a_user_changes_its_own_password_and_its_other_sessions_end(units):
    add_user(units)
    here, elsewhere = session(units), session(units)
    changed = here.post("/users/lan/password", {"password": "a new passphrase"}).get_json()
    assert changed["username"] == "lan" and "password" not in changed
    here.get("/units/u-a")  # the session that changed it goes on
    elsewhere.get("/units/u-a", expect=401)
    log_in(units, expect=401)
    log_in(units, password="a new passphrase")


def test_a_user_may_not_change_another_users_password_but_the_federation_admin_may(units):
    add_user(units)
    add_user(units, username="minh", full_name="Phạm Minh", role="officer", scope_unit_id="u-b")
    minh, lan = session(units, "minh"), session(units)
    minh.post("/users/lan/password", {"password": "taken over!!"}, expect=403)
    log_in(units)
    minh.post("/users/minh/password", {"password": "short"}, expect=422)
    units.post("/users/lan/password", {"password": "reset by the admin"})
    lan.get("/units/u-a", expect=401)  # every session of the user ends
    log_in(units, password="reset by the admin")
    units.post("/users/nobody/password", {"password": "0123456789"}, expect=404)


def test_a_token_that_is_no_session_changes_no_password_but_a_federation_admin_token(units):
    add_user(units)
    officer = units.post("/tokens", {"role": "officer", "holder": "lan"}).get_json()["token"]
    as_token = TenantClient(units.client, units.id, officer)  # holder "lan", yet not lan's session
    as_token.post("/users/lan/password", {"password": "not by a token"}, expect=403)
    log_in(units)


def test_the_access_log_records_users_tokens_logins_and_refusals(app, units, clock, caplog):
    with caplog.at_level(logging.DEBUG):
        add_user(units)
        log_in(units, password="a wrong guess!", expect=401)
        clerk = session(units)
        clerk.post("/users", {**CLERK, "username": "x"}, expect=403)
        clerk.post("/users/lan/password", {"password": "another passphrase"})
        issued = units.post("/tokens", {"role": "auditor", "holder": "kiem-toan"}).get_json()
        units.post(f"/tokens/{issued['id']}/revocation")
        units.post("/users/lan/deactivation")
    log = entries(units)
    assert [(e["position"], e["event"], e["actor"], e["subject"]) for e in log] == [
        (1, "user_created", "federation_admin", "lan"),
        (2, "login_failed", "lan", "lan"),
        (3, "login_ok", "lan", "lan"),
        (4, "refused_role", "lan", units.url("/users")),
        (5, "password_changed", "lan", "lan"),
        (6, "token_issued", "federation_admin", issued["id"]),
        (7, "token_revoked", "federation_admin", issued["id"]),
        (8, "user_deactivated", "federation_admin", "lan"),
    ]
    assert {e["tenant"] for e in log} == {units.id} and {e["address"] for e in log} == {"127.0.0.1"}
    assert log[0]["detail"] == {"role": "clerk", "scope_unit_id": "u-a"}
    assert log[1]["detail"] == {"failures": 1, "locked": False}
    assert log[3]["detail"] == {"method": "POST", "role": "clerk"}
    assert (log[5]["detail"]["role"], log[5]["detail"]["holder"]) == ("auditor", "kiem-toan")
    assert log[7]["detail"] == {"sessions_ended": 1}
    assert log[0]["recorded_at"] == "2030-03-17T17:46:40+00:00"  # the registry's clock
    secrets = [PASSWORD, "a wrong guess!", "another passphrase", issued["token"], clerk.token, units.token]
    logged = json.dumps(log, ensure_ascii=False) + " ".join(r.getMessage() for r in caplog.records)
    assert [s for s in secrets if s in logged] == []
    assert any(f"a login to tenant {units.id!r} failed" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if "'lan'" in r.getMessage()]  # the access log names the account, not this


def test_the_access_log_is_read_by_federation_admin_and_auditor_alone_and_paged(units):
    add_user(units)
    add_user(units, username="an", full_name="Lê An", role="auditor", scope_unit_id=None)
    add_user(units, username="minh", full_name="Phạm Minh", role="officer", scope_unit_id="u-b")
    auditor, officer = session(units, "an"), session(units, "minh")
    page = auditor.get("/access-log", limit=2).get_json()
    assert [e["subject"] for e in page["entries"]] == ["lan", "an"] and page["next"] == 2
    page = auditor.get("/access-log", limit=2, after=2).get_json()
    assert [(e["event"], e["subject"]) for e in page["entries"]] == [("user_created", "minh"), ("login_ok", "an")]
    assert page["next"] == 4
    officer.get("/access-log", expect=403)
    rest = auditor.get("/access-log", after=4).get_json()
    assert [e["event"] for e in rest["entries"]] == ["login_ok", "refused_role"] and rest["next"] is None
    assert rest["entries"][1]["actor"] == "minh" and rest["entries"][1]["subject"] == units.url("/access-log")
    units.get("/access-log", expect=422, after=-1)
    units.get("/access-log", expect=422, limit=0)


def test_a_refusal_for_scope_is_recorded_where_errors_are_mapped(app, units):
    """OutOfScope (application/scope.py) answers 404, as an entity that does not exist, and is logged."""
    from flask import g

    from application.scope import refused
    from service.errors import handle_domain
    from tenants.registry import Principal

    add_user(units)
    who = Principal(actor="lan", role="clerk", tenant_id=units.id, scope_unit_id="u-a", user="lan")
    with app.test_request_context(units.url("/members/m9"), environ_base={"REMOTE_ADDR": "192.0.2.9"}):
        g.principal = who
        answer = handle_domain(refused("member", "m9", "id"))
    assert answer.status_code == 404 and json.loads(answer.data)["detail"] == "member 'm9' does not exist"
    last = entries(units)[-1]
    assert (last["event"], last["actor"], last["subject"], last["address"]) == (
        "refused_scope",
        "lan",
        units.url("/members/m9"),
        "192.0.2.9",
    )
    assert last["detail"] == {"method": "GET", "role": "clerk", "field": "id", "refused": "member 'm9' does not exist"}


def test_the_demo_has_a_user_of_each_role_and_says_how_to_log_in(app, client, admin, capsys):
    """On the demo's own units (its EstablishUnit and CloseUnit commands), as `make run` prints them."""
    from datetime import date

    from demo.province import demo_commands
    from demo.users import DEMO_PASSWORD
    from domain.commands import CloseUnit, EstablishUnit
    from service.startup import DEMO_TENANT, show_demo_users
    from tests.conftest import new_tenant

    demo = new_tenant(client, admin, DEMO_TENANT)
    for command, kwargs in demo_commands(date(2026, 1, 1)):
        if command is EstablishUnit:
            demo.post("/units", {k: str(v) if isinstance(v, date) else v for k, v in kwargs.items()})
        elif command is CloseUnit:
            closure = {"closed_on": str(kwargs["closed_on"]), "successor_id": kwargs["successor_id"]}
            demo.post(f"/units/{kwargs['unit_id']}/closure", closure)
    platform = app.extensions["unionledger"]
    show_demo_users(platform, "http://127.0.0.1:8000")
    show_demo_users(platform, "http://127.0.0.1:8000")  # a second start adds no one
    printed = capsys.readouterr().out
    assert printed.count("clerk.khesanh") == 4 and "'demo-password'" in printed  # listed, and in the curl line
    assert "'http://127.0.0.1:8000/v1/sessions'" in printed
    users = {u["username"]: (u["role"], u["scope_unit_id"]) for u in demo.get("/users").get_json()["users"]}
    assert users == {
        "admin": ("federation_admin", None),
        "officer.giolinh": ("officer", "u-gl"),
        "clerk.khesanh": ("clerk", "u-hh-1"),
        "inspector": ("inspector", None),
        "auditor": ("auditor", None),
        "viewer.kkt": ("viewer", "u-kkt"),
    }
    for username, (role, scope) in users.items():
        who = log_in(demo, username, DEMO_PASSWORD).get_json()["user"]
        assert (who["role"], who["scope_unit_id"]) == (role, scope)
    assert [e["event"] for e in demo.get("/access-log").get_json()["entries"]] == ["user_created"] * 6 + [
        "login_ok"
    ] * 6


def test_each_new_call_declares_its_action_and_the_policy_gives_it_to_the_right_roles(app):
    from application.policy import ROLES, may

    def allowed(endpoint: str) -> set[str]:
        action = app.view_functions[endpoint].action
        return {role for role in ("platform_admin", "national", *ROLES) if may(role, action)}

    assert allowed("users.create") == allowed("users.list_users") == allowed("users.deactivate") == {"federation_admin"}
    assert allowed("users.change_password") == allowed("sessions.log_out") == set(ROLES)  # each its own
    assert allowed("access_log.access_log") == {"federation_admin", "auditor"}
    assert allowed("sessions.log_in") == set() and app.view_functions["sessions.log_in"].public is True
    assert not any(
        getattr(view, "public", False)
        for name, view in app.view_functions.items()
        if name != "sessions.log_in" and not name.startswith("console.")  # the console's sign-in page is its own
    )
