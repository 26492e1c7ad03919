"""A small province for the access tests, built over HTTP by its federation_admin: two districts,
A and B, each with a commune, two workplaces with a union each, and a member in each first union;
a target and a report for each district. Module-scoped apps on both stores come from here too."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from io import BytesIO

import pytest

from application.register import Register
from tenants.settings import Settings
from tests.conftest import ADMIN_TOKEN, PG_URL, TenantClient, drop_schemas, need_postgres, new_tenant

SIDES = ("in", "out")  # within scope unit A, or outside it (under B)


def module_app(backend: str, tmp_path_factory) -> Iterator:
    """An app on ``backend`` for a whole test module (its data dropped at the end)."""
    from service.app import create_app

    if backend == "postgres":
        need_postgres()
        settings = Settings(
            database_url=PG_URL,
            data_dir=tmp_path_factory.mktemp("data"),
            admin_token=ADMIN_TOKEN,
            control_schema=f"ctl_{uuid.uuid4().hex[:8]}",
            max_open_tenants=4,
        )
    else:
        settings = Settings(data_dir=tmp_path_factory.mktemp("data"), admin_token=ADMIN_TOKEN)
    app = create_app(settings)
    yield app
    platform = app.extensions["unionledger"]
    ids = [t["id"] for t in platform.registry.tenants()]
    platform.close()
    if backend == "postgres":
        drop_schemas(settings, ids)


class Province:
    """Ids by side: ``unit["in"]`` is A, ``unit["out"]`` is B, and so on down."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.admin = new_tenant(self.client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        self._ids = itertools.count(1)
        self.unit = {"in": "A", "out": "B"}
        self.commune = {"in": "A1", "out": "B1"}
        self.workplace = {"in": "wuA", "out": "wuB"}  # the workplaces of the first unions
        self.union = {"in": "uA", "out": "uB"}
        self.union2 = {"in": "uA2", "out": "uB2"}
        self.member = {"in": "mA", "out": "mB"}
        for side in SIDES:
            unit, commune = self.unit[side], self.commune[side]
            self.admin.post("/units", {"id": unit, "name": unit, "kind": "district", "established_on": "2020-01-01"})
            self.admin.post(
                "/units",
                {"id": commune, "name": commune, "kind": "commune", "established_on": "2020-01-01", "parent_id": unit},
            )
            for union in (self.union[side], self.union2[side]):
                self.new_union(side, union)
            self.new_member(side, self.member[side])
        self.target = {
            side: self.admin.post(
                "/targets", {"unit_id": self.unit[side], "indicator": "members_total", "period": "2024", "value": 10}
            ).get_json()["id"]
            for side in SIDES
        }
        self.report = {
            side: self.admin.post(
                "/reports", {"unit_id": self.unit[side], "period": "2024", "figures": {"members_total": 1}}
            ).get_json()["id"]
            for side in SIDES
        }

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def token(self, role: str, scope_unit_id: str | None = None) -> TenantClient:
        body = {"role": role, "holder": self.fresh(role), "scope_unit_id": scope_unit_id}
        answer = self.admin.post("/tokens", body).get_json()
        assert answer["scope_unit_id"] == scope_unit_id
        return TenantClient(self.client, self.admin.id, answer["token"])

    def recorded(self) -> int:
        """The ledger's size."""
        with self.app.extensions["unionledger"].stores.use(self.admin.id) as store:
            return Register(store).recorded()

    # ---- fresh entities, for the commands that use one up ----------------------------------------------
    def new_unit(self, side: str) -> str:
        unit = self.fresh("unit")
        body = {"id": unit, "name": unit, "kind": "other", "established_on": "2020-06-01", "parent_id": self.unit[side]}
        self.admin.post("/units", body)
        return unit

    def new_workplace(self, side: str, workplace: str | None = None) -> str:
        workplace = workplace or self.fresh("wp")
        self.admin.post(
            "/workplaces",
            {
                "id": workplace,
                "name": workplace,
                "sector": "private_enterprise",
                "unit_id": self.commune[side],
                "workers": 20,
                "female_workers": 8,
                "as_of": "2021-01-01",
            },
        )
        return workplace

    def new_union(self, side: str, union: str | None = None) -> str:
        union = union or self.fresh("union")
        body = {
            "id": union,
            "name": union,
            "workplace_id": self.new_workplace(side, f"w{union}"),
            "unit_id": self.commune[side],
            "founded_on": "2021-02-01",
        }
        self.admin.post("/unions", body)
        return union

    def new_member(self, side: str, member: str | None = None) -> str:
        member = member or self.fresh("member")
        body = {
            "id": member,
            "union_id": self.union[side],
            "admitted_on": "2022-01-01",
            "full_name": "Nguyễn Thị Hoa",
            "gender": "female",
            "birth_date": "1990-05-06",
            "id_number": "001190000001",
        }
        self.admin.post("/members", body)
        return member

    def card(self, side: str) -> dict:
        """The card of the side's first member, issued on first use."""
        member = self.member[side]
        if self.admin.get(f"/members/{member}/card", expect=None).status_code == 404:
            self.admin.post(f"/members/{member}/cards", {"card_no": f"C-{member}", "issued_on": "2023-01-01"})
        return self.admin.get(f"/members/{member}/card").get_json()

    def sister_id(self) -> str:
        """A second province, for the moves between provinces: a district with a union."""
        if not hasattr(self, "sister"):
            self.sister = new_tenant(self.client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
            self.sister.post("/units", {"id": "S", "name": "S", "kind": "district", "established_on": "2020-01-01"})
            self.sister.post(
                "/workplaces",
                {"id": "ws", "name": "ws", "sector": "other", "unit_id": "S", "workers": 5, "female_workers": 1,
                 "as_of": "2020-01-01"},
            )  # fmt: skip
            self.sister.post("/unions", {"id": "us", "name": "us", "workplace_id": "ws", "unit_id": "S",
                                         "founded_on": "2020-02-01"})  # fmt: skip
        return self.sister.id

    def incoming(self) -> str:
        """A transfer waiting for this province: a fresh member of the sister province, sent here."""
        self.sister_id()
        member = self.fresh("moving")
        self.sister.post(
            "/members",
            {"id": member, "union_id": "us", "admitted_on": "2022-01-01", "full_name": "M", "gender": "male"},
        )
        body = {"to_tenant": self.admin.id, "effective_on": "2023-01-01"}
        return self.sister.post(f"/members/{member}/transfer-out", body).get_json()["transfer_id"]

    def outgoing(self, side: str) -> str:
        """A transfer this province proposed, of a fresh member of ``side``, waiting for the sister's decision."""
        body = {"to_tenant": self.sister_id(), "effective_on": "2023-01-01"}
        return self.admin.post(f"/members/{self.new_member(side)}/transfer-out", body).get_json()["transfer_id"]

    def new_user(self) -> str:
        username = self.fresh("user")
        body = {"username": username, "full_name": username, "role": "viewer", "password": "a-long-password"}
        assert self.admin.post("/users", body).status_code == 201
        return username

    def new_token(self) -> str:
        return self.admin.post("/tokens", {"role": "viewer", "holder": self.fresh("h")}).get_json()["id"]

    def workplace_csv(self, side: str) -> dict:
        header = "id,name,sector,unit_id,workers,female_workers,as_of\n"
        rows = header + f"{self.fresh('iwp')},X,other,{self.commune[side]},5,1,2022-01-01\n"
        return {"file": (BytesIO(rows.encode()), "workplaces.csv"), "kind": "workplaces"}


@pytest.fixture(name="province", scope="module", params=["sqlite", "postgres"])
def province_fixture(request, tmp_path_factory) -> Iterator[Province]:
    apps = module_app(request.param, tmp_path_factory)
    app = next(apps)
    yield Province(app)
    next(apps, None)
