"""The single admission answered in front of Flask (service/admissions.py) answers as the Flask app
does: the same status, headers and body for accepted admissions and for every kind of refusal,
the same metrics and log line; whatever it is not sure of reaches the Flask app."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from werkzeug.test import Client

from service import logs, metrics
from service.admissions import ROUTE, AdmissionRoute
from tests.api.test_roles import issue
from tests.api.test_users import PASSWORD, add_user
from tests.conftest import TenantClient, new_tenant

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")


@pytest.fixture
def sides(app, units: TenantClient):
    """The tenant's unions (un-a under u-a, un-b under u-b), and the two ways in: the layer
    (counting what it hands to Flask) and the Flask app alone."""
    for unit in ("a", "b"):
        units.post(
            "/workplaces",
            {
                "id": f"w-{unit}",
                "name": f"DN {unit}",
                "sector": "private_enterprise",
                "unit_id": f"u-{unit}",
                "workers": 40,
                "female_workers": 20,
                "as_of": "2021-01-01",
            },
        )
        units.post(
            "/unions",
            {
                "id": f"un-{unit}",
                "name": f"CĐ {unit}",
                "workplace_id": f"w-{unit}",
                "unit_id": f"u-{unit}",
                "founded_on": "2021-02-01",
            },
        )
    route = app.wsgi_app
    assert isinstance(route, AdmissionRoute)
    flask_app, handed = route.flask_app, []

    def counted(environ, start_response):
        handed.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    route.flask_app = counted
    return Client(route, use_cookies=False), Client(flask_app, use_cookies=False), handed


def body(side: str, n: int, **changed) -> dict:
    member = {
        "id": f"{side}-{n:03d}",
        "union_id": "un-a",
        "admitted_on": "2024-05-01",
        "full_name": "Nguyễn Thị Hồng Nhung",
        "gender": "female",
        "birth_date": "1990-01-02",
        "id_number": "001090000123",
    }
    return {k: v for k, v in {**member, **changed}.items() if v is not ...}


def _answer(response, side: str):
    text = STAMP.sub("STAMP", response.get_data(as_text=True)).replace(f'"{side}-', '"X-')
    headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
    return response.status, headers, text


def test_admissions_and_every_refusal_answer_alike_on_both_ways(app, units, sides):
    quick, plain, handed = sides
    admin_auth = {"Authorization": f"Bearer {units.token}"}
    officer_token = units.post("/tokens", {"role": "officer", "holder": "o", "scope_unit_id": "u-a"}).get_json()[
        "token"
    ]
    viewer = issue(units, "viewer", "v")
    other = new_tenant(units.client, {"Authorization": "Bearer " + _admin_token(app)})
    add_user(units, role="federation_admin", scope_unit_id=None)
    login = units.client.post(
        "/v1/sessions", json={"tenant": units.id, "username": "lan", "password": PASSWORD, "cookie": True}
    )
    csrf = login.get_json()["csrf_token"]
    session_token = login.headers.getlist("Set-Cookie")[0].split(";")[0].split("=", 1)[1]
    cookie = f"ul_session={session_token}; ul_csrf={csrf}"
    units.post("/members", body("x", 1))  # exists before: both ways refuse it again
    path = f"/v1/tenants/{units.id}/members"

    def post(auth=admin_auth, to=path, **kw):
        return lambda side, n: {"path": to, "headers": {**auth, "X-Request-Id": f"rid-{n}"}, **kw}

    def as_json(make, auth=admin_auth, to=path, ctype="application/json"):
        return lambda side, n: {
            "path": to,
            "data": json.dumps(make(side, n)),
            "headers": {**auth, "X-Request-Id": f"rid-{n}", "Content-Type": ctype},
        }

    cases = {  # name: (request by side, whether the layer answers it itself)
        "accepted": (as_json(lambda s, n: body(s, n)), True),
        "accepted, no personal extras": (as_json(lambda s, n: body(s, n, birth_date=..., id_number=...)), True),
        "accepted, charset": (as_json(lambda s, n: body(s, n), ctype="application/json; charset=utf-8"), True),
        "accepted, scoped officer": (
            as_json(lambda s, n: body(s, n), auth={"Authorization": f"Bearer {officer_token}"}),
            True,
        ),
        "accepted, cookie session": (
            as_json(lambda s, n: body(s, n), auth={"Cookie": cookie, "X-CSRF-Token": csrf}),
            True,
        ),
        "exists": (as_json(lambda s, n: body("x", 1)), True),
        "no such union": (as_json(lambda s, n: body(s, n, union_id="un-z")), True),
        "before the union": (as_json(lambda s, n: body(s, n, admitted_on="2020-01-01")), True),
        "out of scope": (
            as_json(lambda s, n: body(s, n, union_id="un-b"), auth={"Authorization": f"Bearer {officer_token}"}),
            True,
        ),
        "bad gender": (as_json(lambda s, n: body(s, n, gender="other")), False),
        "unknown field": (as_json(lambda s, n: {**body(s, n), "extra": 1}), False),
        "missing field": (as_json(lambda s, n: body(s, n, full_name=...)), False),
        "bad date": (as_json(lambda s, n: body(s, n, admitted_on="2024-02-30")), False),
        "array": (as_json(lambda s, n: [body(s, n)]), False),
        "not json": (post(data=b"{nope", content_type="application/json"), False),
        "empty": (post(data=b"", content_type="application/json"), False),
        "form": (post(data={"id": "f"}), False),
        "text/plain": (as_json(lambda s, n: body(s, n), ctype="text/plain"), False),
        "too large": (as_json(lambda s, n: body(s, n, full_name="x" * 2_000_000)), False),
        "query string": (as_json(lambda s, n: body(s, n), to=path + "?as_of=2024-01-01"), False),
        "no token": (as_json(lambda s, n: body(s, n), auth={}), False),
        "bad token": (as_json(lambda s, n: body(s, n), auth={"Authorization": "Bearer nope"}), False),
        "admin token": (as_json(lambda s, n: body(s, n), auth={"Authorization": "Bearer " + _admin_token(app)}), False),
        "other tenant": (as_json(lambda s, n: body(s, n), auth={"Authorization": f"Bearer {other.token}"}), False),
        "viewer": (as_json(lambda s, n: body(s, n), auth={"Authorization": f"Bearer {viewer.token}"}), False),
        "cookie without csrf": (as_json(lambda s, n: body(s, n), auth={"Cookie": cookie}), False),
        "unknown tenant": (as_json(lambda s, n: body(s, n), to="/v1/tenants/nope/members"), False),
        "trailing slash": (as_json(lambda s, n: body(s, n), to=path + "/"), False),
    }
    for n, (name, (request, answered_here)) in enumerate(cases.items(), start=10):
        handed.clear()
        got = quick.post(**request("q", n))
        want = plain.post(**request("f", n))
        assert _answer(got, "q") == _answer(want, "f"), name
        assert (handed == []) == answered_here, (name, got.status, got.get_data(as_text=True))
    entries = [e["event"] for e in units.get("/access-log").get_json()["entries"]]
    assert entries.count("refused_scope") == 2 and entries.count("refused_role") == 2
    assert entries.count("refused_csrf") == 2
    # every admission each way took is in the register
    listed = {m["id"] for m in units.get("/members", limit=1000).get_json()["members"]}
    assert {"q-010", "f-010", "q-011", "f-011", "q-012", "f-012", "q-013", "f-013", "q-014", "f-014"} <= listed


def _admin_token(app) -> str:
    return app.extensions["unionledger"].settings.admin_token


def test_an_admission_is_counted_and_logged_as_the_flask_app_does_it(app, units, sides):
    quick, plain, handed = sides
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    requests_log = logging.getLogger("service.requests")
    requests_log.addHandler(handler)
    level = requests_log.level
    requests_log.setLevel(logging.INFO)
    counter = metrics.REQUESTS.labels("POST", ROUTE, "201")
    commands = metrics.COMMANDS.labels(units.id, "done")
    try:
        lines = []
        for client, side in ((quick, "q"), (plain, "f")):
            before, done = counter._value.get(), commands._value.get()
            stream.seek(0)
            stream.truncate()
            answer = client.post(
                f"/v1/tenants/{units.id}/members",
                json=body(side, 1),
                headers={"Authorization": f"Bearer {units.token}", "X-Request-Id": "rid-1"},
            )
            assert answer.status_code == 201
            assert counter._value.get() == before + 1 and commands._value.get() == done + 1
            (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
            assert line.pop("time") and line.pop("ms") >= 0
            lines.append(line)
        assert handed == []
        assert (
            lines[0]
            == lines[1]
            == {
                "level": "info",
                "logger": "service.requests",
                "message": f"POST {ROUTE} 201",
                "request_id": "rid-1",
                "method": "POST",
                "route": ROUTE,
                "status": 201,
                "tenant": units.id,
            }
        )
    finally:
        requests_log.removeHandler(handler)
        requests_log.setLevel(level)
