"""Every endpoint the service serves (read from its own /openapi.json) x every tenant role x a
request inside and outside the principal's scope, on both stores.

The rule table below says, per endpoint, which action it performs (application/policy.py) and
which parameter carries the entity a scope keeps to; an endpoint served without a rule fails the
test. federation_admin and auditor work on the whole tenant; the other roles are scoped to
district A, so a request about district B's entities is outside theirs. Expected: 403 for a role
without the action, 404 outside the scope (as an entity that does not exist), else success; a
refused write leaves the ledger as it was, and a successful one adds to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from application.policy import ROLES, UNSCOPED_ROLES, Action, may
from tests.api.province import SIDES, Province, province_fixture  # noqa: F401 - the fixture

P = Province


@dataclass
class Call:
    path: str  # under /v1/tenants/{tenant} (or absolute, starting with /v1/)
    json: dict | None = None
    query: dict = field(default_factory=dict)
    form: dict | None = None  # a multipart form (imports)


@dataclass(frozen=True)
class Rule:
    action: Action
    scoped: str | None  # where the scoped entity is named: "path:unit_id", "body:union_id", "query:unit_id"...
    call: Callable[[P, str], Call]  # the request for a side ("in": under A, "out": under B)
    ok: int = 200
    outside: int = 404  # a scoped principal's answer outside its scope
    answers: Callable[[str], int] | None = None  # the status by role, where the call itself decides it


def admin_only(ok: int) -> Callable[[str], int]:
    """A call a federation_admin makes for anyone (a user's password); the other roles only for themselves."""
    return lambda role: ok if role == "federation_admin" else 403


def today_str() -> str:
    from tests.conftest import today

    return today().isoformat()


GET, POST, DELETE = "get", "post", "delete"
T = "/v1/tenants/{tenant}"
RULES: dict[tuple[str, str], Rule] = {
    # ---- platform (the admin token only) --------------------------------------------------------------
    (POST, "/v1/tenants"): Rule(Action.PLATFORM, None, lambda p, s: Call("/v1/tenants", {"id": "x", "name": "X"})),
    (GET, "/v1/tenants"): Rule(Action.PLATFORM, None, lambda p, s: Call("/v1/tenants")),
    # ---- the national level (national tokens; every tenant role is refused) ------------------------------------
    (POST, "/v1/national/tokens"): Rule(
        Action.PLATFORM, None, lambda p, s: Call("/v1/national/tokens", {"holder": "x", "role": "national"})
    ),
    (GET, "/v1/national/indicators"): Rule(
        Action.NATIONAL, None, lambda p, s: Call("/v1/national/indicators", query={"period": "2024"})
    ),
    (POST, "/v1/national/targets"): Rule(
        Action.NATIONAL,
        None,
        lambda p, s: Call(
            "/v1/national/targets", {"tenant_id": "x", "indicator": "members_total", "period": "2025", "value": 1}
        ),
    ),
    (GET, "/v1/national/targets/progress"): Rule(
        Action.NATIONAL, None, lambda p, s: Call("/v1/national/targets/progress", query={"period": "2024"})
    ),
    (GET, "/v1/national/reports"): Rule(Action.NATIONAL, None, lambda p, s: Call("/v1/national/reports")),
    (GET, "/v1/national/witness"): Rule(Action.NATIONAL, None, lambda p, s: Call("/v1/national/witness")),
    (POST, "/v1/national/reports/{tenant_id}/{report_id}/verification"): Rule(
        Action.NATIONAL, None, lambda p, s: Call(f"/v1/national/reports/x/{p.report[s]}/verification", {})
    ),
    # ---- tokens ------------------------------------------------------------------------------------------
    (POST, T + "/tokens"): Rule(
        Action.MANAGE, None, lambda p, s: Call("/tokens", {"role": "viewer", "holder": p.fresh("h")}), ok=201
    ),
    (GET, T + "/tokens"): Rule(Action.MANAGE, None, lambda p, s: Call("/tokens")),
    # ---- users, sessions, the access log ------------------------------------------------------------------
    (POST, T + "/users"): Rule(
        Action.MANAGE,
        None,
        lambda p, s: Call(
            "/users", {"username": p.fresh("u"), "full_name": "U", "role": "viewer", "password": "a-long-password"}
        ),
        ok=201,
    ),
    (GET, T + "/users"): Rule(Action.MANAGE, None, lambda p, s: Call("/users")),
    (POST, T + "/users/{username}/deactivation"): Rule(
        Action.MANAGE, None, lambda p, s: Call(f"/users/{p.new_user()}/deactivation", {}), ok=201
    ),
    (POST, T + "/users/{username}/password"): Rule(
        Action.OWN_ACCOUNT,
        None,
        lambda p, s: Call(f"/users/{p.new_user()}/password", {"password": "another-long-one"}),
        answers=admin_only(201),
    ),
    # A login needs no token: a wrong password is 401 whoever sends it; a token is no session to end.
    (POST, "/v1/sessions"): Rule(
        Action.LOG_IN,
        None,
        lambda p, s: Call(
            "/v1/sessions", {"tenant": p.admin.id, "username": p.fresh("nobody"), "password": "wrong-password"}
        ),
        answers=lambda role: 401,
    ),
    (DELETE, "/v1/sessions/current"): Rule(
        Action.OWN_ACCOUNT, None, lambda p, s: Call("/v1/sessions/current"), answers=lambda role: 409
    ),
    (GET, T + "/access-log"): Rule(Action.ACCESS_LOG, None, lambda p, s: Call("/access-log")),
    (POST, T + "/tokens/{token_id}/revocation"): Rule(
        Action.MANAGE, None, lambda p, s: Call(f"/tokens/{p.new_token()}/revocation", {}), ok=201
    ),
    # ---- units ---------------------------------------------------------------------------------------------
    (POST, T + "/units"): Rule(
        Action.RECORD,
        "body:parent_id",
        lambda p, s: Call(
            "/units",
            {"id": p.fresh("u"), "name": "U", "kind": "other", "established_on": "2021-01-01", "parent_id": p.unit[s]},
        ),
        ok=201,
    ),
    (POST, T + "/units/{unit_id}/closure"): Rule(
        Action.RECORD,
        "path:unit_id",
        lambda p, s: Call(f"/units/{p.new_unit(s)}/closure", {"closed_on": "2024-01-01"}),
        ok=201,
    ),
    (GET, T + "/units"): Rule(
        Action.READ, "query:parent_id", lambda p, s: Call("/units", query={"parent_id": p.unit[s]})
    ),
    (GET, T + "/units/tree"): Rule(Action.READ, None, lambda p, s: Call("/units/tree")),
    (GET, T + "/units/{unit_id}"): Rule(Action.READ, "path:unit_id", lambda p, s: Call(f"/units/{p.commune[s]}")),
    (GET, T + "/units/{unit_id}/history"): Rule(
        Action.READ, "path:unit_id", lambda p, s: Call(f"/units/{p.commune[s]}/history")
    ),
    # ---- workplaces ------------------------------------------------------------------------------------------
    (POST, T + "/workplaces"): Rule(
        Action.RECORD,
        "body:unit_id",
        lambda p, s: Call(
            "/workplaces",
            {
                "id": p.fresh("w"),
                "name": "W",
                "sector": "other",
                "unit_id": p.commune[s],
                "workers": 3,
                "female_workers": 1,
                "as_of": "2022-01-01",
            },
        ),
        ok=201,
    ),
    (POST, T + "/workplaces/{workplace_id}/surveys"): Rule(
        Action.RECORD,
        "path:workplace_id",
        lambda p, s: Call(
            f"/workplaces/{p.workplace[s]}/surveys", {"workers": 30, "female_workers": 9, "as_of": "2023-01-01"}
        ),
        ok=201,
    ),
    (POST, T + "/workplaces/{workplace_id}/agreements"): Rule(
        Action.RECORD,
        "path:workplace_id",
        lambda p, s: Call(
            f"/workplaces/{p.workplace[s]}/agreements", {"signed_on": "2023-05-01", "expires_on": "2026-04-30"}
        ),
        ok=201,
    ),
    (POST, T + "/workplaces/{workplace_id}/conferences"): Rule(
        Action.RECORD,
        "path:workplace_id",
        lambda p, s: Call(f"/workplaces/{p.workplace[s]}/conferences", {"held_on": "2023-02-20"}),
        ok=201,
    ),
    (GET, T + "/workplaces"): Rule(
        Action.READ, "query:unit_id", lambda p, s: Call("/workplaces", query={"unit_id": p.unit[s]})
    ),
    (GET, T + "/workplaces/{workplace_id}"): Rule(
        Action.READ, "path:workplace_id", lambda p, s: Call(f"/workplaces/{p.workplace[s]}")
    ),
    (GET, T + "/workplaces/{workplace_id}/history"): Rule(
        Action.READ, "path:workplace_id", lambda p, s: Call(f"/workplaces/{p.workplace[s]}/history")
    ),
    # ---- unions -------------------------------------------------------------------------------------------
    (POST, T + "/unions"): Rule(
        Action.RECORD,
        "body:unit_id",
        lambda p, s: Call(
            "/unions",
            {
                "id": p.fresh("cd"),
                "name": "CĐ",
                "workplace_id": p.new_workplace(s),
                "unit_id": p.commune[s],
                "founded_on": "2022-01-01",
            },
        ),
        ok=201,
    ),
    (POST, T + "/unions/{union_id}/transfer"): Rule(
        Action.RECORD,
        "path:union_id",
        lambda p, s: Call(
            f"/unions/{p.new_union(s)}/transfer", {"to_unit_id": p.unit[s], "effective_on": "2023-01-01"}
        ),
        ok=201,
    ),
    (POST, T + "/unions/{union_id}/dissolution"): Rule(
        Action.RECORD,
        "path:union_id",
        lambda p, s: Call(f"/unions/{p.new_union(s)}/dissolution", {"dissolved_on": "2023-01-01", "reason": "closed"}),
        ok=201,
    ),
    (POST, T + "/unions/{union_id}/ratings"): Rule(
        Action.RECORD,
        "path:union_id",
        lambda p, s: Call(
            f"/unions/{p.union[s]}/ratings", {"year": 2023, "rating": "good", "decided_on": "2024-01-15"}
        ),
        ok=201,
    ),
    (POST, T + "/unions/{union_id}/womens-committee"): Rule(
        Action.RECORD,
        "path:union_id",
        lambda p, s: Call(f"/unions/{p.new_union(s)}/womens-committee", {"founded_on": "2023-03-08"}),
        ok=201,
    ),
    (POST, T + "/unions/{union_id}/dues"): Rule(
        Action.RECORD,
        "path:union_id",
        lambda p, s: Call(f"/unions/{p.union[s]}/dues", {"period": "2023-Q4", "due": 1_000_000, "collected": 900_000}),
        ok=201,
    ),
    (POST, T + "/unions/{union_id}/training"): Rule(
        Action.RECORD,
        "path:union_id",
        lambda p, s: Call(f"/unions/{p.union[s]}/training", {"year": 2023, "officials": 5, "trained": 4}),
        ok=201,
    ),
    (GET, T + "/unions"): Rule(
        Action.READ, "query:unit_id", lambda p, s: Call("/unions", query={"unit_id": p.unit[s]})
    ),
    (GET, T + "/unions/{union_id}"): Rule(Action.READ, "path:union_id", lambda p, s: Call(f"/unions/{p.union[s]}")),
    (GET, T + "/unions/{union_id}/history"): Rule(
        Action.READ, "path:union_id", lambda p, s: Call(f"/unions/{p.union[s]}/history")
    ),
    # ---- members -----------------------------------------------------------------------------------------------
    (POST, T + "/members"): Rule(
        Action.RECORD_MEMBERS,
        "body:union_id",
        lambda p, s: Call(
            "/members",
            {
                "id": p.fresh("m"),
                "union_id": p.union[s],
                "admitted_on": "2023-01-01",
                "full_name": "Lê Văn Nam",
                "gender": "male",
            },
        ),
        ok=201,
    ),
    (POST, T + "/members/{member_id}/transfer"): Rule(
        Action.RECORD_MEMBERS,
        "path:member_id",
        lambda p, s: Call(
            f"/members/{p.new_member(s)}/transfer", {"to_union_id": p.union2[s], "effective_on": "2023-01-01"}
        ),
        ok=201,
    ),
    (POST, T + "/members/{member_id}/cards"): Rule(
        Action.RECORD,
        "path:member_id",
        lambda p, s: Call(f"/members/{p.member[s]}/cards", {"card_no": p.fresh("QT-"), "issued_on": "2023-01-01"}),
        ok=201,
    ),
    (POST, T + "/members/{member_id}/departure"): Rule(
        Action.RECORD_MEMBERS,
        "path:member_id",
        lambda p, s: Call(f"/members/{p.new_member(s)}/departure", {"left_on": "2023-01-01", "reason": "resigned"}),
        ok=201,
    ),
    (POST, T + "/members/{member_id}/erasure"): Rule(
        Action.ERASE,
        "path:member_id",
        lambda p, s: Call(f"/members/{p.new_member(s)}/erasure", {"reason": "asked"}),
        ok=201,
    ),
    (GET, T + "/members"): Rule(
        Action.LIST_MEMBERS, "query:union_id", lambda p, s: Call("/members", query={"union_id": p.union[s]})
    ),
    (GET, T + "/members/{member_id}"): Rule(
        Action.READ, "path:member_id", lambda p, s: Call(f"/members/{p.member[s]}")
    ),
    (GET, T + "/members/{member_id}/history"): Rule(
        Action.READ, "path:member_id", lambda p, s: Call(f"/members/{p.member[s]}/history")
    ),
    # ---- members who move between provinces (the pending transfers live in the control store) ----------------
    (POST, T + "/members/{member_id}/transfer-out"): Rule(
        Action.MOVE,
        "path:member_id",
        lambda p, s: Call(
            f"/members/{p.new_member(s)}/transfer-out", {"to_tenant": p.sister_id(), "effective_on": "2023-01-01"}
        ),
        ok=201,
    ),  # fmt: skip
    (GET, T + "/transfers/incoming"): Rule(Action.MOVE, None, lambda p, s: Call("/transfers/incoming")),
    (GET, T + "/transfers/outgoing"): Rule(Action.MOVE, None, lambda p, s: Call("/transfers/outgoing")),
    (GET, T + "/transfers/{transfer_id}"): Rule(Action.MOVE, None, lambda p, s: Call(f"/transfers/{p.incoming()}")),
    # Accepted into a union of the principal's scope, or refused outside it (404, as any entity there)
    (POST, T + "/transfers/{transfer_id}/acceptance"): Rule(
        Action.MOVE,
        "body:union_id",
        lambda p, s: Call(
            f"/transfers/{p.incoming()}/acceptance", {"union_id": p.union[s], "member_id": p.fresh("arrived")}
        ),
        ok=201,
    ),
    (POST, T + "/transfers/{transfer_id}/refusal"): Rule(
        Action.MOVE, None, lambda p, s: Call(f"/transfers/{p.incoming()}/refusal", {"reason": "unknown here"}), ok=201
    ),
    # Withdrawn by the sending province: a member of the principal's scope, or (outside) 404
    (POST, T + "/transfers/{transfer_id}/withdrawal"): Rule(
        Action.MOVE,
        "path:transfer_id",
        lambda p, s: Call(f"/transfers/{p.outgoing(s)}/withdrawal", {"reason": "she stays"}),
        ok=201,
    ),
    # ---- member cards: read within the scope; verified by any tenant role ------------------------------------
    (GET, T + "/members/{member_id}/card"): Rule(
        Action.READ, "path:member_id", lambda p, s: Call(f"/members/{p.card(s) and p.member[s]}/card")
    ),
    (POST, "/v1/cards/verification"): Rule(
        Action.READ,
        None,
        lambda p, s: Call("/v1/cards/verification", {k: p.card(s)[k] for k in ("statement", "signature", "key_id")}),
    ),
    # ---- figures, targets, reports ------------------------------------------------------------------------------
    (GET, T + "/indicators"): Rule(
        Action.READ, "query:unit_id", lambda p, s: Call("/indicators", query={"period": "2024", "unit_id": p.unit[s]})
    ),
    (GET, T + "/indicators/series"): Rule(
        Action.READ,
        "query:unit_id",
        lambda p, s: Call("/indicators/series", query={"period": "2024", "step": "quarter", "unit_id": p.unit[s]}),
    ),
    (GET, T + "/forms/1-hdcd"): Rule(
        Action.READ, "query:union_id", lambda p, s: Call("/forms/1-hdcd", query={"union_id": p.union[s], "year": 2024})
    ),
    (GET, T + "/forms/2-hdcd"): Rule(
        Action.READ, "query:unit_id", lambda p, s: Call("/forms/2-hdcd", query={"unit_id": p.unit[s], "year": 2024})
    ),
    (POST, T + "/targets"): Rule(
        Action.PLAN,
        "body:unit_id",
        lambda p, s: Call(
            "/targets", {"unit_id": p.unit[s], "indicator": "members_total", "period": "2025", "value": 5}
        ),
        ok=201,
    ),
    (GET, T + "/targets"): Rule(
        Action.READ, "query:unit_id", lambda p, s: Call("/targets", query={"unit_id": p.unit[s]})
    ),
    (GET, T + "/targets/progress"): Rule(
        Action.READ,
        "query:unit_id",
        lambda p, s: Call("/targets/progress", query={"period": "2024", "unit_id": p.unit[s]}),
    ),
    (GET, T + "/targets/{target_id}"): Rule(
        Action.READ, "path:target_id", lambda p, s: Call(f"/targets/{p.target[s]}")
    ),
    (POST, T + "/targets/{target_id}/revision"): Rule(
        Action.PLAN,
        "path:target_id",
        lambda p, s: Call(f"/targets/{p.target[s]}/revision", {"value": 10 + next(p._ids), "reason": "revised"}),
        ok=201,
    ),
    (GET, T + "/targets/{target_id}/history"): Rule(
        Action.READ, "path:target_id", lambda p, s: Call(f"/targets/{p.target[s]}/history")
    ),
    (POST, T + "/reports"): Rule(
        Action.PLAN,
        "body:unit_id",
        lambda p, s: Call("/reports", {"unit_id": p.unit[s], "period": "2024", "figures": {"members_total": 1}}),
        ok=201,
    ),
    (GET, T + "/reports"): Rule(
        Action.READ, "query:unit_id", lambda p, s: Call("/reports", query={"unit_id": p.unit[s]})
    ),
    (GET, T + "/reports/draft"): Rule(
        Action.READ,
        "query:unit_id",
        lambda p, s: Call("/reports/draft", query={"period": "2024", "unit_id": p.unit[s]}),
    ),
    (GET, T + "/reports/{report_id}"): Rule(
        Action.READ, "path:report_id", lambda p, s: Call(f"/reports/{p.report[s]}")
    ),
    (POST, T + "/reports/{report_id}/verification"): Rule(
        Action.VERIFY, "path:report_id", lambda p, s: Call(f"/reports/{p.report[s]}/verification", {}), ok=201
    ),
    (GET, T + "/reports/{report_id}/history"): Rule(
        Action.READ, "path:report_id", lambda p, s: Call(f"/reports/{p.report[s]}/history")
    ),
    # ---- imports, the audit trail, the ledger --------------------------------------------------------------------
    # An import outside the scope is not refused whole: its rows outside are row errors (rule scope, 422).
    (POST, T + "/imports"): Rule(
        Action.IMPORT, "file:unit_id", lambda p, s: Call("/imports", form=p.workplace_csv(s)), ok=201, outside=422
    ),
    # The trail is filtered to the scope, never refused (tests/api/test_scope.py reads what it shows).
    (GET, T + "/audit"): Rule(Action.READ, None, lambda p, s: Call("/audit", query={"entity_id": p.member[s]})),
    (GET, T + "/ledger/digest"): Rule(Action.DIGEST, None, lambda p, s: Call("/ledger/digest")),
    (GET, T + "/ledger/export"): Rule(Action.EXPORT, None, lambda p, s: Call("/ledger/export")),
    (GET, T + "/ledger/checkpoint"): Rule(Action.DIGEST, None, lambda p, s: Call("/ledger/checkpoint")),
    (GET, T + "/ledger/key"): Rule(Action.DIGEST, None, lambda p, s: Call("/ledger/key")),
    (GET, T + "/ledger/consistency"): Rule(
        Action.DIGEST, None, lambda p, s: Call("/ledger/consistency", query={"from": 1, "to": 1})
    ),
    (GET, T + "/ledger/inclusion"): Rule(
        Action.DIGEST, None, lambda p, s: Call("/ledger/inclusion", query={"position": 1, "size": 1})
    ),
}
# the registry keeps these, not the tenant's ledger (a refusal is written to the sending province's)
WITHOUT_LEDGER = re.compile(r"/(tokens|users)\b|/refusal$")
SCOPE_OF = {role: (None if role in UNSCOPED_ROLES else "A") for role in ROLES}


def expected(role: str, rule: Rule, side: str) -> int:
    if rule.answers is not None:
        return rule.answers(role)
    if not may(role, rule.action):
        return 403
    if SCOPE_OF[role] is not None and side == "out" and rule.scoped is not None:
        return rule.outside
    return rule.ok


def served(client) -> list[tuple[str, str]]:
    """Every operation of the served OpenAPI document that needs a token."""
    document = client.get("/openapi.json").get_json()
    return [
        (method, path)
        for path, operations in document["paths"].items()
        if path.startswith("/v1/")
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]


def send(p: Province, token: str, method: str, call: Call) -> Any:
    path = call.path if call.path.startswith("/v1/") else p.admin.url(call.path)
    headers = {"Authorization": f"Bearer {token}"}
    if call.form is not None:
        return p.client.post(path, data=call.form, content_type="multipart/form-data", headers=headers)
    if method == DELETE:
        return p.client.delete(path, headers=headers)
    if method == POST:
        return p.client.post(path, json=call.json or {}, query_string=call.query, headers=headers)
    return p.client.get(path, query_string=call.query, headers=headers)


def test_every_endpoint_every_role_inside_and_outside_the_scope(province: Province):
    p = province
    operations = served(p.client)
    assert len(operations) >= 40  # the document was read
    missing = sorted(set(operations) - set(RULES))
    assert not missing, f"endpoints without an access rule in RULES: {missing}"
    assert not set(RULES) - set(operations), "rules for endpoints the service no longer serves"
    tokens = {role: p.token(role, SCOPE_OF[role]).token for role in ROLES}
    wrong = []
    for method, path in operations:
        rule = RULES[(method, path)]
        for role in ROLES:
            for side in SIDES:
                call = rule.call(p, side)
                before = p.recorded()
                answer = send(p, tokens[role], method, call)
                answer.get_data()  # an export streams: read to its end
                answer.close()
                after = p.recorded()
                want = expected(role, rule, side)
                if answer.status_code != want:
                    wrong.append((method, path, role, side, want, answer.status_code, answer.get_json(silent=True)))
                    continue
                if answer.status_code >= 400:
                    assert answer.mimetype == "application/problem+json", (method, path, role, side)
                    if method == POST and after != before:
                        wrong.append((method, path, role, side, "a refused write recorded", before, after))
                elif method == POST and path.startswith(T) and not WITHOUT_LEDGER.search(path) and after <= before:
                    wrong.append((method, path, role, side, "a write recorded nothing", before, after))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_scoped_import_names_each_row_outside_the_scope(province: Province):
    p = province
    officer = p.token("officer", "A")
    before = p.recorded()
    answer = send(p, officer.token, POST, Call("/imports", form=p.workplace_csv("out")))
    assert answer.status_code == 422
    assert [(r["line"], r["column"], r["rule"]) for r in answer.get_json()["rows"]] == [(2, "unit_id", "scope")]
    assert p.recorded() == before
    assert send(p, officer.token, POST, Call("/imports", form=p.workplace_csv("in"))).status_code == 201
    assert p.recorded() == before + 1


def test_the_metrics_are_read_by_the_platform_admin_alone(province: Province):
    """``GET /metrics`` is in the document but outside /v1 (the matrix above): the platform admin
    token reads it (or a scraper's own token, tests/api/test_metrics.py); every tenant role and a
    national token are refused, and no token is a 401."""
    from tests.conftest import ADMIN_TOKEN

    p = province
    document = p.client.get("/openapi.json").get_json()
    assert document["paths"]["/metrics"]["get"].get("security", document["security"]) == [{"bearer": []}]
    national = p.client.post(
        "/v1/national/tokens",
        json={"holder": p.fresh("nat"), "role": "national"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).get_json()["token"]
    tokens = {role: p.token(role, SCOPE_OF[role]).token for role in ROLES} | {"national": national}
    answers = {
        who: p.client.get("/metrics", headers={"Authorization": f"Bearer {t}"}).status_code for who, t in tokens.items()
    }
    assert answers == dict.fromkeys(tokens, 403)
    assert p.client.get("/metrics").status_code == 401
    assert p.client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200


def test_a_scoped_import_of_records_names_each_row_outside_the_scope(province: Province):
    """Record rows reach their union, workplace or member on the row's day, as the single calls do."""
    from io import BytesIO

    p = province
    officer = p.token("officer", "A")
    before = p.recorded()

    def ratings(*sides: str) -> dict:
        rows = "union_id,year,rating,decided_on\n" + "".join(f"{p.union[s]},2022,good,2023-01-10\n" for s in sides)
        return {"file": (BytesIO(rows.encode()), "ratings.csv"), "kind": "ratings"}

    answer = send(p, officer.token, POST, Call("/imports", form=ratings("in", "out")))
    assert answer.status_code == 422
    assert [(r["line"], r["column"], r["rule"]) for r in answer.get_json()["rows"]] == [(3, "union_id", "scope")]
    assert p.recorded() == before
    assert send(p, officer.token, POST, Call("/imports", form=ratings("in"))).status_code == 201
    assert p.recorded() == before + 1
