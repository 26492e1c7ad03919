"""Under CI the PostgreSQL tests may not skip: whatever true value the CI service gives CI."""

from __future__ import annotations

import pytest

import tests.conftest as conftest


@pytest.fixture
def postgres_away(monkeypatch) -> list[int]:
    """No PostgreSQL server answers; returns the list of times one was looked for."""
    looked: list[int] = []
    monkeypatch.setattr(conftest, "_pg_reachable", lambda: looked.append(1) or "OperationalError: connection refused")
    return looked


@pytest.mark.parametrize("value", ["true", "1", "yes", "True", "on", "TRUE", " true", "github-actions"])
def test_under_ci_an_unreachable_postgresql_fails_the_test(monkeypatch, postgres_away, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required under CI"):
        conftest.need_postgres()
    assert postgres_away == [1]


@pytest.mark.parametrize("value", [None, "", "0", "false", "False", "no", "off"])
def test_outside_ci_an_unreachable_postgresql_skips_the_test(monkeypatch, postgres_away, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not reachable"):
        conftest.need_postgres()
    assert postgres_away == [1]
