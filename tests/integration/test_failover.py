"""Failover: the primary lost while the service writes, its synchronous standby promoted.

Two throwaway clusters (faults/replicas.py): a primary and a streaming replica made with
``pg_basebackup -R``, synchronous (``synchronous_standby_names = '*'``). The service is pointed at
both hosts with ``target_session_attrs=read-write``, as one server. Writers admit members with ids
of their own; the primary is stopped as by a crash and the standby promoted (``pg_ctl promote``)
while they write. Without a restart of the service, every admission it acknowledged is on the new
primary once, the writers are acknowledged again there, and the views equal a rebuild.

Where PostgreSQL's server binaries are missing the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from tenants.settings import Settings
from tests.conftest import ADMIN_TOKEN, TenantClient, new_tenant, under_ci
from tests.scenario import union, unit, workplace

pytestmark = pytest.mark.postgres  # servers of its own: never skipped under CI

WRITERS = 4
AFTER = 5  # admissions each writer must have acknowledged by the new primary


@pytest.fixture
def pair():
    from faults.replicas import ReplicatedPostgres

    try:
        replicated = ReplicatedPostgres().__enter__()
    except Exception as error:  # noqa: BLE001 - whatever stopped it is the reason to report
        if under_ci():
            pytest.fail(f"a primary and its standby are required under CI: {error}")
        pytest.skip(f"no throwaway primary and standby: {error}")
    yield replicated
    replicated.__exit__()


class Writer(threading.Thread):
    """Admits members ``{name}-{n}`` one after the other, keeping each answer's status and when it came."""

    def __init__(self, app, tenant: TenantClient, name: str):
        super().__init__(daemon=True)
        self.client = TenantClient(app.test_client(), tenant.id, tenant.token)
        self.name_ = name
        self.answers: list[tuple[str, int, float, str | None]] = []  # id, status, answered at, Retry-After
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            member_id = f"{self.name_}-{n}"
            body = {
                "id": member_id,
                "union_id": "U1",
                "admitted_on": "2024-02-01",
                "full_name": f"Member {member_id}",
                "gender": "female",
            }
            response = self.client.post("/members", body, expect=None)
            self.answers.append(
                (member_id, response.status_code, time.monotonic(), response.headers.get("Retry-After"))
            )
            n += 1
            if response.status_code != 201:
                time.sleep(0.05)

    def acknowledged(self, after: float = 0.0) -> list[str]:
        return [m for m, status, at, _r in self.answers if status == 201 and at > after]


def test_a_promoted_standby_holds_every_acknowledged_admission_and_serves_without_a_restart(pair, tmp_path: Path):
    from service.app import create_app

    settings = Settings(
        database_url=pair.url, data_dir=tmp_path / "data", admin_token=ADMIN_TOKEN, db_timeout=2, max_open_tenants=4
    )
    assert settings.address() == f"127.0.0.1:{pair.primary.port},127.0.0.1:{pair.standby.port}"
    app = create_app(settings)
    try:
        client = app.test_client()
        tenant = new_tenant(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"}, f"f-{uuid.uuid4().hex[:6]}")
        unit(tenant, "D")
        workplace(tenant, "W1", "D", 1000)
        union(tenant, "U1", "W1", "D", "2019-01-01")
        writers = [Writer(app, tenant, f"w{k}") for k in range(WRITERS)]
        for writer in writers:
            writer.start()
        time.sleep(1.5)
        before = sum(len(w.acknowledged()) for w in writers)
        failed_over = time.monotonic()
        promoted_in = pair.fail_over()
        back = time.monotonic()
        deadline = back + 60
        while time.monotonic() < deadline and any(len(w.acknowledged(back)) < AFTER for w in writers):
            time.sleep(0.1)
        for writer in writers:
            writer.stop.set()
        for writer in writers:
            writer.join(timeout=60)
        assert before > 0, "no admission was acknowledged before the failover"
        assert promoted_in < 30
        for writer in writers:
            assert len(writer.acknowledged(back)) >= AFTER, (writer.name_, writer.answers[-3:])
        answers = [a for w in writers for a in w.answers]
        # While the primary is away a write is refused with 503 and Retry-After, never another 5xx;
        # a 409 would be an admission retried by the service after its first attempt had committed.
        refused = [(m, s, r) for m, s, at, r in answers if s != 201]
        assert all(s == 503 and r for _m, s, r in refused), refused[:5]
        assert all(at >= failed_over for _m, s, at, _r in answers if s != 201), "refusals before the failover"

        acknowledged = [m for w in writers for m in w.acknowledged()]
        sent = [m for m, *_ in answers]
        present = {m for m in sent if tenant.get(f"/members/{m}", expect=None).status_code == 200}
        lost = sorted(set(acknowledged) - present)
        assert lost == [], f"{len(lost)} acknowledged admissions lost, e.g. {lost[:3]}"
        # each present member once: the register counts exactly the admissions found
        assert tenant.figures("2024")["members_total"] == len(present) >= len(acknowledged)

        # on the new primary: the views equal a rebuild, and the hash chain verifies
        platform = app.extensions["unionledger"]
        with platform.stores.use(tenant.id) as store:
            tables = [t for projection in store.projector.projections for t in projection.tables]
            live = store.views.dump(tables)
            store.rebuild()
            assert store.views.dump(tables) == live
            verified = store.chain.verify()
            assert verified.events == verified.chained > len(present)
            with store.transaction() as cur:
                assert cur.scalar("SELECT inet_server_port()") == pair.standby.port
    finally:
        app.extensions["unionledger"].close()
