"""The bench's plans' records go in through their import sheets: the register ends with the same
records, and so the same figures, as when each is sent as its own command (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from application.register import Register
from bench.plan_records import card_rows, load_plan_records, plan_commands
from demo.generator import generate_province, load_province
from domain.errors import DomainError
from tests.api.test_plan_indicators import PLAN_CODES
from tests.conftest import new_tenant

TODAY = date(2026, 1, 10)


def test_the_imported_plan_records_give_the_figures_their_commands_give(app, client, admin):
    province = generate_province(600, seed=5, today=TODAY)
    imported, commanded = new_tenant(client, admin), new_tenant(client, admin)
    platform = app.extensions["unionledger"]
    for t in (imported, commanded):
        with platform.stores.use(t.id) as store:
            load_province(Register(store), province, actor="bench")
    with platform.stores.use(imported.id) as store:
        counts = load_plan_records(Register(store), province, "bench", TODAY)
    sent = refused = 0
    with platform.stores.use(commanded.id) as store:
        register = Register(store)
        with register.batch() as batch:
            for command in plan_commands(province, "bench", TODAY):
                try:
                    batch.execute(command)
                    sent += 1
                except DomainError:
                    refused += 1
        cards = list(card_rows(province, TODAY))
        assert not register.import_rows({"cards": iter(cards)}, actor="bench").errors
    assert counts == {"recorded": sent + len(cards), "refused": refused}
    assert sent > 150 and len(cards) > 300
    for period in ("2024", "2025"):
        for group_by in (None, "sector"):
            params = {"as_of": "2025-12-31", "indicators": ",".join(PLAN_CODES)}
            if group_by:
                params["group_by"] = group_by
            ours, theirs = (t.get("/indicators", period=period, **params).get_json() for t in (imported, commanded))
            assert (ours["figures"], ours.get("groups")) == (theirs["figures"], theirs.get("groups"))
    whole = imported.figures("2025", as_of="2025-12-31", indicators=",".join(PLAN_CODES))
    assert all(whole[code] > 0 for code in PLAN_CODES), whole
