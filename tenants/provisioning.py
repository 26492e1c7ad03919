"""Provisioning a tenant: its schema (PostgreSQL) or file (SQLite), tables and first token."""

from __future__ import annotations

from domain.errors import AlreadyExists, InvalidValue
from tenants.registry import Registry
from tenants.settings import TENANT_ID, Settings, schema_name
from tenants.stores import TenantStores, sqlite_path


def provision_tenant(settings: Settings, registry: Registry, stores: TenantStores,
                     tenant_id: str, name: str) -> str:
    """Create the tenant's store and register it; returns its first federation_admin token."""
    if not TENANT_ID.match(tenant_id or ""):
        raise InvalidValue("must be 1-40 lowercase letters, digits and inner hyphens", field="id")
    if registry.tenant(tenant_id) is not None:
        raise AlreadyExists(f"tenant {tenant_id!r} exists already", field="id", rule="unique_id")
    if settings.backend == "postgres":
        with registry._pool.connection() as conn:  # noqa: SLF001 - the control pool also provisions
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema_name(tenant_id)}"')
            conn.commit()
    stores.forget(tenant_id)
    with stores.use(tenant_id, create=True):
        pass
    token = registry.add_tenant(tenant_id, name, holder="federation_admin")
    if token is None:
        raise AlreadyExists(f"tenant {tenant_id!r} exists already", field="id", rule="unique_id")
    return token


def empty_store(settings: Settings, registry: Registry, stores: TenantStores, tenant_id: str) -> None:
    """Throw a tenant's store away and make it again, empty; the registry and tokens stay.

    Only for a store whose first build never finished (an interrupted demo province): a
    tenant's ledger is otherwise never deleted.
    """
    stores.forget(tenant_id)
    if settings.backend == "postgres":
        with registry._pool.connection() as conn:  # noqa: SLF001 - as in provision_tenant
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema_name(tenant_id)}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema_name(tenant_id)}"')
            conn.commit()
    else:
        path = sqlite_path(settings, tenant_id)
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    with stores.use(tenant_id, create=True):
        pass
