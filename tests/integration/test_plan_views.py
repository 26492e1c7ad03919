"""The plans' records as views: rebuilt from the ledger to the same rows, and the indicator
columns kept in step with them equal to columns read afresh (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner

from domain.indicators import BASE_CODES, parse_indicator
from domain.periods import parse_period
from projections.indicators import IndicatorCalculator, Question
from projections.plan_records import PLAN_TABLES
from service.cli import main
from tests.api.test_plan_indicators import PLAN_CODES, build, figures
from tests.conftest import ADMIN_TOKEN

TABLES = [*PLAN_TABLES, "member_state", "union_state", "workplace_state"]


def test_a_rebuild_gives_the_plan_views_and_figures_again(app, tenant, settings):
    build(tenant)
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        live = store.views.dump(TABLES)
    before = figures(tenant, as_of="2025-12-31")
    env = {
        "UNIONLEDGER_DATA_DIR": str(settings.data_dir),
        "UNIONLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "UNIONLEDGER_DATABASE_URL": settings.database_url or "",
        "UNIONLEDGER_CONTROL_SCHEMA": settings.control_schema,
    }
    result = CliRunner().invoke(main, ["rebuild", "--tenant", tenant.id], env=env)
    assert result.exit_code == 0, result.output
    with platform.stores.use(tenant.id) as store:
        assert store.views.dump(TABLES) == live
    # 4 ratings + 1 replacing, 2 committees, 3 agreements, 3 conferences, 18 cards, 5 dues, 4 training
    assert [len(live[t]) for t in PLAN_TABLES] == [5, 2, 5, 4, 3, 3, 18]
    assert figures(tenant, as_of="2025-12-31") == before


def test_columns_kept_in_step_with_the_plan_records_equal_columns_read_afresh(app, tenant):
    platform = app.extensions["unionledger"]
    indicators = [parse_indicator(c) for c in (*BASE_CODES, "cla_coverage_pct@45")]
    post, compared = tenant.post, 0

    def post_and_compare(path: str, body: dict | None = None, expect: int | None = 201):
        nonlocal compared
        response = post(path, body, expect)
        if path.rsplit("/", 1)[-1] in ("ratings", "cards", "dues", "training", "agreements", "conferences"):
            with platform.stores.use(tenant.id) as store:
                afresh = IndicatorCalculator(store.transaction)
                for period, unit, as_of in (("2025", None, "2025-12-31"), ("2025-Q1", "D1", "2025-03-31")):
                    q = Question(parse_period(period), unit, date.fromisoformat(as_of), None)
                    assert store.indicators.figures(indicators, q) == afresh.figures(indicators, q), (path, q)
                    compared += 1
        return response

    tenant.post = post_and_compare
    build(tenant)
    assert compared > 50
    assert figures(tenant, as_of="2025-12-31")["members_with_card_pct"] == 48.6
    assert set(PLAN_CODES) <= set(BASE_CODES)


def test_the_plan_records_derived_in_sql_equal_the_rows_their_handlers_write(app, tenant):
    """On PostgreSQL the records (but dues) are derived from the stored events in SQL, as they are
    recorded and in a rebuild; the views made again through every event's handler are the same."""
    from projections.runner import Projector

    build(tenant)
    platform = app.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        live = store.views.dump(TABLES)
        projector = store.projector
        by_handlers = Projector(projector.recorder, projector.mapper, projector.transaction, projector.projections)
        with store.lock():
            assert by_handlers.rebuild() > 0
        assert store.views.dump(TABLES) == live
    assert [len(live[t]) for t in PLAN_TABLES] == [5, 2, 5, 4, 3, 3, 18]
