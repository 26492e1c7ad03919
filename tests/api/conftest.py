"""Fixtures of the people-and-access tests: a hand-moved clock, and a tenant with two units to scope users to."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tenants import passwords
from tests.conftest import TenantClient


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch) -> None:
    """argon2id with light parameters: the service's own (64 MiB, 3 passes, 4 lanes) take a second
    a hash on a busy two-core machine, and the tests check logins, not the hash's cost."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(passwords, "_dummy", None)


class Clock:
    """The wall clock of the registry (sessions, failed logins) and of the address throttle, moved by hand."""

    def __init__(self, now: float = 1_900_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock()
    app.extensions["unionledger"].registry.wall_clock = clock
    app.extensions["unionledger.throttle"].clock = clock
    return clock


@pytest.fixture
def units(tenant: TenantClient) -> TenantClient:
    """Two units: u-a (a district) and u-b (a commune)."""
    tenant.post("/units", {"id": "u-a", "name": "A", "kind": "district", "established_on": "2020-01-01"})
    tenant.post("/units", {"id": "u-b", "name": "B", "kind": "commune", "established_on": "2020-01-01"})
    return tenant
