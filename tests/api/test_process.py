"""The service as users run it: gunicorn with the repository's config, real HTTP, restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from bench.serving import free_port, gunicorn_command
from tests.conftest import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]
# Tenants' schemas are named after them: ids of this run's own, so that two runs of the suite can
# share one PostgreSQL server.
RESTART = f"restart-{uuid.uuid4().hex[:8]}"


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Server:
    def __init__(self, settings, port: int):
        self.port = port
        self.env = {
            **os.environ,
            "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
            "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
            "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
            "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
            "UNIONLEDGER_WORKERS": "2",
            "PYTHONPATH": str(ROOT),
        }
        self.process = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.process = subprocess.Popen(
            gunicorn_command("service.wsgi:app", self.port),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if call(self.base, "GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail("gunicorn did not start: " + self.process.stdout.read().decode()[-2000:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def test_gunicorn_serves_and_a_restart_keeps_everything(settings):
    server = Server(settings, free_port()).start()
    try:
        status, tenant = call(server.base, "POST", "/v1/tenants", ADMIN_TOKEN, {"id": RESTART, "name": "Restart"})
        assert status == 201
        token = tenant["token"]
        t = f"/v1/tenants/{RESTART}"
        assert (
            call(
                server.base,
                "POST",
                t + "/units",
                token,
                {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"},
            )[0]
            == 201
        )
        assert (
            call(
                server.base,
                "POST",
                t + "/workplaces",
                token,
                {
                    "id": "w1",
                    "name": "W1",
                    "sector": "cooperative",
                    "unit_id": "d1",
                    "workers": 15,
                    "female_workers": 9,
                    "as_of": "2019-01-01",
                },
            )[0]
            == 201
        )
        assert (
            call(
                server.base,
                "POST",
                t + "/unions",
                token,
                {"id": "u1", "name": "U1", "workplace_id": "w1", "unit_id": "d1", "founded_on": "2019-02-01"},
            )[0]
            == 201
        )
        for n in range(3):
            assert (
                call(
                    server.base,
                    "POST",
                    t + "/members",
                    token,
                    {
                        "id": f"m{n}",
                        "union_id": "u1",
                        "admitted_on": "2019-03-01",
                        "full_name": f"Đoàn viên {n}",
                        "gender": "female",
                    },
                )[0]
                == 201
            )
        before = call(server.base, "GET", t + "/indicators?period=2019", token)[1]
    finally:
        server.stop()
    server = Server(settings, free_port()).start()
    try:
        status, after = call(server.base, "GET", t + "/indicators?period=2019", token)
        assert status == 200
        assert after == before
        assert after["figures"]["members_total"] == 3
        assert call(server.base, "GET", t + "/members/m2", token)[1]["full_name"] == "Đoàn viên 2"
        listed = call(server.base, "GET", "/v1/tenants", ADMIN_TOKEN)[1]["tenants"]
        assert [{k: v for k, v in t.items() if k != "server"} for t in listed] == [{"id": RESTART, "name": "Restart"}]
    finally:
        server.stop()


def test_a_worker_keeps_the_loaded_app_out_of_the_collectors_reach(monkeypatch, tmp_path):
    import gc
    import logging
    import runpy
    from types import SimpleNamespace

    import gunicorn.util

    from service import logs

    # The config, run in this process, sets PROMETHEUS_MULTIPROC_DIR (a folder of its own, left
    # behind) and replaces gunicorn's error writer: left so, later tests' in-process scrapes would
    # read the files of the gunicorn workers started after it instead of this process's counters.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(gunicorn.util, "write_error", gunicorn.util.write_error)
    monkeypatch.setattr(logs, "_installed", list(logs._installed))
    config = runpy.run_path(str(ROOT / "service" / "gunicorn.conf.py"))
    kept = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level, logging.getLogger(n).propagate)
        for n in logs.LOGGERS
    }
    worker = SimpleNamespace(log=SimpleNamespace(error_log=logging.getLogger("gunicorn.error")))
    gc.unfreeze()
    try:
        config["post_worker_init"](worker)
        assert gc.get_freeze_count() > 1000  # what was alive is frozen: full collections skip it
    finally:
        gc.unfreeze()
        for n, (handlers, level, propagate) in kept.items():
            logger = logging.getLogger(n)
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)


def test_what_gunicorn_refuses_itself_is_a_problem_too(tmp_path):
    """A request line or a header too large never reaches the app: gunicorn answers it, in the
    API's problem details rather than its own HTML page."""
    from tenants.settings import Settings

    server = Server(Settings(data_dir=tmp_path), free_port()).start()
    answers = []
    try:
        for path, headers in ((f"/v1/tenants/t/units/{'y' * 5000}", {}), ("/healthz", {"X-Big": "z" * 9000})):
            request = urllib.request.Request(server.base + path, headers=headers)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=30)
            body = json.loads(refused.value.read())
            answers.append(
                (
                    refused.value.code,
                    refused.value.headers["Content-Type"],
                    body["status"],
                    bool(body["title"]),
                    bool(body["detail"]),
                )
            )
    finally:
        server.stop()
    assert answers == [
        (414, "application/problem+json", 414, True, True),
        (431, "application/problem+json", 431, True, True),
    ]


def raw_request(base: str, head: bytes, body: bytes = b"") -> tuple[int, str, dict]:
    """Sends bytes as they are (urllib and http.client refuse a NUL): status, content type, body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head + b"Connection: close\r\n\r\n" + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head_text, _, payload = answer.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers.get("content-type", ""), json.loads(payload or b"null")


def test_odd_bytes_on_the_wire_are_refused_as_problems_and_the_tenant_keeps_answering(settings):
    """What werkzeug makes of %00 in a path or a query string (a real NUL) and what gunicorn refuses
    itself (a raw control character in a header or the request line), as a client sends them."""
    tenant_id = f"wire-{uuid.uuid4().hex[:8]}"
    server = Server(settings, free_port()).start()
    try:
        token = call(server.base, "POST", "/v1/tenants", ADMIN_TOKEN, {"id": tenant_id, "name": "Wire"})[1]["token"]
        t = f"/v1/tenants/{tenant_id}".encode()
        auth = f"Authorization: Bearer {token}\r\n".encode()
        body = b'{"id": "d1", "name": "D1\\u0000", "kind": "district", "established_on": "2018-01-01"}'
        answers = [
            raw_request(server.base, b"GET " + t + b"/units/d%00 HTTP/1.1\r\nHost: x\r\n" + auth)[:2],
            raw_request(server.base, b"GET " + t + b"/audit?actor=%00 HTTP/1.1\r\nHost: x\r\n" + auth)[:2],
            raw_request(server.base, b"GET " + t + b"/units/%ED%A0%80 HTTP/1.1\r\nHost: x\r\n" + auth)[:2],
            raw_request(
                server.base,
                b"POST "
                + t
                + b"/units HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + auth
                + f"Content-Length: {len(body)}\r\n".encode(),
                body,
            )[:2],
            raw_request(server.base, b"GET " + t + b"/units/d1 HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n" + auth)[:2],
            raw_request(server.base, b"GET " + t + b"/units/d\xff1 HTTP/1.1\r\nHost: x\r\n" + auth)[:2],
        ]
        assert answers == [
            (404, "application/problem+json"),
            (422, "application/problem+json"),
            (404, "application/problem+json"),
            (422, "application/problem+json"),
            (400, "application/problem+json"),
            (400, "application/problem+json"),
        ]
        assert (
            call(
                server.base,
                "POST",
                f"/v1/tenants/{tenant_id}/units",
                token,
                {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"},
            )[0]
            == 201
        )
        assert (
            call(server.base, "GET", f"/v1/tenants/{tenant_id}/audit", token)[1]["entries"][0]["data"]["name"] == "D1"
        )
    finally:
        server.stop()
