"""Guessing tokens: failed authentications are counted per client address, in the control store
that every worker shares; past the limit an address is answered 429 until its window passes."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from service.app import create_app
from tenants.registry import token_hash
from tests.conftest import TenantClient

LIMIT = 20
WINDOW = 60
GUESSER, NEIGHBOUR = "203.0.113.7", "198.51.100.20"


class Clock:
    """The throttle's wall clock, moved by hand."""

    def __init__(self, now: float = 1_900_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock()
    app.extensions["unionledger.throttle"].clock = clock
    return clock


def get(app, tenant: TenantClient, address: str, token: str | None, path: str = "/units/none"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(tenant.url(path), headers=headers, environ_base={"REMOTE_ADDR": address})


def guess(app, tenant: TenantClient, address: str, times: int, clock: Clock | None = None) -> list[int]:
    statuses = []
    for n in range(times):
        statuses.append(get(app, tenant, address, f"ul_guess-{n}").status_code)
        if clock:
            clock.now += 0.5
    return statuses


def test_twenty_wrong_tokens_then_even_a_valid_one_is_429_with_retry_after(app, tenant, clock):
    assert guess(app, tenant, GUESSER, LIMIT, clock) == [401] * LIMIT  # the first failure at 0 s, the last at 9.5 s
    clock.now += 0.5
    refused = get(app, tenant, GUESSER, tenant.token)
    body = refused.get_json()
    assert (refused.status_code, refused.mimetype, body["status"]) == (429, "application/problem+json", 429)
    assert refused.headers["Retry-After"] == str(WINDOW - 10)
    assert GUESSER in body["detail"]


def test_a_blocked_address_is_not_authenticated_so_writes_nothing(app, tenant, clock):
    guess(app, tenant, GUESSER, LIMIT)
    refused = app.test_client().post(
        tenant.url("/units"),
        headers=tenant.headers,
        environ_base={"REMOTE_ADDR": GUESSER},
        json={"id": "u1", "name": "U", "kind": "other", "established_on": "2020-01-01"},
    )
    assert refused.status_code == 429
    assert get(app, tenant, NEIGHBOUR, tenant.token, "/units/u1").status_code == 404


def test_another_address_is_unaffected(app, tenant, clock):
    guess(app, tenant, GUESSER, LIMIT)
    assert get(app, tenant, GUESSER, tenant.token).status_code == 429
    assert get(app, tenant, NEIGHBOUR, tenant.token).status_code == 404  # authenticated: the unit does not exist
    assert get(app, tenant, NEIGHBOUR, "ul_wrong").status_code == 401


def test_nineteen_failures_leave_the_address_free(app, tenant, clock):
    guess(app, tenant, GUESSER, LIMIT - 1)
    assert get(app, tenant, GUESSER, tenant.token).status_code == 404
    assert get(app, tenant, GUESSER, "ul_wrong").status_code == 401  # the twentieth failure: blocked from now on
    assert get(app, tenant, GUESSER, tenant.token).status_code == 429


def test_after_the_window_requests_pass_again_and_a_new_window_counts_from_zero(app, tenant, clock):
    guess(app, tenant, GUESSER, LIMIT)
    clock.now += WINDOW - 1
    assert get(app, tenant, GUESSER, tenant.token).headers["Retry-After"] == "1"
    clock.now += 1
    assert get(app, tenant, GUESSER, tenant.token).status_code == 404
    assert guess(app, tenant, GUESSER, LIMIT - 1) == [401] * (LIMIT - 1)
    assert get(app, tenant, GUESSER, tenant.token).status_code == 404


def test_failures_spread_over_more_than_a_window_never_block(app, tenant, clock):
    for _ in range(3):
        assert guess(app, tenant, GUESSER, LIMIT - 1) == [401] * (LIMIT - 1)
        clock.now += WINDOW
    assert get(app, tenant, GUESSER, tenant.token).status_code == 404


def test_each_failure_is_logged_with_address_method_and_path_and_never_the_token(app, tenant, clock, caplog):
    secret = "ul_a-guess-that-must-not-be-logged"
    with caplog.at_level(logging.WARNING, logger="service"):
        app.test_client().post(
            tenant.url("/units"),
            headers={"Authorization": f"Bearer {secret}"},
            environ_base={"REMOTE_ADDR": GUESSER},
            json={},
        )
        get(app, tenant, GUESSER, None)
    failures = [r for r in caplog.records if r.name.startswith("service") and r.levelno == logging.WARNING]
    assert len(failures) == 2, [r.getMessage() for r in caplog.records]
    for record, method in zip(failures, ("POST", "GET")):
        line = record.getMessage()
        assert GUESSER in line and method in line and tenant.url("/units") in line, line
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert secret not in logged and token_hash(secret) not in logged and token_hash(secret)[:12] not in logged


def test_the_address_that_reaches_the_limit_is_logged_as_blocked(app, tenant, clock, caplog):
    with caplog.at_level(logging.WARNING, logger="service"):
        guess(app, tenant, GUESSER, LIMIT)
    assert any(
        "reached 20 failed authentications" in r.getMessage() and GUESSER in r.getMessage() for r in caplog.records
    )


def test_two_workers_on_one_control_store_share_the_count(app, settings, tenant, clock):
    other = create_app(settings)  # a second worker: its own process memory, the same control store
    other.extensions["unionledger.throttle"].clock = clock
    try:
        assert guess(app, tenant, GUESSER, 12) == [401] * 12
        assert guess(other, tenant, GUESSER, 8) == [401] * 8  # the twentieth, in the other worker
        assert get(other, tenant, GUESSER, tenant.token).status_code == 429
        # This worker has not seen the block; its next failure from the address finds it
        assert get(app, tenant, GUESSER, "ul_again").status_code == 429
        assert get(app, tenant, GUESSER, tenant.token).status_code == 429
        assert get(app, tenant, NEIGHBOUR, tenant.token).status_code == 404
    finally:
        other.extensions["unionledger"].close()


def test_a_valid_token_costs_the_control_store_nothing_more(app, tenant, clock, monkeypatch):
    registry = app.extensions["unionledger"].registry
    registry.clock = lambda: 100.0  # the token cache's clock stands still, within TOKEN_RECHECK_SECONDS
    assert get(app, tenant, GUESSER, tenant.token).status_code == 404  # the token is looked up once
    opened = []
    real = registry.transaction
    monkeypatch.setattr(registry, "transaction", lambda *a, **k: opened.append(a) or real(*a, **k))
    for _ in range(5):
        assert get(app, tenant, GUESSER, tenant.token).status_code == 404
    assert opened == []
    assert get(app, tenant, GUESSER, "ul_wrong").status_code == 401
    assert len(opened) == 2  # the wrong token looked up, and the failure counted


@pytest.fixture
def behind_proxy(settings):
    app = create_app(replace(settings, trusted_proxies=1))
    yield app
    app.extensions["unionledger"].close()


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(behind_proxy, admin):
    client = behind_proxy.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(LIMIT):
        client.get(
            "/v1/tenants", headers={"Authorization": f"Bearer ul_{n}", "X-Forwarded-For": GUESSER}, environ_base=proxy
        )

    def as_admin(client_address: str) -> int:
        return client.get(
            "/v1/tenants", headers={**admin, "X-Forwarded-For": client_address}, environ_base=proxy
        ).status_code

    assert (as_admin(GUESSER), as_admin(NEIGHBOUR)) == (429, 200)


def test_without_a_trusted_proxy_a_forwarded_address_changes_nothing(client, admin):
    for n in range(LIMIT):
        client.get(
            "/v1/tenants",
            headers={"Authorization": f"Bearer ul_{n}", "X-Forwarded-For": f"192.0.2.{n}"},
            environ_base={"REMOTE_ADDR": GUESSER},
        )
    answer = client.get(
        "/v1/tenants", headers={**admin, "X-Forwarded-For": NEIGHBOUR}, environ_base={"REMOTE_ADDR": GUESSER}
    )
    assert answer.status_code == 429
