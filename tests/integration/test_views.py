"""Views are derived state: a rebuild gives the same rows, and views left behind by a crash catch up."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from domain.commands import AdmitMember, EstablishUnit
from domain.indicators import BASE_CODES, parse_indicator
from domain.periods import parse_period
from projections.base import jsonb_text, micros
from projections.indicators import IndicatorCalculator, Question
from projections.plan_records import PLAN_TABLES
from service.cli import main
from tenants.settings import Settings
from tenants.stores import TenantStore
from tests import scenario
from tests.conftest import ADMIN_TOKEN, PG_URL, index_names, need_postgres, recorded_without_views

VIEW_TABLES = [
    "unit_state",
    "workplace_state",
    "union_state",
    "member_state",
    "surveys",
    "unit_spans",
    "union_spans",
    "workplace_spans",
    "member_spans",
    "member_flows",
    "member_cards",
]


def build_history(tenant) -> None:
    """A small province with a transfer, a departure, a dissolution and a closure with successor."""
    tenant.post("/units", {"id": "d1", "name": "District 1", "kind": "district", "established_on": "2018-01-01"})
    tenant.post("/units", {"id": "d2", "name": "District 2", "kind": "district", "established_on": "2018-01-01"})
    tenant.post("/units", {"id": "c1", "name": "Commune 1", "kind": "commune", "established_on": "2025-07-01"})
    scenario.unions_under(tenant, "d1", (1, 2))
    tenant.post(
        "/members",
        {
            "id": "m1",
            "union_id": "u1",
            "admitted_on": "2019-03-01",
            "full_name": "Nguyễn Thị A",
            "gender": "female",
            "birth_date": "1990-01-01",
            "id_number": "045090000001",
        },
    )
    tenant.post(
        "/members",
        {"id": "m2", "union_id": "u2", "admitted_on": "2019-03-01", "full_name": "Trần Văn B", "gender": "male"},
    )
    tenant.post("/members/m2/transfer", {"to_union_id": "u1", "effective_on": "2020-01-01"})
    tenant.post("/unions/u2/dissolution", {"dissolved_on": "2020-06-01", "reason": "workplace closed"})
    tenant.post("/unions/u1/transfer", {"to_unit_id": "d2", "effective_on": "2021-01-01"})
    tenant.post("/workplaces/w1/surveys", {"workers": 50, "female_workers": 30, "as_of": "2022-01-01"})
    tenant.post("/members/m1/departure", {"left_on": "2023-05-01", "reason": "retired"})
    tenant.post("/units/d2/closure", {"closed_on": "2025-07-01", "successor_id": "c1"})


def test_rebuild_from_the_ledger_gives_the_live_views(app, tenant, settings):
    build_history(tenant)
    platform = app.extensions["unionledger"]
    positions = "SELECT name, position FROM view_positions WHERE name NOT IN ('rebuilds') ORDER BY name"
    with platform.stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        with store.transaction() as cur:
            live_positions = cur.execute(positions).fetchall()
    figures_before = tenant.figures("2025")
    env = {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
    }
    result = CliRunner().invoke(main, ["rebuild", "--tenant", tenant.id], env=env)
    assert result.exit_code == 0, result.output
    assert "from 15 events" in result.output
    with platform.stores.use(tenant.id) as store:
        rebuilt = store.views.dump(VIEW_TABLES)
        with store.transaction() as cur:  # a lane only a rebuild keeps (the members') is gone again
            assert cur.execute(positions).fetchall() == live_positions
    assert rebuilt == live
    assert sum(len(rows) for rows in live.values()) > 25
    assert tenant.figures("2025") == figures_before


def test_indicator_columns_kept_in_step_equal_columns_read_afresh(app, tenant):
    """The in-memory columns pick up only what changed since they were last read (new spans,
    superseded spans, flows, structure); after every command they answer as columns read whole."""
    platform = app.extensions["unionledger"]
    indicators = [parse_indicator(c) for c in (*BASE_CODES, "coverage_pct@45", "member_worker_ratio_pct@45")]
    instants: list[int] = []
    post = tenant.post
    compared = 0

    def post_and_compare(path: str, body: dict):
        nonlocal compared
        response = post(path, body)
        assert response.status_code == 201, response.get_json()
        time.sleep(0.002)
        instants.append(micros(datetime.now(UTC)))
        with platform.stores.use(tenant.id) as store:
            afresh = IndicatorCalculator(store.transaction)
            for period, unit in (
                ("2019", None),
                ("2020", "d1"),
                ("2021", "d2"),
                ("2025", "c1"),
                ("2018-2022", "d1"),
                ("2023-2028", None),
            ):
                for known_at in (None, *instants[-4:-1]):
                    p = parse_period(period)
                    q = Question(p, unit, min(p.end, date(2025, 12, 31)), known_at)
                    assert store.indicators.figures(indicators, q) == afresh.figures(indicators, q), (path, q)
                    compared += 1
        return response

    tenant.post = post_and_compare
    build_history(tenant)
    assert compared > 200
    assert tenant.figures("2020", as_of="2020-12-31")["members_total"] == 2
    assert tenant.figures("2024", unit_id="c1", as_of="2024-12-31")["members_total"] == 0
    assert tenant.figures("2025", unit_id="c1", as_of="2025-12-31")["members_total"] == 1


def test_a_position_reached_by_a_report_and_its_verification_reads_no_row_again(app, tenant, monkeypatch):
    """A report and its verification touch none of the rows the indicator columns hold: bringing
    the columns to their position is one statement (the tables' last positions), and what the
    previous position derived is kept."""
    from projections.base import ViewCursor
    from projections.columns import SIGNATURES

    build_history(tenant)
    indicators = [parse_indicator(c) for c in (*BASE_CODES, "coverage_pct@45", "member_worker_ratio_pct@45")]
    q = Question(parse_period("2025"), None, date(2025, 12, 31), None)
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        before = store.indicators.figures(indicators, q)
        columns = store.indicators.columns
        position, members, structure, derived = columns.position, columns.members, columns.structure, columns.derived
    figures = tenant.get("/reports/draft", period="2025", as_of="2025-12-31").get_json()["figures"]
    report = tenant.post("/reports", {"unit_id": None, "period": "2025", "as_of": "2025-12-31", "figures": figures})
    tenant.post(f"/reports/{report.get_json()['id']}/verification")
    tenant.post(f"/reports/{report.get_json()['id']}/verification")
    sent: list[str] = []
    real = ViewCursor.execute

    def execute(self, sql, params=()):
        sent.append(sql)
        return real(self, sql, params)

    monkeypatch.setattr(ViewCursor, "execute", execute)
    with platform.stores.use(tenant.id) as store:
        assert store.indicators.figures(indicators, q) == before
        monkeypatch.setattr(ViewCursor, "execute", real)
        assert store.indicators.figures(indicators, q) == IndicatorCalculator(store.transaction).figures(indicators, q)
        columns = store.indicators.columns
        assert columns.position > position
        assert (columns.members, columns.structure, columns.derived) == (members, structure, derived)
        assert columns.derived is derived
    assert sent.count(SIGNATURES) == 1
    assert not [s for s in sent if "member_" in s and "MAX(" not in s], sent
    assert not [s for s in sent if "MAX(" not in s and re.search(r"FROM (surveys|\w+_spans|union_\w+)\b", s)], sent


def test_indicator_columns_are_read_again_after_a_rebuild_back_to_the_same_position(app, tenant):
    """A rebuild that ends where the views were still makes the columns start again: a reader
    during the rebuild may have seen the emptied tables at the old position."""
    build_history(tenant)
    indicators = [parse_indicator(c) for c in BASE_CODES]
    q = Question(parse_period("2025"), None, date(2025, 12, 31), None)
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        before = store.indicators.figures(indicators, q)
        loaded, position = store.indicators.columns.members, store.indicators.columns.position
        assert store.rebuild() == 15
        assert store.indicators.figures(indicators, q) == before
        assert store.indicators.columns.position == position
        assert store.indicators.columns.members is not loaded  # read again, not kept


def test_rebuild_of_an_unknown_tenant_is_refused(settings):
    env = {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
    }
    result = CliRunner().invoke(main, ["rebuild", "--tenant", "nowhere"], env=env)
    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_events_written_without_their_views_are_applied_on_the_next_read(app, tenant):
    """As after a crash between the ledger write and the view update."""
    tenant.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"})
    tenant.post(
        "/workplaces",
        {
            "id": "w1",
            "name": "W1",
            "sector": "fdi_enterprise",
            "unit_id": "d1",
            "workers": 12,
            "female_workers": 5,
            "as_of": "2019-01-01",
        },
    )
    tenant.post(
        "/unions", {"id": "u1", "name": "U1", "workplace_id": "w1", "unit_id": "d1", "founded_on": "2019-02-01"}
    )
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        # Straight to the ledger: the views are not told.
        recorded_without_views(
            store,
            AdmitMember(
                id="m1",
                union_id="u1",
                admitted_on=date(2019, 3, 1),
                full_name="Lê C",
                gender="female",
                actor="crash-test",
            ),
        )
        assert store.projector.is_behind()
    member = tenant.get("/members/m1").get_json()
    assert member["status"] == "active" and member["full_name"] == "Lê C"
    assert tenant.figures("2019")["members_total"] == 1
    entries = tenant.get("/audit").get_json()["entries"]
    assert [e["position"] for e in entries] == [1, 2, 3, 4]


def test_the_trail_is_read_from_the_ledger_and_a_store_fills_the_columns_it_lacks(app, tenant, settings):
    """Events stored before the ledger kept the trail's columns (NULL there) are listed as before
    once the store is opened again: it fills them from each event's state, then serves."""
    build_history(tenant)
    platform = app.extensions["unionledger"]
    before = tenant.get("/audit", limit=500).get_json()
    by_actor = tenant.get("/audit", actor=before["entries"][0]["actor"], limit=3).get_json()
    with platform.stores.use(tenant.id) as store:
        table = store.event_store.events_table
        with store.transaction(write=True) as cur:
            cur.execute(
                f"UPDATE {table} SET recorded_at = NULL, actor = NULL, event = NULL, entity_type = NULL,"
                " entity_id = NULL, business_date = NULL"
            )
            tables = {name for (name,) in cur.execute("SELECT name FROM view_positions").fetchall()}
    assert "audit" not in tables  # the trail has no view of its own
    reopened = TenantStore(tenant.id, settings)
    try:
        with reopened.transaction() as cur:
            assert cur.scalar(f"SELECT count(*) FROM {table} WHERE event IS NULL") == 0
    finally:
        reopened.close()
    assert tenant.get("/audit", limit=500).get_json() == before
    assert tenant.get("/audit", actor=before["entries"][0]["actor"], limit=3).get_json() == by_actor


def test_two_followers_apply_each_event_once(app, tenant):
    tenant.post("/units", {"id": "d1", "name": "D1", "kind": "district", "established_on": "2018-01-01"})
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        recorded_without_views(
            store, EstablishUnit(id="d2", name="D2", kind="district", established_on=date(2018, 1, 1), actor="x")
        )
        store.projector.follow()
        assert store.projector.follow() == 0
        assert store.projector.position() == store.projector.ledger_position() == 2
        rows = store.views.dump(["unit_state"])
    assert len(rows["unit_state"]) == 2
    assert [e["entity_id"] for e in tenant.get("/audit").get_json()["entries"]] == ["d1", "d2"]


def test_a_large_catch_up_renews_the_planner_statistics(app, tenant, monkeypatch):
    """Views that catch up on ANALYZE_AFTER events or more (set to 2 here) are analysed, on both
    stores; a smaller catch-up leaves the statistics alone."""
    from projections import runner

    def analysed(store) -> bool:
        with store.transaction() as cur:
            if cur.dialect == "postgres":
                return bool(
                    cur.scalar(
                        "SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                        " AND relname = 'member_spans' AND last_analyze IS NOT NULL"
                    )
                )
            return bool(cur.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")) and bool(
                cur.scalar("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'member_spans'")
            )

    build_history(tenant)
    monkeypatch.setattr(runner, "ANALYZE_AFTER", 2)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        assert not analysed(store)
        # Straight to the ledger, as a crash before the views were told leaves them.
        recorded_without_views(
            store, EstablishUnit(id="d3", name="D3", kind="district", established_on=date(2018, 1, 1), actor="x")
        )
        assert store.projector.follow() == 1
        assert not analysed(store)
        for unit in ("d4", "d5"):
            recorded_without_views(
                store, EstablishUnit(id=unit, name=unit, kind="district", established_on=date(2018, 1, 1), actor="x")
            )
        assert store.projector.follow() == 2
        assert analysed(store)


def expected_2025(unit: str | None, admitted: int, left: int) -> dict:
    """The 2025 figures as of 2025-12-31 of build_history's province after ``admitted`` members
    joined u1 on 2025-08-01 and ``left`` of them left on 2025-09-01, worked out by hand: u1 (at w1,
    50 workers, under d1) is held by c1 since d2's closure on 2025-07-01 and keeps m2; w2 (40
    workers, under d1) has had no union since u2's dissolution in 2020."""
    members = 1 + admitted - left
    held = unit in (None, "c1")  # u1, its members and their flows
    located = unit in (None, "d1")  # w1 and w2; w1 covered by u1
    return {
        "members_total": members if held else 0,
        "members_female": 0,  # m2 and those who join are men
        "unions_total": 1 if held else 0,
        "workplaces_eligible": 2 if located else 0,
        "workplaces_covered": 1 if located else 0,
        "coverage_pct": 50.0 if located else 0.0,
        "member_worker_ratio_pct": 100 * members / 50 if located else 0.0,  # members of w1's union / its workers
        "members_admitted": admitted if held else 0,
        "members_left": left if held else 0,
        "members_transferred_in": 0,  # no moves between provinces here
        "members_transferred_out": 0,
        "members_net_growth": admitted - left if held else 0,
        "unions_founded": 0,
        "unions_dissolved": 0,
        # the plans' other indicators: nothing of theirs recorded
        **dict.fromkeys(
            (
                "unions_rated_good_pct",
                "cla_coverage_pct",
                "womens_committee_pct",
                "members_with_card_pct",
                "dues_collected_pct",
                "officials_trained_pct",
                "workers_conference_pct",
            ),
            0.0,
        ),
    }


def test_indicator_columns_read_by_threads_while_commands_write(app, tenant):
    """Threads asking questions while members are admitted and leave get at every read the figures
    of one state the register went through (by hand: expected_2025), never a mix of two nor a state
    older than one they saw already; afterwards the columns answer as columns read whole."""
    import threading

    build_history(tenant)
    platform = app.extensions["unionledger"]
    indicators = [parse_indicator(c) for c in BASE_CODES]
    units = (None, "c1", "d1")
    questions = {unit: Question(parse_period("2025"), unit, date(2025, 12, 31), None) for unit in units}
    commands: list[tuple[str, dict]] = []
    for n in range(12):
        commands.append(
            (
                "/members",
                {
                    "id": f"x{n}",
                    "union_id": "u1",
                    "admitted_on": "2025-08-01",
                    "gender": "male",
                    "full_name": f"Người {n}",
                },
            )
        )
        if n % 3 == 0:
            commands.append((f"/members/x{n}/departure", {"left_on": "2025-09-01", "reason": "changed_job"}))
    states = [(0, 0)]  # (admitted, left) before the first command and after each
    for path, _body in commands:
        admitted, left = states[-1]
        states.append((admitted, left + 1) if path.endswith("/departure") else (admitted + 1, left))
    with platform.stores.use(tenant.id) as store:
        assert {u: store.indicators.figures(indicators, q) for u, q in questions.items()} == {
            u: expected_2025(u, 0, 0) for u in units
        }

    readers_count, rounds = 3, 5
    answers: list[list[tuple[str | None, dict]]] = [[] for _ in range(readers_count)]
    failures: list[BaseException] = []
    done = threading.Event()

    def ask(mine: list) -> None:
        try:
            with platform.stores.use(tenant.id) as store:
                while not done.is_set():
                    for unit, q in questions.items():
                        mine.append((unit, store.indicators.figures(indicators, q)))
        except BaseException as error:  # noqa: BLE001 - reported below, on the test's thread
            failures.append(error)

    readers = [threading.Thread(target=ask, args=(mine,)) for mine in answers]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 30
        while not all(answers) and not failures:  # every reader is asking before the first command
            assert time.monotonic() < deadline, "a reader never answered"
            time.sleep(0.005)
        for path, body in commands:
            tenant.post(path, body)
        # and on past the last command, however fast the commands went beside the reads
        while any(len(mine) < rounds * len(units) for mine in answers) and not failures:
            assert time.monotonic() < deadline + 30, "a reader stopped answering"
            time.sleep(0.005)
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert not failures, failures

    seen: set[tuple[int, int]] = set()
    for mine in answers:
        assert len(mine) >= rounds * len(units), len(mine)  # every thread ran, all along the commands
        last = 0
        for unit, figures in mine:
            matching = [i for i, state in enumerate(states) if figures == expected_2025(unit, *state)]
            assert matching, (unit, figures)
            if unit is None:  # the whole tenant's figures tell every state apart
                (index,) = matching
                assert index >= last, (states[last], states[index])
                last = index
                seen.add(states[index])
    assert len(seen) >= 3, seen  # the readers asked while the commands wrote, not only before or after
    with platform.stores.use(tenant.id) as store:
        for q in questions.values():
            assert store.indicators.figures(indicators, q) == IndicatorCalculator(store.transaction).figures(
                indicators, q
            )
    assert tenant.figures("2025", unit_id="c1", as_of="2025-12-31") == expected_2025("c1", 12, 4)
    assert states[-1] == (12, 4)


def test_a_command_that_moves_many_rows_writes_every_one(app, tenant):
    """A district closed with a successor hands on every workplace and union it holds: more
    rows than one statement of a command's (pipelined) view write carries."""
    for unit in ("d1", "d2"):
        scenario.unit(tenant, unit)
    for n in range(70):
        scenario.workplace(tenant, f"w{n}", "d1", 30)
    tenant.post("/units/d1/closure", {"closed_on": "2024-07-01", "successor_id": "d2"})
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live
    now = [r for r in live["workplace_spans"] if r[1] == "d2" and r[6] is None]  # holder d2, not superseded
    assert len(now) == 70 and {r[2] for r in now} == {date(2024, 7, 1).toordinal()}
    assert tenant.figures("2024-Q3", as_of="2024-09-30", unit_id="d2")["workplaces_eligible"] == 70


def test_a_rebuild_moves_many_members_in_one_statement_each_once(app, tenant):
    """A rebuild applies a run of transfers and departures with one UPDATE per table: 40 members
    move, 20 leave (10 of them after moving, so the run splits), and the rebuilt views and the
    figures are those kept command by command."""
    scenario.unit(tenant, "d1")
    for n in (1, 2):
        scenario.workplace(tenant, f"w{n}", "d1", 30)
        scenario.union(tenant, f"u{n}", f"w{n}", "d1", "2019-02-01")
    for n in range(60):
        scenario.admit(tenant, f"m{n}", "u1", "2019-03-01")
    for n in range(40):
        tenant.post(f"/members/m{n}/transfer", {"to_union_id": "u2", "effective_on": "2020-01-01"})
    for n in range(30, 50):
        scenario.leave(tenant, f"m{n}", "2021-01-01")
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live
    current = [r for r in live["member_spans"] if r[6] is None]  # not superseded
    assert len(current) == 40 * 2 + 20  # a span in u1 ended by the move and one in u2 for each who moved
    assert tenant.figures("2021", unit_id="d1", as_of="2021-12-31")["members_total"] == 60 - 20
    with app.extensions["unionledger"].stores.use(tenant.id) as store, store.transaction() as cur:
        rows = cur.execute(
            "SELECT union_id, count(*), count(left_on) FROM member_state GROUP BY union_id ORDER BY union_id"
        ).fetchall()
    assert rows == [("u1", 20, 10), ("u2", 40, 10)]


def test_departures_and_transfers_derived_in_sql_equal_those_kept_event_by_event(app, tenant):
    """Members move between unions of one unit and of another, back to a union they left, leave
    on the day of a move and after it, each a few times in one run of moves; the moves are
    recorded out of their business days' order, between cards and around a dissolution and a
    closure. A rebuild (in SQL on PostgreSQL) gives the views and figures kept command by command."""
    build_history(tenant)  # u1 (under d2, then c1) holds m1 (left) and m2; u2 dissolved
    scenario.unit(tenant, "d3")
    for n in (3, 4, 5):
        scenario.workplace(tenant, f"w{n}", "d3" if n > 3 else "d1", 30)
        scenario.union(tenant, f"u{n}", f"w{n}", "d3" if n > 3 else "d1", "2019-02-01")
    for n in range(10, 22):
        scenario.admit(tenant, f"m{n}", ("u3", "u4", "u5")[n % 3], "2019-03-01")
    moves = [  # admitted: m10, m13, m16, m19 in u4; m11, m14, m17, m20 in u5; the rest in u3
        ("m10", "u3", "2024-02-01"),  # to another unit's union, dated after the next ones
        ("m11", "u3", "2020-05-01"),
        ("m12", "u4", "2021-01-01"),  # within d3
        ("m10", "u4", "2024-02-01"),  # back to the union it left, the same day
        ("m13", "u3", "2022-03-01"),
        ("m11", "u5", "2023-01-01"),  # back
        ("m13", "u5", "2023-06-01"),
        ("m13", "u4", "2024-06-01"),  # back to where it was admitted
    ]
    for member, union, on in moves:
        tenant.post(f"/members/{member}/transfer", {"to_union_id": union, "effective_on": on})
    tenant.post("/members/m14/cards", {"card_no": "C-14", "issued_on": "2024-01-01"})
    scenario.leave(tenant, "m12", "2021-01-01")  # the day of its move
    scenario.leave(tenant, "m15", "2019-03-01")  # the day of its admission
    tenant.post("/members/m14/transfer", {"to_union_id": "u3", "effective_on": "2024-03-01"})
    scenario.leave(tenant, "m14", "2024-03-01")
    scenario.leave(tenant, "m10", "2025-01-01")
    tenant.post("/members/m16/transfer", {"to_union_id": "u1", "effective_on": "2025-08-01"})  # into c1's union
    tenant.post("/members/m16/cards", {"card_no": "C-16", "issued_on": "2025-08-02"})
    scenario.leave(tenant, "m17", "2020-02-01")
    tenant.post("/members/m18/transfer", {"to_union_id": "u4", "effective_on": "2020-01-01"})
    tenant.post("/members/m19/transfer", {"to_union_id": "u3", "effective_on": "2025-10-01"})
    scenario.leave(tenant, "m19", "2025-10-01")
    tenant.post("/members/m20/cards", {"card_no": "C-20", "issued_on": "2025-10-02"})
    tenant.post("/members/m20/transfer", {"to_union_id": "u4", "effective_on": "2025-10-03"})
    tenant.post("/members/m21/erasure", {"reason": "request"})
    tenant.post("/members/m21/transfer", {"to_union_id": "u4", "effective_on": "2025-11-01"})
    figures = {unit: tenant.figures("2025", as_of="2025-12-31", unit_id=unit) for unit in ("d1", "d3", "c1")}
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live
    assert {unit: tenant.figures("2025", as_of="2025-12-31", unit_id=unit) for unit in ("d1", "d3", "c1")} == figures
    assert len([r for r in live["member_flows"] if r[1] == 1]) == 7


def test_a_store_kept_before_the_surveys_position_index_gets_it_when_opened(app, tenant, settings):
    """An index added to a view's tables later (``added_indexes``) is built when a store kept
    without it is opened, under the lock, and the views are kept, not rebuilt."""
    build_history(tenant)
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        with store.transaction(write=True) as cur:  # as the older version left the store
            cur.execute("DROP INDEX surveys_position")
        assert not store._made()
    opened = TenantStore(tenant.id, settings)
    try:
        with opened.transaction() as cur:
            assert "surveys_position" in index_names(cur)
        assert opened._made()
        assert opened.projector.position() == 15  # the views were kept, not rebuilt
    finally:
        opened.close()


def held_tokens(cur, member_id: str) -> list[int]:
    """A member's tokens in the blind index (an array on PostgreSQL, a JSON array on SQLite)."""
    tokens = cur.scalar("SELECT tokens FROM member_tokens WHERE member_id = ?", (member_id,))
    return sorted(tokens if isinstance(tokens, list) else json.loads(tokens))


OLD_INDEX_DDL = (
    "CREATE TABLE member_index (token TEXT NOT NULL, member_id TEXT NOT NULL, PRIMARY KEY (token, member_id))"
)


def test_a_store_kept_before_the_pairs_of_words_gets_them_and_the_holder_index_when_opened(app, tenant, settings):
    """An older version indexed each word of a name alone and had no index of a holder's members by
    id: opening the store indexes its members again, pairs too, and adds the index, rebuilding nothing."""
    from persistence.vault import INDEXED, PAIR

    build_history(tenant)
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        pair = store.vault.token(PAIR, "b tran")
        with store.transaction(write=True) as cur:  # as the older version left the store
            assert pair in held_tokens(cur, "m2")
            cur.execute("DELETE FROM member_tokens")
            cur.execute(OLD_INDEX_DDL)
            cur.execute("DELETE FROM index_keys WHERE name = ?", (INDEXED,))
            cur.execute("INSERT INTO index_keys (name, key) VALUES ('indexed', '')")
            cur.execute("DROP INDEX member_spans_holder")
    opened = TenantStore(tenant.id, settings)
    try:
        with opened.transaction() as cur:
            tokens = held_tokens(cur, "m2")
            assert pair in tokens and len(tokens) == 6  # tran, van, b and their pairs
            kept = (
                "pg_indexes WHERE schemaname = current_schema() AND"
                if cur.dialect == "postgres"
                else "sqlite_master WHERE"
            )
            named = "indexname" if cur.dialect == "postgres" else "name"
            assert cur.scalar(f"SELECT count(*) FROM {kept} {named} = 'member_spans_holder'") == 1
        assert opened.projector.position() == 15  # the views were kept, not rebuilt
    finally:
        opened.close()
    assert [m["id"] for m in tenant.get("/members", q="tran b").get_json()["members"]] == ["m2"]


def test_a_store_indexed_a_row_per_token_is_indexed_a_row_per_member_when_opened(app, tenant, settings, monkeypatch):
    """An older version kept a row per token and member, the token as 32 hex digits of the HMAC:
    opening the store carries every member's tokens over into one row, opening no member's data, and
    every search answers as before."""
    from persistence.vault import INDEXED, INDEXED_PAIRS, PersonalDataVault

    build_history(tenant)
    tenant.post(
        "/members",
        {"id": "m3", "union_id": "u1", "admitted_on": "2024-01-02", "full_name": "Trần Thị A", "gender": "female"},
    )
    searches = [{"q": "nguyen thi a"}, {"q": "thi a"}, {"q": "a"}, {"q": "tran b"}, {"q": "tran van"}]
    searches += [{"q": "b nguyen"}, {"id_number": "045090000001"}, {"q": "nguyen", "id_number": "045090000001"}]

    def answers() -> list[list[str]]:
        return [[m["id"] for m in tenant.get("/members", **asked).get_json()["members"]] for asked in searches]

    before = answers()
    assert before[:3] == [["m1"], ["m1", "m3"], ["m1", "m3"]]
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store, store.transaction(write=True) as cur:  # as the older version
        held = {m: held_tokens(cur, m) for m in ("m1", "m2", "m3")}
        cur.execute(OLD_INDEX_DDL)
        for member_id, tokens in held.items():
            for token in tokens:
                old = token.to_bytes(8, "big", signed=True).hex() + "5f" * 8  # its 16 first bytes
                cur.execute("INSERT INTO member_index (token, member_id) VALUES (?, ?)", (old, member_id))
        cur.execute("DELETE FROM member_tokens")
        cur.execute("DELETE FROM index_keys WHERE name = ?", (INDEXED,))
        cur.execute("INSERT INTO index_keys (name, key) VALUES (?, '')", (INDEXED_PAIRS,))
    platform.stores.retire(tenant.id)

    def opening(*_args):
        raise AssertionError("a member's data was opened")

    monkeypatch.setattr(PersonalDataVault, "unseal_many", opening)
    opened = TenantStore(tenant.id, settings)
    try:
        with opened.transaction() as cur:
            assert {m: held_tokens(cur, m) for m in ("m1", "m2", "m3")} == held
            gone = (
                "SELECT to_regclass('member_index') IS NULL"
                if cur.dialect == "postgres"
                else "SELECT count(*) = 0 FROM sqlite_master WHERE name = 'member_index'"
            )
            assert cur.scalar(gone)
    finally:
        opened.close()
    monkeypatch.undo()
    assert answers() == before


def test_views_kept_under_another_definition_are_rebuilt_from_the_ledger_when_next_read(
    app, tenant, settings, monkeypatch
):
    """A version that keeps the views otherwise (another table or index) finds them under the
    old definition: opening the store drops them, and the first read catches them up from the
    ledger; being far behind, it derives what it can in SQL, as a rebuild does."""
    from projections import runner

    build_history(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        with store.transaction(write=True) as cur:  # as an older version left them
            cur.execute("UPDATE view_positions SET position = position + 1 WHERE name = 'schema'")
            cur.execute("DELETE FROM member_spans")
    monkeypatch.setattr(runner, "DERIVING_BATCH", 10)  # 15 events behind counts as far
    opened = TenantStore(tenant.id, settings)
    try:
        assert opened.projector.position() == 0
        derived: list[bool] = []
        real_catch_up = opened.projector.catch_up

        def catch_up(progress=None, derive=False, lane="views", analyze=True):
            derived.append(derive)
            return real_catch_up(progress, derive, lane, analyze)

        monkeypatch.setattr(opened.projector, "catch_up", catch_up)
        assert opened.fresh().views.dump(VIEW_TABLES) == live
        assert {lane: opened.projector.position(lane) for lane in opened.projector.lanes} == {"views": 15}
        assert derived and all(derived)
    finally:
        opened.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_catch_up_reads_each_run_of_derived_events_as_its_ends(app, tenant):
    """A catch-up that derives in SQL does not fetch a row per admission: a run of them between
    two events the lane reads comes as its first and last position. PostgreSQL only: on SQLite
    nothing is derived in SQL, every event is read (a rebuild there is checked by the tests above)."""
    scenario.unit(tenant, "d1")
    scenario.workplace(tenant, "w1", "d1", 30)
    scenario.union(tenant, "u1", "w1", "d1", "2019-02-01")
    for n in range(30):
        scenario.admit(tenant, f"m{n}", "u1", "2019-03-01")
    tenant.post("/members/m0/erasure", {"reason": "request"})
    for n in range(30, 50):
        scenario.admit(tenant, f"m{n}", "u1", "2019-03-01")
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        projector = store.projector
        assert projector.events_table is not None
        with store.transaction() as cur:
            items, count, last = projector._select_stored(cur, 4, 100, projector._read["views"])
        names = [(topic.rsplit(".", 1)[-1], event is None, position) for topic, event, position in items]
        assert names == [
            ("MemberAdmitted", True, 4),
            ("MemberAdmitted", True, 33),
            ("MemberDataErased", False, 34),
            ("MemberAdmitted", True, 35),
            ("MemberAdmitted", True, 54),
        ]
        assert (count, last) == (51, 54)
        live = store.views.dump(VIEW_TABLES)
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("room", [None, 1])
def test_a_rebuild_reads_the_ledger_once_for_all_its_lanes(app, tenant, monkeypatch, room):
    """In batches of a few events, a reader of its own reads each batch and every lane takes
    it: one read of the ledger per batch, and the views as the live ones; also where each lane
    has room for one batch at a time (the reader waits for it)."""
    from projections import runner

    if room is not None:
        monkeypatch.setattr(runner, "QUEUED_ITEMS", room)

    build_history(tenant)
    tenant.post("/members/m2/erasure", {"reason": "request"})  # read for the members' lane alone
    reads: list[tuple[str, int]] = []
    real = runner.Projector._select_stored

    def select_stored(self, cur, first, limit, names):
        reads.append((threading.current_thread().name, first))
        return real(self, cur, first, limit, names)

    monkeypatch.setattr(runner, "DERIVING_BATCH", 3)
    monkeypatch.setattr(runner.Projector, "_select_stored", select_stored)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        assert store.rebuild() == 16
        assert store.views.dump(VIEW_TABLES) == live
    assert [first for _thread, first in reads] == [1, 4, 7, 10, 13, 16]
    assert {thread for thread, _first in reads} == {"views-reader"}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_rebuild_whose_lane_fails_stops_its_reader_and_keeps_the_views(app, tenant, monkeypatch):
    """The members' lane failing at its third batch: the reader reads no further than the
    batches the lanes had room for, the rebuild fails, and readers keep the views as they were."""
    from projections import runner

    build_history(tenant)
    reads: list[int] = []
    real_select, real_claim = runner.Projector._select_stored, runner.Projector._claim

    def select_stored(self, cur, first, limit, names):
        reads.append(first)
        return real_select(self, cur, first, limit, names)

    def claim(self, cur, lanes, start, last):
        if list(lanes) == ["membership"] and start >= 6:
            raise runner.ViewsMoved("the members' lane moved under the rebuild")
        return real_claim(self, cur, lanes, start, last)

    monkeypatch.setattr(runner, "DERIVING_BATCH", 3)
    monkeypatch.setattr(runner, "QUEUED_ITEMS", 1)
    monkeypatch.setattr(runner.Projector, "_select_stored", select_stored)
    monkeypatch.setattr(runner.Projector, "_claim", claim)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        with pytest.raises(runner.ViewsMoved):
            store.rebuild()
        monkeypatch.undo()
        assert store.views.dump(VIEW_TABLES) == live
    assert reads[:3] == [1, 4, 7] and 16 not in reads


def test_a_rebuild_fills_the_views_before_it_builds_the_indexes_only_readers_use(app, tenant, monkeypatch):
    from projections.runner import Projector
    from tenants.stores import view_projections

    build_history(tenant)
    names = {i for p in view_projections() for i in p.readers_indexes}
    assert names and all(
        f"INDEX IF NOT EXISTS {i} ON" in " ".join((*p.ddl, *(a.ddl for a in p.added_indexes)))
        for p in view_projections()
        for i in p.readers_indexes
    )
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        during: list[set[str]] = []
        real_catch_up = Projector.catch_up

        def catch_up(self, *args, within=None, **options):  # the views being filled, in place or beside
            if within is not None:
                during.append(index_names(within))
            else:
                with self.transaction() as cur:
                    during.append(index_names(cur))
            return real_catch_up(self, *args, within=within, **options)

        monkeypatch.setattr(Projector, "catch_up", catch_up)
        assert store.rebuild() == 15
        monkeypatch.undo()
        with store.transaction() as cur:
            after = index_names(cur)
        assert store.views.dump(VIEW_TABLES) == live
    assert during and all(not names & seen and "member_spans_entity" in seen for seen in during)
    assert names <= after


def test_finishing_a_bulk_write_builds_the_missing_indexes_and_raises_what_failed(app, tenant):
    """After a bulk write the views' indexes and statistics are renewed (on PostgreSQL on two
    connections at once); a statement that fails there fails the caller, not a thread unseen."""
    from tenants.stores import view_projections

    build_history(tenant)
    names = {i for p in view_projections() for i in p.readers_indexes}
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        with store.transaction(write=True) as cur:
            for projection in store.projector.projections:
                projection.drop_readers_indexes(cur)
            assert not names & index_names(cur)
        store.projector.finish(store.projector.projections, extra=[["ANALYZE personal_keys"]])
        with store.transaction() as cur:
            assert names <= index_names(cur)
        with pytest.raises(Exception, match="no_such_table"):
            store.projector.finish(store.projector.projections, extra=[["ANALYZE no_such_table"]])


def test_a_serving_process_reads_the_indicator_columns_when_it_opens_a_tenant(settings, tenant):
    """With UNIONLEDGER_WARM_COLUMNS=1 (gunicorn's workers) the columns are read, and the day
    indexes and a whole-tenant series' month-end tables built, in the background on opening, before
    any question; without it, on the first question."""
    import dataclasses

    from tenants.stores import TenantStores

    build_history(tenant)
    for warm in (False, True):
        stores = TenantStores(dataclasses.replace(settings, warm_columns=warm))
        try:
            with stores.use(tenant.id) as store:
                target = store.projector.position()
                if warm:
                    deadline = time.monotonic() + 30
                    while store.indicators.columns.position != target:
                        assert time.monotonic() < deadline, "the columns were not read ahead"
                        time.sleep(0.01)
                    ahead = {"records_index", "carded_index", ("month ends", "unions"), ("month ends", "workplaces")}
                    while not ahead <= store.indicators.columns.derived.keys():
                        assert time.monotonic() < deadline, "the day indexes and month-end tables were not built ahead"
                        time.sleep(0.01)
                else:
                    time.sleep(0.2)
                    assert store.indicators.columns.position == -1
        finally:
            stores.close()


def test_views_derived_in_sql_equal_the_views_kept_event_by_event(app, tenant, settings):
    """On PostgreSQL a rebuild derives admissions and cards (the member's version with them) in SQL;
    here they sit between events applied in Python (moves, an erasure, a target, a report), and the
    rebuilt views, the audit trail's answers and the figures equal those kept command by command."""
    build_history(tenant)
    tenant.post(
        "/members",
        {
            "id": "m3",
            "union_id": "u1",
            "admitted_on": "2023-06-01",
            "full_name": 'Lê Thị "C" \\ D',
            "gender": "female",
            "birth_date": "1995-02-03",
        },
    )
    tenant.post("/members/m3/cards", {"card_no": "C-3", "issued_on": "2024-01-10"})
    tenant.post("/members/m1/erasure", {"reason": 'request of the member\r\nref. "12/QĐ"\t\\'})
    tenant.post("/targets", {"unit_id": None, "indicator": "members_total", "period": "2025", "value": 10})
    figures = tenant.figures("2025", as_of="2025-12-31")
    tenant.post("/reports", {"unit_id": None, "period": "2025", "as_of": "2025-12-31", "figures": figures})
    tenant.post(
        "/members", {"id": "m4", "union_id": "u1", "admitted_on": "2025-08-01", "full_name": "Phạm D", "gender": "male"}
    )
    tenant.post("/members/m4/cards", {"card_no": "C-4", "issued_on": "2025-08-02"})
    tenant.post("/members/m3/cards", {"card_no": "C-3b", "issued_on": "2025-09-01"})
    # a departure after a card (the member's version is the departure's), a card after a transfer
    tenant.post("/members/m4/departure", {"left_on": "2026-01-15", "reason": "retired"})
    tenant.post("/members/m2/cards", {"card_no": "C-2", "issued_on": "2025-10-02"})
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        audit_before = tenant.get("/audit", limit=500).get_json()
        deriving = store.projector.events_table is not None
        assert deriving == (settings.backend == "postgres")
        # A rebuild reads the state of what a view applies in Python only: not the admissions,
        # cards, departures and transfers (derived in SQL), nor the card numbers (no view's).
        read = store.projector._read["views"]
        assert "MemberDataErased" in read and "UnionFounded" in read
        derived = {"MemberAdmitted", "MemberCardIssued", "MemberLeft", "MemberTransferred", "CardNumberAssigned"}
        assert not derived & set(read)
        assert store.rebuild() == 29
        assert store.views.dump(VIEW_TABLES) == live
        assert {lane: store.projector.position(lane) for lane in store.projector.lanes} == {"views": 29}
    assert tenant.get("/audit", limit=500).get_json() == audit_before
    assert len(audit_before["entries"]) == 29
    assert tenant.get("/members/m3").get_json()["full_name"] == 'Lê Thị "C" \\ D'
    assert tenant.figures("2025", as_of="2025-12-31")["members_total"] == figures["members_total"] + 1


def test_an_import_derives_its_views_as_a_rebuild_would(app, tenant):
    """An import's admissions go into the views in SQL on PostgreSQL (in Python on SQLite): the
    same rows as a rebuild, and the audit trail shows each admission's personal data."""
    scenario.unit(tenant, "d1")
    scenario.workplace(tenant, "w1", "d1", 500)
    scenario.union(tenant, "u1", "w1", "d1", "2019-02-01")
    lines = ["id,union_id,admitted_on,full_name,gender,birth_date,id_number"]
    lines += [
        f"m{n},u1,2020-01-{1 + n % 28:02d},Đoàn viên {n},{('female', 'male')[n % 2]},1990-01-01,0380900{n:05d}"
        for n in range(300)
    ]
    response = tenant.client.post(
        tenant.url("/imports"),
        headers=tenant.headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO("\n".join(lines).encode()), "members.csv"), "kind": "members"},
    )
    assert response.status_code == 201, response.get_json()
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        assert len(live["member_state"]) == 300
        store.rebuild()
        assert store.views.dump(VIEW_TABLES) == live
    assert len(tenant.get("/audit", limit=500).get_json()["entries"]) == 303
    entry = tenant.get("/audit", entity_type="member", entity_id="m7").get_json()["entries"][0]
    assert entry["event"] == "MemberAdmitted" and entry["business_date"] == "2020-01-08"
    assert entry["data"]["full_name"] == "Đoàn viên 7" and entry["data"]["union_id"] == "u1"
    assert tenant.figures("2020", as_of="2020-12-31")["members_total"] == 300


def test_audit_data_is_written_as_postgresql_writes_jsonb():
    """Audit rows written in Python and derived in SQL hold the same text: keys shortest first
    (then by their bytes), escapes and separators as PostgreSQL prints a jsonb value."""
    import psycopg

    need_postgres()
    samples = [
        {"name": 'Nguyễn "A"\n\t\\ \u0001 \u2028 😀', "id": "m1", "ẞ": 1, "zz": None, "a": True, "ab": -12},
        {},
        {"figures": {"members_total": 3, "coverage_pct": 12.5, "b": [1, {"y": 2, "x": "é"}]}},
    ]
    with psycopg.connect(Settings(database_url=PG_URL).conninfo()) as conn:
        for data in samples:
            assert jsonb_text(data) == conn.execute("SELECT %s::jsonb::text", (json.dumps(data),)).fetchone()[0]


def empty_as_a_crash_does(store, settings) -> list[str]:
    """What PostgreSQL's recovery from a crash does to unlogged tables: empty them. Returns the
    tables emptied (on SQLite, where nothing is unlogged, the views and their marker)."""
    if settings.backend != "postgres":
        tables = [t for p in store.projector.projections for t in p.tables] + ["views_intact"]
    else:
        with store.transaction() as cur:
            tables = [
                name
                for (name,) in cur.execute(
                    "SELECT relname FROM pg_class WHERE relnamespace = ?::regnamespace AND relkind = 'r'"
                    " AND relpersistence = 'u'",
                    (store.schema,),
                ).fetchall()
            ]
    with store.transaction(write=True) as cur:
        for table in tables:
            cur.execute(f"DELETE FROM {table}")
    return tables


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_the_views_are_unlogged_and_the_ledger_is_not(app, tenant, settings):
    from integrity.chain import CHAIN_TABLE
    from integrity.tree import KEYS_TABLE as SIGNING_KEYS
    from integrity.tree import TREE_TABLE
    from persistence.vault import INDEX_TABLE, KEYS_TABLE

    build_history(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store, store.transaction() as cur:
        kept = dict(
            cur.execute(
                "SELECT relname, relpersistence FROM pg_class WHERE relnamespace = ?::regnamespace AND relkind = 'r'",
                (store.schema,),
            ).fetchall()
        )
    assert {t for t, how in kept.items() if how == "u"} == {
        *VIEW_TABLES,
        *PLAN_TABLES,
        "target_state",
        "report_state",
        "views_intact",
    }
    # The ledger's events, their keys and name index, the chain, the Merkle tree and its signing key,
    # the views' positions and the positions known void survive a crash.
    assert {t for t, how in kept.items() if how == "p"} == {
        "ledger_events",
        KEYS_TABLE,
        INDEX_TABLE,
        "index_keys",
        CHAIN_TABLE,
        TREE_TABLE,
        SIGNING_KEYS,
        "view_positions",
        "ledger_voids",
    }


def test_views_emptied_by_a_crash_are_rebuilt_from_the_ledger_on_the_next_read(app, tenant, settings):
    build_history(tenant)
    figures = tenant.figures("2025")
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        rebuilds = store.indicators.columns.rebuilds
        empty_as_a_crash_does(store, settings)
        assert store.projector.position() == 0 and store.projector.position("audit") == 0
        assert store.views.dump(VIEW_TABLES) != live
    assert tenant.get("/members/m2").get_json()["union_id"] == "u1"
    assert tenant.figures("2025") == figures
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        assert store.views.dump(VIEW_TABLES) == live
        assert {lane: store.projector.position(lane) for lane in store.projector.lanes} == {"views": 15}
        assert store.indicators.columns.rebuilds != rebuilds  # the in-memory columns were read again
    assert [e["position"] for e in tenant.get("/audit", limit=500).get_json()["entries"]] == list(range(1, 16))


def test_views_emptied_by_a_crash_are_rebuilt_before_the_next_command(app, tenant, settings):
    build_history(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        empty_as_a_crash_does(store, settings)
    tenant.post(
        "/members",
        {"id": "m3", "union_id": "u1", "admitted_on": "2024-01-02", "full_name": "Lê Thị C", "gender": "female"},
    )
    # The admission's rule read the union from the rebuilt views, and its rows joined them.
    assert tenant.figures("2024", as_of="2024-12-31")["members_total"] == 2  # m2 (moved to u1) and m3
    assert [e["position"] for e in tenant.get("/audit", limit=500).get_json()["entries"]] == list(range(1, 17))
    tenant.post(
        "/members",
        {"id": "m4", "union_id": "u2", "admitted_on": "2024-01-02", "full_name": "X", "gender": "male"},
        expect=409,
    )  # u2 was dissolved in 2020: the views know it again


def test_a_store_opened_after_a_crash_rebuilds_the_views_it_finds_emptied(app, tenant, settings):
    build_history(tenant)
    with app.extensions["unionledger"].stores.use(tenant.id) as store:
        live = store.views.dump(VIEW_TABLES)
        empty_as_a_crash_does(store, settings)
    opened = TenantStore(tenant.id, settings)  # as a worker started after the database came back
    try:
        assert opened.projector.position() == 0
        assert opened.fresh().views.dump(VIEW_TABLES) == live
    finally:
        opened.close()


def test_a_rebuild_finishes_each_table_of_the_main_lane_with_its_indexes_then_its_statistics():
    """The statements two connections share out at the end of a rebuild: every index of the
    main lane's views, each with its table, then that table's ANALYZE."""
    from projections.runner import FOLLOWER, Projector
    from tenants.stores import view_projections

    main = [p for p in view_projections() if p.lane == FOLLOWER]
    jobs = Projector._finishing(main)
    tables = [t for p in main for t in p.tables]
    assert [job[-1] for job in jobs] == [f"ANALYZE {t}" for t in tables]
    indexes = [stmt for p in main for stmt in (*p.ddl, *(a.ddl for a in p.added_indexes)) if " INDEX " in stmt]
    assert sorted(stmt for job in jobs for stmt in job[:-1]) == sorted(indexes)
    for job, table in zip(jobs, tables):
        assert all(f" ON {table} (" in stmt for stmt in job[:-1])
    assert {i for p in main for i in p.readers_indexes} <= {
        re.search(r"EXISTS (\w+) ON", stmt).group(1) for job in jobs for stmt in job[:-1]
    }
