"""The in-memory register's fixtures (defined with the domain tests) for the other domain test files."""

from tests.unit.test_domain import ledger, queries, register  # noqa: F401
