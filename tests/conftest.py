"""Fixtures: the same tests run on the embedded SQLite store and on PostgreSQL.

PostgreSQL comes from UNIONLEDGER_TEST_DATABASE_URL (default: the local server).
Where it cannot be reached the PostgreSQL tests are skipped, except under CI (CI set to
anything but empty, 0, false, no or off: CI services write true, 1, yes, True...), where they fail.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from domain.clock import vietnam_today
from tenants.settings import Settings, schema_name

PG_URL = os.environ.get("UNIONLEDGER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "test-admin-token"


def today() -> date:
    """Today as the service reckons business dates (a Vietnamese calendar day), asked when a
    test needs it: a date kept from when the tests were collected is yesterday's once midnight
    in Vietnam (17:00 UTC) has passed."""
    return vietnam_today()


def tomorrow() -> date:
    """The first business date the service refuses as in the future, asked when needed (see today)."""
    return vietnam_today() + timedelta(days=1)


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(Settings(database_url=PG_URL).conninfo(), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def under_ci() -> bool:
    """CI services set CI, each its own way (true, 1, yes, True...): only an unset or false value is not CI."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def need_postgres() -> None:
    problem = _pg_reachable()
    if problem:
        if under_ci():
            pytest.fail(
                f"PostgreSQL is required under CI={os.environ['CI']} and is not reachable at {PG_URL}: {problem}"
            )
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {problem}")


def drop_schemas(settings: Settings, tenant_ids: list[str]) -> None:
    import psycopg

    with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
        for tenant_id in tenant_ids:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema_name(tenant_id)}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{settings.national_schema}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{settings.control_schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    if request.param == "postgres":
        need_postgres()
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path):
    run = uuid.uuid4().hex[:8]
    if backend == "sqlite":
        yield Settings(data_dir=tmp_path / "data", admin_token=ADMIN_TOKEN)
        return
    s = Settings(
        database_url=PG_URL,
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        control_schema=f"ctl_{run}",
        max_open_tenants=4,
    )
    yield s
    from tenants.registry import Registry

    registry = Registry(s)
    ids = [t["id"] for t in registry.tenants()]
    registry.close()
    drop_schemas(s, ids)


@pytest.fixture
def app(settings: Settings):
    from service.app import create_app

    app = create_app(settings)
    yield app
    app.extensions["unionledger"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin() -> dict:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class TenantClient:
    """A tenant as its federation_admin sees it over HTTP."""

    client: object
    id: str
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, path: str) -> str:
        return f"/v1/tenants/{self.id}{path}"

    def post(self, path: str, body: dict | None = None, expect: int | None = 201):
        response = self.client.post(self.url(path), json=body if body is not None else {}, headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, (path, body, response.status_code, response.get_json())
        return response

    def get(self, path: str, expect: int | None = 200, **params):
        response = self.client.get(self.url(path), query_string=params, headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, (path, params, response.status_code, response.get_json())
        return response

    def figures(self, period: str, **params) -> dict:
        return self.get("/indicators", period=period, **params).get_json()["figures"]


def index_names(cur) -> set[str]:
    """The indexes of the tenant's store a ViewCursor is on."""
    if cur.dialect == "postgres":
        return {
            n for (n,) in cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").fetchall()
        }
    return {n for (n,) in cur.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()}


def new_tenant(client, admin: dict, tenant_id: str | None = None) -> TenantClient:
    tenant_id = tenant_id or f"t-{uuid.uuid4().hex[:10]}"
    response = client.post("/v1/tenants", json={"id": tenant_id, "name": f"Tenant {tenant_id}"}, headers=admin)
    assert response.status_code == 201, response.get_json()
    return TenantClient(client, tenant_id, response.get_json()["token"])


@pytest.fixture
def tenant(client, admin) -> TenantClient:
    return new_tenant(client, admin)


def recorded_without_views(store, command):
    """Decide ``command`` and store its events (and keys) alone, as a crash between writing events
    and updating views leaves them: the views and the chain are behind until the next catch-up."""
    from application.commit import unit_of_work
    from application.handlers import handle

    uow = unit_of_work(store)
    result = handle(command, uow)
    if uow.sealing.keys:
        with store.transaction(write=True) as cur:
            store.vault.keep(cur, uow.sealing)
    store.event_store.save(*uow.added)
    return result
