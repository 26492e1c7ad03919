"""The limits' settings, as the environment gives them."""

from __future__ import annotations

import pytest

from tenants.settings import Settings


def test_the_limits_default_to_the_documented_values():
    s = Settings.from_env({})
    assert (
        s.max_body_bytes,
        s.max_upload_bytes,
        s.import_errors,
        s.auth_failures,
        s.auth_window_seconds,
        s.trusted_proxies,
    ) == (1 << 20, 64 << 20, 100, 20, 60, 0)


def test_the_limits_come_from_the_environment():
    s = Settings.from_env(
        {
            "UNIONLEDGER_MAX_BODY_BYTES": "4096",
            "UNIONLEDGER_MAX_UPLOAD_BYTES": "1048576",
            "UNIONLEDGER_IMPORT_ERRORS": "10",
            "UNIONLEDGER_AUTH_FAILURES": "5",
            "UNIONLEDGER_AUTH_WINDOW_SECONDS": "300",
            "UNIONLEDGER_TRUSTED_PROXIES": "1",
        }
    )
    assert (
        s.max_body_bytes,
        s.max_upload_bytes,
        s.import_errors,
        s.auth_failures,
        s.auth_window_seconds,
        s.trusted_proxies,
    ) == (4096, 1 << 20, 10, 5, 300, 1)


@pytest.mark.parametrize(
    "name, value",
    [("UNIONLEDGER_MAX_BODY_BYTES", "1MB"), ("UNIONLEDGER_AUTH_FAILURES", "0"), ("UNIONLEDGER_TRUSTED_PROXIES", "-1")],
)
def test_a_wrong_limit_stops_the_start_naming_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_a_server_of_several_hosts_reaches_libpq_as_its_lists_with_the_urls_parameters():
    """A primary and its standby as one server: libpq tries the hosts in turn and keeps the one
    that takes writes; the password never appears in the address an operator is shown."""
    settings = Settings(
        database_url="postgresql://app:s%40cret@db1:5432,db2:5433/union?target_session_attrs=read-write"
    )
    assert settings.postgres() == {
        "POSTGRES_DBNAME": "union",
        "POSTGRES_HOST": "db1,db2",
        "POSTGRES_PORT": "5432,5433",
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": "s@cret",
        "POSTGRES_CONNECT_OPTIONS": "target_session_attrs=read-write",
    }
    assert settings.conninfo() == (
        "dbname='union' host='db1,db2' port='5432,5433' user='app' password='s@cret' target_session_attrs='read-write'"
    )
    assert settings.address() == "db1:5432,db2:5433"
    one = Settings(database_url="postgresql://postgres@[::1]/test")
    assert (one.address(), one.postgres()["POSTGRES_CONNECT_OPTIONS"]) == ("::1:5432", "")
