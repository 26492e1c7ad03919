"""The demo's second province and national token: built once, so that the national level adds two tenants."""

from __future__ import annotations

import uuid
from datetime import date

from application.national import National
from service.startup import ensure_national_demo
from tenants.bootstrap import bootstrap

SECOND = f"demo-second-{uuid.uuid4().hex[:8]}"  # this run's own: runs may share a PostgreSQL server


def test_the_second_province_is_built_once_and_a_national_token_kept(settings):
    platform = bootstrap(settings)
    try:
        token = ensure_national_demo(platform, date(2016, 6, 30), tenant_id=SECOND)
        assert token is not None
        who = platform.registry.authenticate(token)
        assert who is not None and (who.role, who.tenant_id) == ("national", None)
        with platform.stores.use(SECOND) as store:
            built = store.projector.ledger_position()
        answer = National(platform, today=lambda: date(2016, 6, 30)).indicators("2016", codes="members_total")
        assert [t["tenant_id"] for t in answer["tenants"]] == [SECOND]
        assert answer["figures"]["members_total"] == answer["tenants"][0]["figures"]["members_total"] > 0
        assert ensure_national_demo(platform, date(2016, 6, 30), tenant_id=SECOND) == token
        with platform.stores.use(SECOND) as store:
            assert store.projector.ledger_position() == built  # built once, not again
        assert (settings.data_dir / "national-token").stat().st_mode & 0o077 == 0
    finally:
        platform.close()


def test_a_demo_built_before_2016_has_no_second_province(settings):
    platform = bootstrap(settings)
    try:
        assert ensure_national_demo(platform, date(2015, 3, 31), tenant_id=SECOND) is None
        assert platform.registry.tenant(SECOND) is None
        assert ensure_national_demo(platform, tenant_id=SECOND) is None  # decided once, the clock not asked again
    finally:
        platform.close()
