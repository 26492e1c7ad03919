"""Fixtures of the console's tests: light password hashes, as the API's people-and-access tests have."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tenants import passwords


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch) -> None:
    """argon2id with light parameters: the tests check sign-ins, not the hash's cost."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(passwords, "_dummy", None)
