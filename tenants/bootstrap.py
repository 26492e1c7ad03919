"""The one place that wires settings, the tenant registry and the tenant stores together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from persistence.files import make_private
from tenants.provisioning import empty_store, provision_national, provision_tenant
from tenants.registry import Registry
from tenants.settings import NATIONAL_STORE, Settings
from tenants.stores import TenantStore, TenantStores


@dataclass
class Platform:
    settings: Settings
    registry: Registry
    stores: TenantStores
    _national_made: bool = field(default=False, init=False)
    _national_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def provision(self, tenant_id: str, name: str, server: str | None = None) -> str:
        return provision_tenant(self.settings, self.registry, self.stores, tenant_id, name, server)

    def empty_store(self, tenant_id: str) -> None:
        empty_store(self.settings, self.registry, self.stores, tenant_id)

    @contextmanager
    def national(self) -> Iterator[TenantStore]:
        """The national ledger's store, made on its first use by this process."""
        with self._national_lock:
            if not self._national_made:
                provision_national(self.settings, self.stores)
                self._national_made = True
        with self.stores.use(NATIONAL_STORE) as store:
            yield store

    def close(self) -> None:
        self.stores.close()
        self.registry.close()


def bootstrap(settings: Settings | None = None) -> Platform:
    """The platform, on a data folder made private first (one an older version left readable)."""
    settings = settings or Settings.from_env()
    make_private(settings.data_dir)
    registry = Registry(settings)
    return Platform(settings, registry, TenantStores(settings, placement=registry.server_of))
