"""Operating the service: /metrics (who reads it, what it counts, under several gunicorn
workers), the JSON log with its request ids (no password, no token in it), and /readyz naming
the server that does not answer."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import subprocess
import sys
import urllib.request
from datetime import date

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import logs
from tests.api.test_process import ROOT, Server, call, free_port
from tests.conftest import ADMIN_TOKEN, TenantClient, recorded_without_views

SCRAPER = "scraper-token-of-its-own"


def scrape(client, token: str = ADMIN_TOKEN) -> dict[tuple[str, tuple], float]:
    """The samples of /metrics by name and labels."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/plain"
    return samples(answer.get_data(as_text=True))


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def unit(i: int) -> dict:
    return {"id": f"d{i}", "name": f"D{i}", "kind": "district", "established_on": "2020-01-01"}


def test_only_the_admin_and_the_scraper_read_the_metrics(settings, tenant: TenantClient):
    from service.app import create_app

    app = create_app(dataclasses.replace(settings, metrics_token=SCRAPER))
    try:
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer ul_nobody"}).status_code == 401
        refused = client.get("/metrics", headers=tenant.headers)
        assert (refused.status_code, refused.mimetype) == (403, "application/problem+json")
        scrape(client, ADMIN_TOKEN)
        scrape(client, SCRAPER)
    finally:
        app.extensions["unionledger"].close()


def test_requests_commands_and_how_far_views_and_chain_trail_the_ledger(client, tenant: TenantClient):
    route = ("unionledger_requests_total", "POST", "/v1/tenants/<tenant>/units")

    def requests(status: str) -> float:
        key = (route[0], (("method", route[1]), ("route", route[2]), ("status", status)))
        return scrape(client).get(key, 0.0)

    done, refused = requests("201"), requests("409")
    tenant.post("/units", unit(1))
    tenant.post("/units", unit(2))
    tenant.post("/units", unit(1), expect=409)  # the id is taken: refused, nothing recorded
    seen = scrape(client)
    assert requests("201") == done + 2 and requests("409") == refused + 1
    commands = {
        o: seen.get(("unionledger_commands_total", (("outcome", o), ("tenant", tenant.id))))
        for o in ("done", "refused")
    }
    assert commands == {"done": 2.0, "refused": 1.0}
    count = ("unionledger_request_seconds_count", (("method", "POST"), ("route", route[2])))
    assert seen[count] >= 3
    t = (("tenant", tenant.id),)
    assert (seen[("unionledger_ledger_events", t)], seen[("unionledger_views_behind_events", t)]) == (2.0, 0.0)
    assert seen[("unionledger_chain_behind_events", t)] == 0.0

    from domain.commands import EstablishUnit  # a crash between the events and the views: one behind

    platform = client.application.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        recorded_without_views(store, EstablishUnit(actor="t", **{**unit(3), "established_on": date(2020, 1, 1)}))
    seen = scrape(client)
    assert (seen[("unionledger_ledger_events", t)], seen[("unionledger_views_behind_events", t)]) == (3.0, 1.0)
    assert seen[("unionledger_chain_behind_events", t)] == 1.0
    tenant.get("/units/d3")  # a read catches the views and the chain up
    seen = scrape(client)
    assert (seen[("unionledger_views_behind_events", t)], seen[("unionledger_chain_behind_events", t)]) == (0.0, 0.0)


def test_a_folder_named_after_the_counters_were_made_does_not_hide_them(client, tenant, tmp_path, monkeypatch):
    """prometheus-client chose where this process counts when it was imported: a scrape reads
    them there, even if PROMETHEUS_MULTIPROC_DIR is set later (the folder holds none of them)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    key = (
        "unionledger_requests_total",
        (("method", "POST"), ("route", "/v1/tenants/<tenant>/units"), ("status", "201")),
    )
    before = scrape(client).get(key, 0.0)
    tenant.post("/units", unit(1))
    assert scrape(client)[key] == before + 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # the embedded store has no pools
def test_pool_use_is_counted_per_server(backend, client, tenant: TenantClient):
    tenant.post("/units", unit(1))
    client.application.extensions["unionledger.pools_renewed"] = 0.0  # renewed at the next request's end
    tenant.get("/units/d1")
    seen = scrape(client)
    pools = {k[1]: v for k, v in seen.items() if k[0] == "unionledger_pool_connections"}
    size = pools[(("server", "main"), ("state", "size"))]
    assert size >= 2  # the control store's connection and the tenant store's, at least
    assert pools[(("server", "main"), ("state", "waiting"))] == 0


def test_the_log_is_json_with_a_request_id_and_never_a_password_or_a_token(client, admin, tenant, clock):
    password = "một mật khẩu dài đủ 2030"
    stream = io.StringIO()
    handler = logs.install(logging.INFO, stream)
    try:
        tenant.post(
            "/users", {"username": "lan", "full_name": "Nguyễn Thị Lan", "role": "auditor", "password": password}
        )
        wrong = client.post("/v1/sessions", json={"tenant": tenant.id, "username": "lan", "password": password + "x"})
        assert wrong.status_code == 401
        login = client.post("/v1/sessions", json={"tenant": tenant.id, "username": "lan", "password": password})
        assert login.status_code == 201, login.get_json()
        session = login.get_json()["token"]
        asked = client.get(
            tenant.url("/units"), headers={"Authorization": f"Bearer {session}", "X-Request-Id": "abc-123"}
        )
        assert (asked.status_code, asked.headers["X-Request-Id"]) == (200, "abc-123")
        pasted = client.get("/healthz", headers={"X-Request-Id": session})  # a token where an id goes: replaced
        assert pasted.headers["X-Request-Id"] != session and re.fullmatch(
            r"[0-9a-f]{32}", pasted.headers["X-Request-Id"]
        )
        client.get(tenant.url("/units"), headers={"Authorization": f"Bearer {tenant.token}x"})  # a bad token
    finally:
        for name in logs.LOGGERS:
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).propagate = True
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["logger"] == "service.requests"]
    assert [(r["method"], r["route"], r["status"]) for r in requests][-4:] == [
        ("POST", "/v1/sessions", 201),
        ("GET", "/v1/tenants/<tenant>/units", 200),
        ("GET", "/healthz", 200),
        ("GET", "/v1/tenants/<tenant>/units", 401),
    ]
    assert "abc-123" in {r["request_id"] for r in requests}
    assert len({r["request_id"] for r in requests}) == len(requests)  # one id each
    assert any(line["level"] == "warning" and line["request_id"] for line in lines)  # the failed login's, say
    for secret in (password, password + "x", session, tenant.token, ADMIN_TOKEN, "Nguyễn Thị Lan", 'lan"'):
        assert secret not in text, secret


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # servers are PostgreSQL's
def test_readyz_names_the_server_that_does_not_answer(backend, settings):
    from service.app import create_app

    away = f"postgresql://postgres:secret-pw@127.0.0.1:{free_port()}/test"  # nothing listens there
    spread = dataclasses.replace(settings, servers=(("main", settings.database_url), ("second", away)))
    app = create_app(spread)
    try:
        ready = app.test_client().get("/readyz")
        assert (ready.status_code, ready.mimetype) == (503, "application/problem+json")
        detail = ready.get_json()["detail"]
        assert detail.startswith("server second unreachable: PostgreSQL at 127.0.0.1:") and "main" not in detail
        assert "secret-pw" not in ready.get_data(as_text=True)
    finally:
        app.extensions["unionledger"].close()
    app = create_app(settings)
    try:
        ready = app.test_client().get("/readyz")
        assert (ready.status_code, ready.get_json()["servers"]) == (200, {"main": "ready"})
    finally:
        app.extensions["unionledger"].close()


def test_several_gunicorn_workers_count_as_one_service(settings, tmp_path):
    """Whichever worker answers a scrape, it counts every worker's requests."""
    server = Server(settings, free_port())
    server.env["UNIONLEDGER_WORKERS"] = "3"
    server.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server.start()
    try:
        for _ in range(30):
            assert call(server.base, "GET", "/healthz")[0] == 200
        key = ("unionledger_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))
        seen = []
        for _ in range(6):
            request = urllib.request.Request(
                server.base + "/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                seen.append(samples(answer.read().decode()).get(key))
        assert seen == [31.0] * 6  # the 30, and the start's wait for /healthz
    finally:
        server.stop()
    out = server.process.stdout.read().decode()
    assert ADMIN_TOKEN not in out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert sum(1 for line in lines if line.get("route") == "/healthz") == 31


def test_the_metrics_module_runs_without_gunicorn():
    """prometheus-client's multiprocess mode is gunicorn's alone: the CLI and the tests count in-process."""
    out = subprocess.run(
        [sys.executable, "-c", "import service.metrics, os; print(os.environ.get('PROMETHEUS_MULTIPROC_DIR'))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == "None", out.stderr
