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
