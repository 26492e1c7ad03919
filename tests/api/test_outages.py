"""The database restarting or going away, as the service's users see it (PostgreSQL only).

A restart is simulated by terminating this deployment's own server connections (found by the
application_name its pools give them, so other runs sharing the server are never touched); an
outage by a relay in front of the server that is taken away (its connections cut, its port
closed) and brought back.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from urllib.parse import urlparse

import psycopg
import pytest

from tenants.settings import Settings
from tests.api.test_process import Server, call, free_port
from tests.conftest import ADMIN_TOKEN, PG_URL, drop_schemas, need_postgres, new_tenant

UNIT = {"id": "d1", "name": "District 1", "kind": "district", "established_on": "2018-01-01"}
WORKPLACE = {
    "id": "w1",
    "name": "W1",
    "sector": "cooperative",
    "unit_id": "d1",
    "workers": 15,
    "female_workers": 9,
    "as_of": "2019-01-01",
}
UNION = {"id": "u1", "name": "U1", "workplace_id": "w1", "unit_id": "d1", "founded_on": "2019-02-01"}


def member(n: int) -> dict:
    return {
        "id": f"m{n}",
        "union_id": "u1",
        "admitted_on": "2019-03-01",
        "full_name": f"Đoàn viên {n}",
        "gender": "female",
    }


@pytest.fixture
def backend() -> str:
    need_postgres()
    return "postgres"


def restart(settings: Settings) -> set[str]:
    """Terminate every server connection of this deployment, as a restart of PostgreSQL would, and
    wait until they are gone; returns the application names they had."""
    ours = settings.application_name()
    with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
        # Ours chosen first, in a CTE of its own: in one WHERE the planner may call
        # pg_terminate_backend before the test of the name, on every connection of the server.
        killed = conn.execute(
            "WITH ours AS MATERIALIZED (SELECT pid, application_name FROM pg_stat_activity"
            " WHERE (application_name = %s OR starts_with(application_name, %s)) AND pid <> pg_backend_pid())"
            " SELECT pid, application_name FROM ours WHERE pg_terminate_backend(pid)",
            (ours, ours + "/"),
        ).fetchall()
        pids = [pid for pid, _ in killed]
        deadline = time.monotonic() + 10
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()[0]:
            assert time.monotonic() < deadline, "terminated connections did not go away"
            time.sleep(0.05)
    return {name for _, name in killed}


def seed(tenant) -> str:
    """A tenant with a few entities; returns an inspector token this process has not yet seen
    (so that the next request made with it asks the control store)."""
    for path, body in (("/units", UNIT), ("/workplaces", WORKPLACE), ("/unions", UNION), ("/members", member(0))):
        tenant.post(path, body)
    return tenant.post("/tokens", {"role": "inspector", "holder": "uy-ban-kiem-tra"}).get_json()["token"]


def test_a_database_restart_costs_no_failed_request(client, admin, tenant, settings):
    inspector = seed(tenant)
    tenant.get("/indicators", period="2019")  # every pool holds connections
    names = restart(settings)
    assert {settings.application_name(), settings.application_name(tenant.id)} <= names

    as_inspector = {"Authorization": f"Bearer {inspector}"}
    answers = [
        client.get(tenant.url("/units/d1"), headers=as_inspector).status_code,  # a token the control store checks
        tenant.get("/members/m0", expect=None).status_code,
        tenant.get("/indicators", period="2019", expect=None).status_code,
        tenant.post("/members", member(1), expect=None).status_code,
        client.get("/v1/tenants", headers=admin).status_code,
        client.get("/readyz").status_code,
    ]
    assert answers == [200, 200, 200, 201, 200, 200]
    assert tenant.get("/indicators", period="2019").get_json()["figures"]["members_total"] == 2


def test_a_database_restart_under_gunicorn_costs_no_failed_request(settings):
    server = Server(settings, free_port()).start()
    tenant_id = f"restart-{uuid.uuid4().hex[:8]}"
    t = f"/v1/tenants/{tenant_id}"
    try:
        status, created = call(server.base, "POST", "/v1/tenants", ADMIN_TOKEN, {"id": tenant_id, "name": "Restart"})
        assert status == 201
        token = created["token"]
        for path, body in (("/units", UNIT), ("/workplaces", WORKPLACE), ("/unions", UNION)):
            assert call(server.base, "POST", t + path, token, body)[0] == 201
        inspector = call(server.base, "POST", t + "/tokens", token, {"role": "inspector", "holder": "ubkt"})[1]["token"]
        for _ in range(8):  # both workers open the tenant and fill their pools
            assert call(server.base, "GET", t + "/units/d1", token)[0] == 200
        names = restart(settings)
        assert {settings.application_name(), settings.application_name(tenant_id)} <= names

        answers = [call(server.base, "GET", t + "/units/d1", inspector)[0]]
        answers += [call(server.base, "GET", t + "/unions/u1", token)[0] for _ in range(8)]
        answers += [call(server.base, "POST", t + "/members", token, member(n))[0] for n in range(4)]
        answers += [call(server.base, "GET", "/readyz")[0]]
        assert answers == [200] + [200] * 8 + [201] * 4 + [200]
    finally:
        server.stop()


class Relay:
    """A TCP relay to PostgreSQL on a port of its own. ``stop`` is the database going away for the
    service (its connections cut, its port closed); ``start`` is it coming back."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.port = free_port()
        self._running = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting: threading.Thread | None = None

    @classmethod
    def to_test_server(cls) -> Relay:
        url = urlparse(PG_URL)
        return cls(url.hostname or "127.0.0.1", url.port or 5432)

    def url(self, password: str | None) -> str:
        """The test database's URL, through the relay."""
        url = urlparse(PG_URL)
        secret = f":{password}" if password else ""
        return f"postgresql://{url.username or 'postgres'}{secret}@127.0.0.1:{self.port}{url.path}"

    def start(self) -> Relay:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.1)
        self._running.set()
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()
        return self

    def stop(self) -> None:
        self._running.clear()
        self._accepting.join()
        with self._lock:
            for sock in self._sockets:
                _cut(sock)
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._running.is_set():
                try:
                    near, _ = listener.accept()
                except TimeoutError:
                    continue
                near.settimeout(None)
                far = socket.create_connection(self.upstream)
                with self._lock:
                    self._sockets |= {near, far}
                for source, sink in ((near, far), (far, near)):
                    threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _cut(sink)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def test_while_the_database_is_away_calls_answer_503_quickly_and_then_work_again(tmp_path):
    from service.app import create_app

    need_postgres()
    relay = Relay.to_test_server().start()
    password = urlparse(PG_URL).password or "never-shown"  # trust authentication does not ask for it
    settings = Settings(
        database_url=relay.url(password),
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        control_schema=f"ctl_{uuid.uuid4().hex[:8]}",
        max_open_tenants=4,
    )
    app = create_app(settings)
    client = app.test_client()
    made: list[str] = []
    try:
        tenant = new_tenant(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        made.append(tenant.id)
        inspector = seed(tenant)
        relay.stop()

        away = {
            "read": timed(lambda: tenant.get("/units/d1", expect=None)),
            "command": timed(lambda: tenant.post("/members", member(1), expect=None)),
            "authentication": timed(
                lambda: client.get(tenant.url("/units/d1"), headers={"Authorization": f"Bearer {inspector}"})
            ),
        }
        for what, (response, seconds) in away.items():
            body = response.get_json()
            assert (what, response.status_code, response.mimetype, body["status"]) == (
                what,
                503,
                "application/problem+json",
                503,
            )
            assert int(response.headers["Retry-After"]) > 0
            assert seconds < 10, (what, seconds)  # bounded by UNIONLEDGER_DB_TIMEOUT_SECONDS, not 30 s
        ready, seconds = timed(lambda: client.get("/readyz"))
        assert (ready.status_code, ready.mimetype, seconds < 10) == (503, "application/problem+json", True)
        assert ready.get_json()["detail"].startswith(f"control store unreachable: PostgreSQL at 127.0.0.1:{relay.port}")
        assert ready.headers["Retry-After"]
        assert not [what for what, (response, _) in away.items() if password in response.get_data(as_text=True)]
        assert password not in ready.get_data(as_text=True)

        relay.start()
        answers = [
            client.get(tenant.url("/units/d1"), headers={"Authorization": f"Bearer {inspector}"}).status_code,
            tenant.post("/members", member(1), expect=None).status_code,
            tenant.get("/members/m1", expect=None).status_code,
            client.get("/readyz").status_code,
        ]
        assert answers == [200, 201, 200, 200]
    finally:
        relay.stop()
        app.extensions["unionledger"].close()
        drop_schemas(Settings(database_url=PG_URL, control_schema=settings.control_schema), made)


def test_a_request_waiting_while_the_pool_gives_up_reconnecting_is_served_once_the_server_is_back():
    """The pool stops reconnecting after db_timeout; a request already waiting then still gets a
    connection as soon as the server is back, before its own time is out."""
    from persistence.connections import DatabaseUnreachable, Pool, usable

    need_postgres()
    relay = Relay.to_test_server().start()
    settings = Settings(database_url=relay.url(urlparse(PG_URL).password))
    pool = Pool(settings.conninfo(), min_size=1, max_size=1, open=True, check=usable, timeout=3, reconnect_timeout=3)
    outcomes: dict[str, object] = {}

    def request(name: str) -> None:
        try:
            with pool.connection() as conn:
                outcomes[name] = conn.execute("SELECT 1").fetchone()[0]
        except DatabaseUnreachable as error:
            outcomes[name] = error

    try:
        pool.wait(timeout=10)
        relay.stop()
        started = time.monotonic()
        first = threading.Thread(target=request, args=("first",))
        first.start()  # finds the connection cut: the pool tries to reconnect for 3 s, then gives up
        time.sleep(1.5)
        second = threading.Thread(target=request, args=("second",))
        second.start()  # waits until 4.5 s
        time.sleep(max(0.0, started + 3.4 - time.monotonic()))
        relay.start()
        first.join()
        second.join()
    finally:
        relay.stop()
        pool.close()
    assert isinstance(outcomes["first"], DatabaseUnreachable)
    assert outcomes["second"] == 1


def test_the_service_starts_while_the_database_is_away_and_serves_once_it_is_back(tmp_path):
    """A worker that starts during an outage is not ready (503) rather than not running; the
    control store's tables are made when the database first answers."""
    from service.app import create_app

    need_postgres()
    relay = Relay.to_test_server()
    settings = Settings(
        database_url=relay.url(None),
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        control_schema=f"ctl_{uuid.uuid4().hex[:8]}",
        max_open_tenants=4,
    )
    app, seconds = timed(lambda: create_app(settings))
    client = app.test_client()
    made: list[str] = []
    try:
        assert seconds < 10
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert (ready.status_code, ready.mimetype) == (503, "application/problem+json")
        refused = client.get("/v1/tenants", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        relay.start()
        assert client.get("/readyz").status_code == 200
        tenant = new_tenant(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        made.append(tenant.id)
        tenant.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"})
        assert tenant.get("/units/d1").get_json()["name"] == "D1"
    finally:
        if relay._accepting is not None:
            relay.stop()
        app.extensions["unionledger"].close()
        drop_schemas(Settings(database_url=PG_URL, control_schema=settings.control_schema), made)


# ---- a failover's errors, forced where they are met -------------------------------------------------
def read_only_refusal() -> psycopg.errors.ReadOnlySqlTransaction:
    return psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction")


def test_an_admission_refused_by_a_standby_under_promotion_answers_503_and_records_nothing(tenant, monkeypatch):
    """A write that lands on a server no longer (or not yet) the primary is refused by it as a
    read-only transaction, which the library wraps as its InternalError: the database away for
    the client, not a failure of the service."""
    from application import commit

    seed(tenant)

    def on_a_standby(*_args, **_kwargs):
        raise read_only_refusal()

    monkeypatch.setattr(commit, "_decide_and_write", on_a_standby)
    answer = tenant.post("/members", member(1), expect=503)
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["Retry-After"]
    assert answer.get_json()["status"] == 503
    monkeypatch.undo()
    assert tenant.get("/members/m1", expect=404)
    tenant.post("/members", member(1))  # the same request, once the primary takes writes


def test_a_connection_cut_while_the_views_catch_up_answers_503_and_does_not_stop_the_views(app, tenant, monkeypatch):
    """The views' catch-up meeting a server shut down under it (as the old primary's connections
    are, a promotion) is the database away, not an event the views cannot take."""
    from projections.base import Projection

    seed(tenant)
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        store.projector.reset()  # the views behind the ledger: the next read catches them up

        def shut_down(*_args, **_kwargs):
            raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

        monkeypatch.setattr(Projection, "process_batch", shut_down)
        answer = tenant.get("/members/m0", expect=503)
        assert answer.headers["Retry-After"]
        assert answer.get_json()["title"] == "Service unavailable"  # not "Views stopped"
        assert store.stopped is None
    monkeypatch.undo()
    assert tenant.get("/members/m0").get_json()["id"] == "m0"
    tenant.post("/members", member(1))


def test_what_says_the_database_is_away_is_found_through_what_wraps_it():
    from eventsourcing import persistence

    from persistence.outage import database_away

    def wrapped(error: Exception, wrapper: Exception) -> Exception:
        try:
            raise wrapper from error
        except Exception as raised:  # noqa: BLE001 - the wrapper, carrying its cause
            return raised

    assert database_away(wrapped(read_only_refusal(), persistence.InternalError("read-only")))
    assert database_away(wrapped(psycopg.errors.CannotConnectNow("starting up"), RuntimeError("in a thread")))
    assert database_away(psycopg.errors.AdminShutdown("terminating connection"))
    assert not database_away(wrapped(psycopg.errors.UniqueViolation("duplicate"), persistence.IntegrityError("dup")))
    assert not database_away(psycopg.errors.UndefinedTable("no such table"))
    assert not database_away(ValueError("a bug"))
