"""Text the register cannot hold is refused at the edge, on every call, so no byte poisons a tenant.

PostgreSQL's text and jsonb cannot hold NUL and UTF-8 cannot hold a lone surrogate; other control
characters and U+FFFE/U+FFFF are refused too (domain/text.py). A JSON body's field is 422 naming
it, a query parameter is 422 naming it, a path segment is 404 as any id that does not exist. The
calls are read from the served OpenAPI document, so a call added later is covered as it comes.
Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re

import pytest
from flask import request

from application.policy import Action
from domain.text import text_fault
from service.access import allow
from service.app import create_app
from service.auth import tenant_register
from tests.api.test_errors import PROBLEM, audit, seed
from tests.conftest import TenantClient, new_tenant

ODD_JSON = ["a\u0000b", "\ud800", "a\u0007b", "\u0085", "a\ufffeb"]  # strings in a JSON body
ODD_FORM = ["a\u0000b", "a\u0007b"]  # a form field: the client encodes it as UTF-8, so no lone surrogate
NUL_URL = ["%00", "a%00b", "a%07b"]  # in a path segment or a query value: reach the app as control characters
NOT_UTF8_URL = ["%ED%A0%80", "%FF"]  # the UTF-8 of a lone surrogate, and a byte that is no UTF-8 at all
# The free text of the register: reasons, which may run over several lines.
FREE_TEXT = {
    ("DissolutionIn", "reason"),
    ("ErasureIn", "reason"),
    ("RevisionIn", "reason"),
    ("RefusalIn", "reason"),
    ("WithdrawalIn", "reason"),
}
UNIT = {"id": "new-unit", "name": "Công đoàn xã Tân Thành", "kind": "commune", "established_on": "2024-01-01"}


@pytest.fixture
def seeded(tenant) -> TenantClient:
    seed(tenant)
    return tenant


def spec_of(client) -> dict:
    return client.get("/openapi.json").get_json()


def operations(spec: dict):
    """(method, path, operation) of every call the served document publishes."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                yield method, path, operation


def body_schema(spec: dict, operation: dict) -> tuple[str, str, dict] | None:
    """(content type, schema name, schema) of the call's request body, if it reads one."""
    for content_type, content in operation.get("requestBody", {}).get("content", {}).items():
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        return content_type, name, spec["components"]["schemas"][name]
    return None


def types(prop: dict) -> set[str]:
    kind = prop.get("type")
    return set(kind) if isinstance(kind, list) else {kind}


def text_fields(schema: dict) -> list[str]:
    """The body's string fields that hold text (not a date, an instant or a file)."""
    return [name for name, prop in schema["properties"].items() if "string" in types(prop) and "format" not in prop]


def dict_fields(schema: dict) -> list[str]:
    return [name for name, prop in schema["properties"].items() if "object" in types(prop)]


def params(operation: dict, place: str) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == place]


class Caller:
    """Sends a call of the document as the right token: the platform's own calls as the admin, the
    national level's as a national token's holder."""

    def __init__(self, tenant: TenantClient, admin: dict):
        self.tenant, self.admin = tenant, admin
        issued = tenant.client.post("/v1/national/tokens", json={"holder": "vgcl", "role": "national"}, headers=admin)
        self.national = {"Authorization": f"Bearer {issued.get_json()['token']}"}

    def url(self, path: str, values: dict[str, str] | None = None) -> str:
        values = {"tenant": self.tenant.id, **(values or {})}
        return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "x"), path)

    def send(self, method: str, path: str, url: str, content_type: str = "application/json", body=None):
        # a card is checked with any tenant's token (POST /v1/cards/verification)
        headers = self.tenant.headers if "{tenant}" in path or path.startswith("/v1/cards/") else self.admin
        if path.startswith("/v1/national/") and path != "/v1/national/tokens":
            headers = self.national
        if content_type == "multipart/form-data":
            return self.tenant.client.open(
                url, method=method.upper(), data=body or {}, headers=headers, content_type=content_type
            )
        data = json.dumps(body if body is not None else {}) if method != "get" else None
        return self.tenant.client.open(
            url,
            method=method.upper(),
            data=data,
            headers=headers,
            content_type="application/json" if data is not None else None,
        )


def problem(response) -> dict:
    return response.get_json(force=True, silent=True) or {}


def named(response, field: str) -> list[str]:
    return (problem(response).get("errors") or {}).get(field) or []


# ---- every call, every odd input ------------------------------------------------------------------


def test_every_call_refuses_odd_text_as_problems_naming_the_field_and_the_tenant_still_works(seeded, admin):
    """Throws NUL, a lone surrogate, BEL, a C1 control and U+FFFE at every path segment, query
    parameter and body field of every call the document publishes. Nothing is a 5xx, every refusal
    is problem details naming the field, nothing is written, and the tenant answers as before."""
    caller, spec = Caller(seeded, admin), spec_of(seeded.client)
    trail = audit(seeded)
    wrong: list[tuple] = []
    sent = 0

    def check(response, call: str, expect: int | None = None, field: str | None = None, message: str | None = None):
        nonlocal sent
        sent += 1
        body = problem(response)
        if response.status_code >= 500:
            wrong.append((call, response.status_code, body))
        elif response.status_code >= 400 and (
            response.mimetype != PROBLEM or body.get("status") != response.status_code
        ):
            wrong.append((call, "not problem details", response.status_code, response.get_data()[:200]))
        elif expect is not None and response.status_code != expect:
            wrong.append((call, f"expected {expect}", response.status_code, body))
        elif field is not None and (
            not named(response, field) or (message is not None and message not in named(response, field))
        ):
            wrong.append((call, f"expected {field!r} named with {message!r}", body.get("errors")))

    for method, path, operation in operations(spec):
        call = f"{method.upper()} {path}"
        found = body_schema(spec, operation)
        content_type = found[0] if found else "application/json"
        for name in params(operation, "path"):
            for odd in NUL_URL:
                check(
                    caller.send(method, path, caller.url(path, {name: odd}), content_type),
                    f"{call} {name}={odd}",
                    expect=404,
                )
            for odd in NOT_UTF8_URL:
                check(caller.send(method, path, caller.url(path, {name: odd}), content_type), f"{call} {name}={odd}")
        for name in params(operation, "query"):
            for odd in NUL_URL:
                url = f"{caller.url(path)}?{name}={odd}"
                fault = text_fault(odd.replace("%00", "\x00").replace("%07", "\x07"))
                check(caller.send(method, path, url, content_type), f"{call} ?{name}={odd}", 422, name, fault)
            for odd in NOT_UTF8_URL:
                check(
                    caller.send(method, path, f"{caller.url(path)}?{name}={odd}", content_type), f"{call} ?{name}={odd}"
                )
        if found is None:
            continue
        _, schema_name, schema = found
        for name in text_fields(schema):
            for odd in ODD_FORM if content_type == "multipart/form-data" else ODD_JSON:
                free = (schema_name, name) in FREE_TEXT
                check(
                    caller.send(method, path, caller.url(path), content_type, {name: odd}),
                    f"{call} {name}={odd!r}",
                    422,
                    name,
                    text_fault(odd, free=free),
                )
        if content_type != "application/json":
            continue
        for name in dict_fields(schema):
            for odd in ODD_JSON:
                check(
                    caller.send(method, path, caller.url(path), content_type, {name: {odd: 1}}),
                    f"{call} {name} key {odd!r}",
                    422,
                    f"{name}.{odd}",
                    text_fault(odd),
                )
        for odd in ODD_JSON:  # a field the call does not have, named by the odd text itself
            check(
                caller.send(method, path, caller.url(path), content_type, {odd: 1}), f"{call} field {odd!r}", 422, odd
            )

    assert sent > 300 and wrong == [], wrong[:20]
    assert audit(seeded) == trail  # no refusal wrote anything
    assert seeded.get("/units/hh").get_json()["name"] == "LĐLĐ huyện Hướng Hóa"
    assert seeded.post("/units", UNIT).get_json()["name"] == UNIT["name"]
    assert [e["entity_id"] for e in audit(seeded)] == [e["entity_id"] for e in trail] + ["new-unit"]
    assert seeded.get("/indicators", period="2024").get_json()["figures"]["members_total"] == 1


# ---- request bodies ---------------------------------------------------------------------------------


def test_a_workplace_named_with_a_nul_is_refused_and_every_view_keeps_answering(seeded):
    """The case that poisoned a tenant: the name reached the ledger and broke the views after it."""
    for name in ("Công ty\u0000May", "Công ty\ud800May"):
        body = {
            "id": "dn:009",
            "name": name,
            "sector": "fdi_enterprise",
            "unit_id": "hh",
            "workers": 40,
            "female_workers": 20,
            "as_of": "2024-01-01",
        }
        response = seeded.client.post(
            seeded.url("/workplaces"), data=json.dumps(body), content_type="application/json", headers=seeded.headers
        )
        assert (response.status_code, response.mimetype, problem(response)["errors"]) == (
            422,
            PROBLEM,
            {"name": [text_fault(name)]},
        )
    assert seeded.get("/workplaces/dn:009", expect=None).status_code == 404
    assert seeded.get("/audit").status_code == seeded.get("/indicators", period="2024").status_code == 200


@pytest.mark.parametrize("odd", ["a\tb", "a\nb", "a\r\nb"], ids=["tab", "LF", "CRLF"])
def test_free_text_holds_tabs_and_line_breaks_and_every_other_text_field_refuses_them(seeded, admin, odd):
    caller, spec = Caller(seeded, admin), spec_of(seeded.client)
    seen = set()
    for method, path, operation in operations(spec):
        found = body_schema(spec, operation)
        if found is None or found[0] != "application/json":
            continue
        _, schema_name, schema = found
        for name in text_fields(schema):
            errors = problem(caller.send(method, path, caller.url(path), body={name: odd})).get("errors") or {}
            if (schema_name, name) in FREE_TEXT:
                seen.add((schema_name, name))
                assert name not in errors, (path, name, errors)
            else:
                assert errors.get(name) == [text_fault(odd)], (path, name, errors)
    assert seen == FREE_TEXT  # the document still has every free-text field this test knows


def test_a_reason_over_several_lines_is_kept_as_written(seeded):
    reason = "Doanh nghiệp giải thể\r\nTheo quyết định số 12/QĐ\tngày 01/07/2025"
    seeded.post("/unions/cdcs-003/dissolution", {"dissolved_on": "2025-07-01", "reason": reason})
    assert seeded.get("/unions/cdcs-003").get_json()["dissolution_reason"] == reason
    assert seeded.get("/unions/cdcs-003/history").get_json()["events"][-1]["data"]["reason"] == reason


def test_text_in_any_script_with_its_symbols_is_kept_as_written(seeded):
    name = "Công ty TNHH Ánh Dương 😀\u00a0(chi nhánh Đông Hà) \ufffd"
    body = json.dumps(
        {
            "id": "dn:010",
            "name": name,
            "sector": "fdi_enterprise",
            "unit_id": "hh",
            "workers": 40,
            "female_workers": 20,
            "as_of": "2024-01-01",
        }
    )  # the emoji travels as the pair \ud83d\ude00
    assert "\\ud83d\\ude00" in body
    response = seeded.client.post(
        seeded.url("/workplaces"), data=body, content_type="application/json", headers=seeded.headers
    )
    assert (response.status_code, response.get_json()["name"]) == (201, name), response.get_json()
    assert seeded.get("/workplaces/dn:010").get_json()["name"] == name
    assert audit(seeded)[-1]["data"]["name"] == name


def test_a_field_named_by_a_lone_surrogate_is_named_back_as_it_was_sent(seeded):
    """A name with no UTF-8 form comes back as the JSON escape the client wrote."""
    response = seeded.client.post(
        seeded.url("/units"),
        data='{"\\ud800": 1, "id": "a\\ud800"}',
        content_type="application/json",
        headers=seeded.headers,
    )
    raw = response.get_data()
    assert (response.status_code, response.mimetype) == (422, PROBLEM)
    assert b'"\\ud800": ["Unknown field."]' in raw
    assert problem(response)["errors"]["id"] == [text_fault("\ud800")]


# ---- query strings and paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, params",
    [
        ("/audit", {"actor": "federation_admin\x00"}),
        ("/audit", {"entity_id": "hh\x00"}),
        ("/audit", {"limit": "1\x00"}),
        ("/indicators", {"period": "2024", "unit_id": "hh\x00"}),
        ("/reports", {"unit_id": "\x00"}),
        ("/targets/progress", {"period": "2024", "unit_id": "hh\x07"}),
    ],
)
def test_a_query_parameter_holding_a_control_character_is_422_naming_it(seeded, path, params):
    response = seeded.get(path, expect=None, **params)
    ((name, value),) = [(k, v) for k, v in params.items() if text_fault(v)]
    assert (response.status_code, response.mimetype, problem(response)["errors"]) == (
        422,
        PROBLEM,
        {name: [text_fault(value)]},
    )
    assert problem(response)["detail"] == f"{name}: {text_fault(value)}"


@pytest.mark.parametrize(
    "path",
    [
        "/units/%00",
        "/workplaces/dn%00001",
        "/unions/cdcs-001%00/history",
        "/members/%00/erasure",
        "/targets/%07",
        "/reports/%00/verification",
        "/tokens/%00/revocation",
    ],
)
def test_a_path_segment_holding_a_control_character_is_404_as_an_unknown_id(seeded, path):
    method = seeded.client.post if path.endswith(("erasure", "verification", "revocation")) else seeded.client.get
    response = method(seeded.url(path), json={"reason": "yêu cầu"}, headers=seeded.headers)
    assert (response.status_code, response.mimetype) == (404, PROBLEM), problem(response)
    assert problem(response)["detail"].endswith("does not exist")


def test_a_tenant_id_holding_a_nul_is_404_and_without_a_token_any_odd_url_is_401(client, seeded):
    response = client.get("/v1/tenants/%00/units/hh", headers=seeded.headers)
    assert (response.status_code, problem(response)["detail"]) == (404, "tenant '\\x00' does not exist")
    for url in (seeded.url("/units/%00"), seeded.url("/audit?actor=%00"), "/v1/tenants/%00/units/hh"):
        assert client.get(url).status_code == 401, url


def test_bytes_that_are_not_utf8_in_a_url_reach_the_register_as_text_it_can_hold(seeded):
    """werkzeug reads them as U+FFFD in a path and leaves them percent-encoded in a query string."""
    response = seeded.get("/units/%ED%A0%80", expect=None)
    assert (response.status_code, problem(response)["detail"]) == (404, "unit '\ufffd\ufffd\ufffd' does not exist")
    for query in ("actor=%ED%A0%80", "entity_id=%FF"):
        response = seeded.client.get(seeded.url(f"/audit?{query}"), headers=seeded.headers)
        assert (response.status_code, response.get_json()) == (200, {"entries": [], "next": None}), query


def test_a_nul_in_the_authorization_header_is_a_token_that_does_not_exist(seeded):
    response = seeded.client.get(seeded.url("/units/hh"), headers={"Authorization": f"Bearer {seeded.token}\x00"})
    assert (response.status_code, response.mimetype) == (401, PROBLEM)


def test_reads_that_hand_url_text_to_sql_cannot_fail_even_where_no_schema_checks_it(settings, admin):
    """A call that forgets the rule (here: a query value and a path segment read raw, straight into
    the audit trail's SQL) still never sees a NUL: the edge refuses it first."""
    app = create_app(settings)

    @allow(Action.READ)  # declared as every read is: an undeclared endpoint is called by no one
    def forgetful(tenant: str, entity_id: str):
        register, _ = tenant_register(tenant)
        entries, _next = register.reads.audit(actor=request.args.get("actor"), entity_id=entity_id, limit=10)
        return {"entries": len(entries)}

    app.add_url_rule("/v1/tenants/<tenant>/forgetful/<entity_id>", view_func=allow(Action.READ)(forgetful))
    try:
        tenant = new_tenant(app.test_client(), admin)
        tenant.post("/units", UNIT)

        def get(url: str):
            return tenant.client.get(tenant.url(url), headers=tenant.headers)

        assert get("/forgetful/new-unit?actor=federation_admin").get_json() == {"entries": 1}
        refused = get("/forgetful/new-unit?actor=federation_admin%00")
        assert (refused.status_code, problem(refused)["errors"]) == (422, {"actor": [text_fault("\x00")]})
        for url in ("/forgetful/new-unit%00?actor=federation_admin", "/forgetful/%00"):
            assert get(url).status_code == 404, url
        assert get("/forgetful/new-unit?actor=federation_admin").get_json() == {"entries": 1}
    finally:
        app.extensions["unionledger"].close()


def test_the_openapi_document_says_every_call_may_refuse_its_query_string(client):
    spec = spec_of(client)
    assert all(
        "422" in operation["responses"] for method, path, operation in operations(spec) if path.startswith("/v1/")
    ), "a /v1 call without 422"
