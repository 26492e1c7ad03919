"""Size limits and the order of refusals, over real HTTP (the app served on a socket, on both
stores): a request is refused for who sends it (401, 404, 403) before its size is looked at (413),
and for its size before anything reads its body."""

from __future__ import annotations

import csv
import http.client
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from io import StringIO

import pytest
from werkzeug.serving import make_server

from domain.imports import COLUMNS
from service.app import create_app
from tests.conftest import ADMIN_TOKEN

PROBLEM = "application/problem+json"
JSON_LIMIT = 2048
UPLOAD_LIMIT = 16384
BOUNDARY = "unionledger-test-boundary"


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: dict

    def problem(self, status: int) -> bool:
        return (
            self.status == status
            and self.headers.get_content_type() == PROBLEM
            and self.body.get("status") == status
            and bool(self.body.get("title"))
            and bool(self.body.get("detail"))
        )


@dataclass
class Live:
    """The app on a socket: requests are sent byte for byte, with or without a length."""

    port: int
    tenant: str = ""
    token: str = ""

    def send(
        self,
        method: str,
        path: str,
        body=None,
        token: str | None = None,
        content_type="application/json",
        chunked: bool = False,
    ) -> Answer:
        headers = {"Content-Type": content_type} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if chunked:  # no Content-Length: the body comes in chunks and its length is known at the end
            data = body
            body = (data[i : i + 1000] for i in range(0, len(data), 1000))
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            raw = response.read()
            return Answer(response.status, response.headers, json.loads(raw) if raw else {})
        finally:
            connection.close()

    def post(self, path: str, body, token: str | None = None, **kwargs) -> Answer:
        return self.send(
            "POST", f"/v1/tenants/{self.tenant}{path}", body, self.token if token is None else token, **kwargs
        )

    def get(self, path: str, token: str | None = None) -> Answer:
        return self.send("GET", f"/v1/tenants/{self.tenant}{path}", None, token or self.token)

    def new_tenant(self, tenant_id: str) -> str:
        answer = self.send(
            "POST", "/v1/tenants", json.dumps({"id": tenant_id, "name": tenant_id}).encode(), ADMIN_TOKEN
        )
        assert answer.status == 201, answer
        return answer.body["token"]


@pytest.fixture
def live(settings):
    limited = replace(settings, max_body_bytes=JSON_LIMIT, max_upload_bytes=UPLOAD_LIMIT)
    app = create_app(limited)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        served = Live(server.server_port)
        served.tenant = f"lim-{uuid.uuid4().hex[:8]}"  # ids of this run's own: a PostgreSQL server may be shared
        served.token = served.new_tenant(served.tenant)
        served.post("/units", json.dumps(UNIT).encode())
        yield served
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["unionledger"].close()


UNIT = {"id": "hh", "name": "LĐLĐ huyện Hướng Hóa", "kind": "district", "established_on": "2020-01-01"}


def unit_body(unit_id: str, size: int) -> bytes:
    """A valid unit as JSON, padded with spaces to exactly ``size`` bytes."""
    body = json.dumps(
        {"id": unit_id, "name": "Công đoàn xã", "kind": "commune", "established_on": "2021-01-01", "parent_id": "hh"},
        ensure_ascii=False,
    ).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def workplaces_csv(rows: list[dict]) -> bytes:
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(COLUMNS["workplaces"]))
    for row in rows:
        writer.writerow([row[c] for c in COLUMNS["workplaces"]])
    return out.getvalue().encode()


def workplace(workplace_id: str, **changes) -> dict:
    return {
        "id": workplace_id,
        "name": "Công ty TNHH A",
        "sector": "private_enterprise",
        "unit_id": "hh",
        "workers": 40,
        "female_workers": 20,
        "as_of": "2021-01-01",
        **changes,
    }


def form(content: bytes, size: int | None = None, filename: str = "workplaces.csv") -> bytes:
    """A multipart form with one file; with ``size``, the file padded with blank lines (which an
    import skips) so that the whole request body is exactly ``size`` bytes."""

    def build(padding: int) -> bytes:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        )
        return head.encode() + content + b"\n" * padding + f"\r\n--{BOUNDARY}--\r\n".encode()

    if size is None:
        return build(0)
    padding = size - len(build(0))
    assert padding >= 0
    return build(padding)


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


# ---- JSON bodies ------------------------------------------------------------------------------


def test_a_json_body_at_the_limit_is_taken(live):
    answer = live.post("/units", unit_body("at-limit", JSON_LIMIT))
    assert answer.status == 201, answer
    assert live.get("/units/at-limit").status == 200


def test_a_json_body_one_byte_over_the_limit_is_413_saying_the_limit_and_writes_nothing(live):
    answer = live.post("/units", unit_body("over", JSON_LIMIT + 1))
    assert answer.problem(413), answer
    assert answer.body["max_bytes"] == JSON_LIMIT and str(JSON_LIMIT) in answer.body["detail"], answer.body
    assert live.get("/units/over").status == 404


def test_a_chunked_json_body_over_the_limit_is_413(live):
    answer = live.post("/units", unit_body("chunked-over", JSON_LIMIT + 500), chunked=True)
    assert answer.problem(413) and answer.body["max_bytes"] == JSON_LIMIT, answer
    assert live.get("/units/chunked-over").status == 404


def test_a_chunked_json_body_within_the_limit_is_read(live):
    assert live.post("/units", unit_body("chunked-in", JSON_LIMIT), chunked=True).status == 201
    assert live.get("/units/chunked-in").status == 200


def test_the_platform_routes_have_the_json_limit_too(live):
    body = json.dumps({"id": "big-tenant", "name": "x" * JSON_LIMIT}).encode()
    answer = live.send("POST", "/v1/tenants", body, ADMIN_TOKEN)
    assert answer.problem(413), answer


# ---- uploads ----------------------------------------------------------------------------------


def test_an_upload_at_its_limit_is_imported(live):
    answer = live.post("/imports", form(workplaces_csv([workplace("w-at")]), UPLOAD_LIMIT), content_type=MULTIPART)
    assert (answer.status, answer.body.get("created", {}).get("workplaces")) == (201, 1), answer
    assert live.get("/workplaces/w-at").status == 200


def test_an_upload_one_byte_over_its_limit_is_413_and_imports_nothing(live):
    answer = live.post(
        "/imports", form(workplaces_csv([workplace("w-over")]), UPLOAD_LIMIT + 1), content_type=MULTIPART
    )
    assert answer.problem(413) and answer.body["max_bytes"] == UPLOAD_LIMIT, answer
    assert live.get("/workplaces/w-over").status == 404


def test_an_upload_may_be_larger_than_a_json_body(live):
    assert JSON_LIMIT < UPLOAD_LIMIT // 2
    answer = live.post(
        "/imports", form(workplaces_csv([workplace("w-mid")]), UPLOAD_LIMIT // 2), content_type=MULTIPART
    )
    assert answer.status == 201, answer


def test_a_chunked_upload_over_its_limit_is_413_and_imports_nothing(live):
    answer = live.post(
        "/imports",
        form(workplaces_csv([workplace("w-chunked")]), UPLOAD_LIMIT + 4000),
        content_type=MULTIPART,
        chunked=True,
    )
    assert answer.problem(413) and answer.body["max_bytes"] == UPLOAD_LIMIT, answer
    assert live.get("/workplaces/w-chunked").status == 404


def test_a_chunked_upload_within_its_limit_is_imported(live):
    answer = live.post(
        "/imports",
        form(workplaces_csv([workplace("w-chunked-in")]), UPLOAD_LIMIT),
        content_type=MULTIPART,
        chunked=True,
    )
    assert answer.status == 201, answer


# ---- the order of refusals: 401, 404, 403, then 413, then the body ----------------------------

BODIES = {  # what is wrong with the body itself is refused after the role too: see test_access.py
    "over the limit": (lambda: unit_body("x", JSON_LIMIT + 1), "application/json"),
    "an upload over the limit": (lambda: form(workplaces_csv([workplace("w-x")]), UPLOAD_LIMIT + 1), MULTIPART),
}


def path_for(content_type: str) -> str:
    return "/imports" if content_type == MULTIPART else "/units"


@pytest.mark.parametrize("case", BODIES)
def test_an_inspector_posting_any_body_is_403(live, case):
    issued = live.post("/tokens", json.dumps({"role": "inspector", "holder": "uy-ban-kiem-tra"}).encode())
    body, content_type = BODIES[case]
    answer = live.post(path_for(content_type), body(), token=issued.body["token"], content_type=content_type)
    assert answer.problem(403), answer


@pytest.mark.parametrize("case", BODIES)
def test_another_tenants_token_posting_any_body_is_404(live, case):
    neighbour = live.new_tenant(f"{live.tenant}-b")
    body, content_type = BODIES[case]
    answer = live.post(path_for(content_type), body(), token=neighbour, content_type=content_type)
    assert answer.problem(404), answer


@pytest.mark.parametrize("case", BODIES)
def test_a_bad_token_posting_any_body_is_401(live, case):
    body, content_type = BODIES[case]
    answer = live.post(path_for(content_type), body(), token="ul_not-a-token", content_type=content_type)
    assert answer.problem(401), answer


@pytest.mark.parametrize("case", BODIES)
def test_a_token_that_may_call_gets_413(live, case):
    body, content_type = BODIES[case]
    assert live.post(path_for(content_type), body(), content_type=content_type).problem(413)


def test_a_tenant_token_posting_a_large_body_to_the_platform_is_403(live):
    answer = live.send("POST", "/v1/tenants", unit_body("x", JSON_LIMIT + 1), live.token)
    assert answer.problem(403), answer


# ---- the published contract -------------------------------------------------------------------


def test_the_openapi_document_gives_each_call_with_a_body_a_413_and_its_limit(live):
    spec = live.send("GET", "/openapi.json").body
    with_body = {
        (path, method): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "requestBody" in op
    }
    assert ("/v1/tenants/{tenant}/units", "post") in with_body and ("/v1/tenants", "post") in with_body
    for (path, method), op in with_body.items():
        limit = UPLOAD_LIMIT if path.endswith("/imports") else JSON_LIMIT
        assert "413" in op["responses"], (path, method)
        assert f"At most {limit} bytes" in op["requestBody"]["description"], (path, method)
    no_body = spec["paths"]["/v1/tenants/{tenant}/units/{unit_id}"]["get"]["responses"]
    assert "413" not in no_body and "429" in no_body
    assert "Retry-After" in spec["components"]["responses"]["TOO_MANY_REQUESTS"]["headers"]


# ---- through gunicorn, as the service runs ----------------------------------------------------


def announce(port: int, path: str, token: str, length: int, content_type: str) -> tuple[int, dict, float]:
    """Send a request's head announcing ``length`` bytes and none of them; the answer, and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
        )
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read()), time.monotonic() - started


def test_gunicorn_refuses_an_over_large_body_without_reading_it(settings):
    """Only the head is sent: had the service waited for the body it announces, no answer would come."""
    from tests.api.test_process import Server, call, free_port

    server = Server(settings, free_port()).start()
    try:
        tenant_id = f"big-{uuid.uuid4().hex[:8]}"
        status, created = call(server.base, "POST", "/v1/tenants", ADMIN_TOKEN, {"id": tenant_id, "name": "Big"})
        assert status == 201, created
        answers = [
            announce(server.port, "/v1/tenants", ADMIN_TOKEN, 100 << 20, "application/json"),
            announce(server.port, f"/v1/tenants/{tenant_id}/imports", created["token"], 1 << 30, MULTIPART),
        ]
        assert [(status, body["status"], body["max_bytes"]) for status, body, _ in answers] == [
            (413, 413, 1 << 20),
            (413, 413, 64 << 20),
        ]
        assert all(seconds < 10 for _, _, seconds in answers), answers
        assert call(server.base, "GET", f"/v1/tenants/{tenant_id}/units/none", created["token"])[0] == 404
    finally:
        server.stop()
