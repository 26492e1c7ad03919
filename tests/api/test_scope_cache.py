"""A scoped principal's checks rest on the placements the process keeps (projections.placement.
KnownPlacements): a union moved by another process is noticed by the next command and read."""

from __future__ import annotations

from datetime import date

import pytest

from application.scope import Scope
from projections.placement import Placements
from service.app import create_app
from tests.api.test_scope import issue, reorganised
from tests.conftest import TenantClient


def communes(tenant: TenantClient) -> None:
    """Communes xa-1 and xa-2 (2020); union u1 under xa-1, u3 under xa-2 (2021)."""
    for unit in ("xa-1", "xa-2"):
        tenant.post("/units", {"id": unit, "name": unit, "kind": "commune", "established_on": "2020-01-01"})
    for union, unit in (("u1", "xa-1"), ("u3", "xa-2")):
        tenant.post(
            "/workplaces",
            {
                "id": f"w-{union}",
                "name": f"DN {union}",
                "sector": "private_enterprise",
                "unit_id": unit,
                "workers": 40,
                "female_workers": 20,
                "as_of": "2021-01-01",
            },
        )
        tenant.post(
            "/unions",
            {"id": union, "name": union, "workplace_id": f"w-{union}", "unit_id": unit, "founded_on": "2021-02-01"},
        )


def admission(member_id: str, union_id: str, on: str) -> dict:
    return {"id": member_id, "union_id": union_id, "admitted_on": on, "full_name": "Lê Thị Hoa", "gender": "female"}


@pytest.fixture
def other_process(settings):
    """The same tenants served by a second app, as another gunicorn worker serves them."""
    app = create_app(settings)
    yield app.test_client()
    app.extensions["unionledger"].close()


def test_unions_moved_by_another_process_are_noticed_by_the_next_admission_and_read(tenant, other_process):
    communes(tenant)
    clerk = issue(tenant, "clerk", "xa-1")
    clerk.post("/members", admission("m1", "u1", "2024-01-10"))  # this process now keeps the placements
    refused = clerk.post("/members", admission("m2", "u3", "2024-01-10"), expect=404).get_json()
    assert refused["errors"] == {"union_id": ["union 'u3' does not exist"]}

    # Elsewhere, on 1 March 2024, u1 moves out of xa-1 and u3 into it.
    admin = TenantClient(other_process, tenant.id, tenant.token)
    admin.post("/unions/u1/transfer", {"to_unit_id": "xa-2", "effective_on": "2024-03-01"})
    admin.post("/unions/u3/transfer", {"to_unit_id": "xa-1", "effective_on": "2024-03-01"})

    refused = clerk.post("/members", admission("m3", "u1", "2024-03-05"), expect=404).get_json()
    assert refused["errors"] == {"union_id": ["union 'u1' does not exist"]}
    clerk.post("/members", admission("m4", "u3", "2024-03-05"))  # moved in: no longer refused
    clerk.post("/members", admission("m5", "u1", "2024-02-20"))  # u1 was still under xa-1 then
    assert [u["id"] for u in clerk.get("/unions", as_of="2024-03-05").get_json()["unions"]] == ["u3"]
    clerk.get("/unions/u1", expect=404, as_of="2024-03-05")

    members = {m["id"] for m in tenant.get("/members").get_json()["members"]}
    assert members == {"m1", "m4", "m5"}  # nothing of m2 or m3 recorded


def test_the_unions_a_scope_keeps_answer_as_their_spans_read_one_by_one(tenant):
    """Every union that ever lay under a scope unit is kept with all its spans (the others never
    did): each day's answer is the one the union's own spans, read alone, give, across the 2025
    reorganisation, before and after each union's life."""
    reorganised(tenant)
    platform = tenant.client.application.extensions["unionledger"]
    with platform.stores.use(tenant.id) as store:
        placements = Placements(store.transaction)
        for top in ("huyen-a", "xa-1", "xa-moi", "nowhere"):
            kept = Scope(top, placements, store.known_placements)
            alone = Scope(top, placements)
            for union in ("u1", "u2", "u9"):
                for day in range(date(2019, 1, 1).toordinal(), date(2027, 1, 1).toordinal(), 11):
                    on = date.fromordinal(day)
                    assert kept.holds("union", union, on) == alone.holds("union", union, on), (top, union, on)
                    assert kept.holds("member", "m1", on) == alone.holds("member", "m1", on), (top, on)
