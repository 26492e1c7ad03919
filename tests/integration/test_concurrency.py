"""Readers, imports, rebuilds and catch-ups running together: never a wrong figure, never a 500.

Each reader polls over HTTP with a client of its own while the writer works in another thread;
the writer is slowed a little where it would otherwise finish before the readers start.
"""

from __future__ import annotations

import functools
import threading
import time

import pytest
from click.testing import CliRunner

from application import imports
from application.register import Register
from projections.runner import Projector, ViewsStopped
from service.cli import main
from tenants.stores import TenantStore
from tests.conftest import ADMIN_TOKEN, TenantClient
from tests.integration.test_views import VIEW_TABLES, build_history, empty_as_a_crash_does
from tests.scenario import unions_under

PERIOD = "2018-2028"


class Readers:
    """``count`` threads polling the tenant's indicators until stopped; every answer is kept."""

    def __init__(self, app, tenant: TenantClient, count: int = 6):
        self.app, self.tenant, self.count = app, tenant, count
        self.answers: list[tuple[int, dict | None, str | None]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(count)]

    def _poll(self) -> None:
        client = self.app.test_client()
        while not self._stop.is_set():
            response = client.get(
                self.tenant.url("/indicators"), query_string={"period": PERIOD}, headers=self.tenant.headers
            )
            body = response.get_json(silent=True) or {}
            self.answers.append((response.status_code, body.get("figures"), response.headers.get("Retry-After")))
            time.sleep(0.005)

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def statuses(self) -> set[int]:
        return {status for status, _figures, _retry in self.answers}


def with_unions(tenant: TenantClient, unions: int = 3) -> None:
    tenant.post("/units", {"id": "d1", "name": "District 1", "kind": "district", "established_on": "2018-01-01"})
    unions_under(tenant, "d1", range(unions))


def test_readers_during_an_import_see_the_register_before_it_or_after_it(app, tenant, monkeypatch):
    with_unions(tenant)
    before = tenant.figures(PERIOD)
    rows = [
        (
            n + 2,
            {
                "id": f"m{n:05d}",
                "union_id": f"u{n % 3}",
                "admitted_on": "2020-01-01",
                "full_name": f"Member {n}",
                "gender": "female" if n % 2 else "male",
            },
        )
        for n in range(1200)
    ]
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        # Many small chunks, each a moment apart: a reader would see any half-written state.
        monkeypatch.setattr(imports, "import_events", functools.partial(imports.import_events, chunk=50))
        chunks: list[int] = []
        with Readers(app, tenant) as readers:
            time.sleep(0.2)
            plan = Register(store).import_rows(
                {"members": rows}, actor="importer", progress=lambda n: chunks.append(n) or time.sleep(0.03)
            )
            time.sleep(0.2)
    assert not plan.errors
    assert chunks == [50] * 24
    after = tenant.figures(PERIOD)
    assert after["members_total"] == before["members_total"] + 1200
    seen = [figures for status, figures, _ in readers.answers]
    assert readers.statuses() == {200} and len(seen) > 20
    assert all(figures in (before, after) for figures in seen), {f["members_total"] for f in seen} - {
        before["members_total"],
        after["members_total"],
    }
    assert before in seen and after in seen


def test_readers_during_a_rebuild_keep_getting_the_figures_of_the_register(app, tenant, monkeypatch):
    build_history(tenant)
    expected = tenant.figures(PERIOD)
    real_catch_up = Projector.catch_up
    slowed: list[int] = []

    def slow_catch_up(self, *args, **kwargs):  # the rebuild takes a while, as a large one does
        slowed.append(1)
        time.sleep(0.5)
        return real_catch_up(self, *args, **kwargs)

    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        monkeypatch.setattr(Projector, "catch_up", slow_catch_up)
        with Readers(app, tenant) as readers:
            time.sleep(0.1)
            assert store.rebuild() == 15
            time.sleep(0.1)
        monkeypatch.undo()
        assert store.views.dump(VIEW_TABLES) == live
    assert slowed
    assert readers.statuses() == {200} and len(readers.answers) > 20
    assert all(figures == expected for _status, figures, _ in readers.answers)


def test_a_rebuild_by_the_command_line_while_clients_read_exits_0_and_no_read_fails(app, tenant, settings):
    build_history(tenant)
    expected = tenant.figures(PERIOD)
    env = {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
    }
    with Readers(app, tenant) as readers:
        for _ in range(3):
            result = CliRunner().invoke(main, ["rebuild", "--tenant", tenant.id], env=env)
            assert result.exit_code == 0, result.output
    assert readers.statuses() == {200}
    assert all(figures == expected for _status, figures, _ in readers.answers)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_readers_after_a_crash_emptied_the_views_wait_for_them_or_are_told_when_to_retry(
    app, tenant, settings, monkeypatch
):
    build_history(tenant)
    expected = tenant.figures(PERIOD)
    real_catch_up = Projector.catch_up
    slowed: list[int] = []
    waited: list[int] = []

    def slow_catch_up(self, *args, **kwargs):
        slowed.append(1)
        time.sleep(0.3)
        return real_catch_up(self, *args, **kwargs)

    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        empty_as_a_crash_does(store, settings)
        monkeypatch.setattr(TenantStore, "lock_wait", property(lambda _store: waited.append(1) or 0.2))
        monkeypatch.setattr(Projector, "catch_up", slow_catch_up)
        with Readers(app, tenant, count=12) as readers:
            time.sleep(2.5)
        monkeypatch.undo()
    assert slowed and waited
    statuses = readers.statuses()
    assert 500 not in statuses and statuses <= {200, 503}, statuses
    assert 200 in statuses
    assert all(figures == expected for status, figures, _ in readers.answers if status == 200)
    assert all(retry and int(retry) > 0 for status, _figures, retry in readers.answers if status == 503)
    assert tenant.figures(PERIOD) == expected


def test_text_a_database_cannot_hold_in_a_stored_event_does_not_make_the_tenant_unusable(app, tenant, backend):
    """Events recorded before such text was refused at the door: the views take them (PostgreSQL
    with the text replaced, SQLite as it is), and the tenant keeps answering and recording."""
    from domain.workplaces import Workplace

    tenant.post("/units", {"id": "d1", "name": "District 1", "kind": "district", "established_on": "2018-01-01"})
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.event_store.save(
            Workplace(
                workplace_id="w-nul",
                name="Công ty\x00 A",
                sector="private_enterprise",
                unit_id="d1",
                workers=12,
                female_workers=3,
                as_of=store.today(),
                actor="older version",
            )
        )
    shown = tenant.get("/workplaces/w-nul").get_json()
    assert shown["name"] == ("Công ty\ufffd A" if backend == "postgres" else "Công ty\x00 A")
    assert shown["workers"] == 12
    tenant.post(
        "/workplaces",
        {
            "id": "w2",
            "name": "W2",
            "sector": "private_enterprise",
            "unit_id": "d1",
            "workers": 30,
            "female_workers": 10,
            "as_of": "2019-01-01",
        },
    )
    entries = tenant.get("/audit", entity_id="w-nul").get_json()["entries"]
    assert [e["event"] for e in entries] == ["WorkplaceRegistered"]
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live


def test_an_event_a_view_cannot_apply_stops_the_views_before_it_and_reads_answer_from_there(
    app, tenant, settings, monkeypatch
):
    from domain.workplaces import Workplace
    from projections.structure import Structure

    build_history(tenant)
    expected = tenant.figures(PERIOD)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        store.event_store.save(
            Workplace(
                workplace_id="w-bad",
                name="Refused",
                sector="private_enterprise",
                unit_id="d1",
                workers=12,
                female_workers=3,
                as_of=store.today(),
                actor="t",
            )
        )
        position = store.projector.ledger_position()
        real = Structure.bulk_WorkplaceRegistered

        def refuse(self, cur, items):
            if any(e.workplace_id == "w-bad" for e, _p in items):
                raise RuntimeError("this view cannot take it")
            return real(self, cur, items)

        monkeypatch.setattr(Structure, "bulk_WorkplaceRegistered", refuse)
        assert tenant.figures(PERIOD) == expected  # answered from the state before it
        assert tenant.get("/workplaces/w-bad", expect=404)
        refused = tenant.post(
            "/units", {"id": "d9", "name": "D9", "kind": "district", "established_on": "2018-01-01"}, expect=503
        )
        assert f"position {position}" in refused.get_json()["detail"] and refused.headers["Retry-After"]
        with pytest.raises(ViewsStopped) as stopped:
            store.rebuild()
        assert stopped.value.position == position
        assert tenant.figures(PERIOD) == expected  # the rebuild that failed left the views as they were
        monkeypatch.undo()
        store.rebuild()
    assert tenant.get("/workplaces/w-bad").get_json()["name"] == "Refused"
    tenant.post("/units", {"id": "d9", "name": "D9", "kind": "district", "established_on": "2018-01-01"})


def test_thirty_concurrent_admissions_of_one_id_record_it_once(app, tenant):
    with_unions(tenant, unions=1)
    statuses: list[int] = []
    barrier = threading.Barrier(30)

    def admit() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            tenant.url("/members"),
            headers=tenant.headers,
            json={
                "id": "same",
                "union_id": "u0",
                "admitted_on": "2020-01-01",
                "full_name": "Một Người",
                "gender": "female",
            },
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=admit) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 29
    history = tenant.get("/members/same/history").get_json()["events"]
    assert [e["event"] for e in history] == ["MemberAdmitted"]
