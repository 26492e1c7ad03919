"""The one place that wires settings, the tenant registry and the tenant stores together."""

from __future__ import annotations

from dataclasses import dataclass

from persistence.files import make_private
from tenants.provisioning import empty_store, provision_tenant
from tenants.registry import Registry
from tenants.settings import Settings
from tenants.stores import TenantStores


@dataclass
class Platform:
    settings: Settings
    registry: Registry
    stores: TenantStores

    def provision(self, tenant_id: str, name: str) -> str:
        return provision_tenant(self.settings, self.registry, self.stores, tenant_id, name)

    def empty_store(self, tenant_id: str) -> None:
        empty_store(self.settings, self.registry, self.stores, tenant_id)

    def close(self) -> None:
        self.stores.close()
        self.registry.close()


def bootstrap(settings: Settings | None = None) -> Platform:
    """The platform, on a data folder made private first (one an older version left readable)."""
    settings = settings or Settings.from_env()
    make_private(settings.data_dir)
    return Platform(settings, Registry(settings), TenantStores(settings))
