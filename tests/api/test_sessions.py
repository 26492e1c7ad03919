"""Logging in: a session's token with the user's role and scope for 8 hours; one answer to a wrong
username or password; accounts locked after 5 failures within 15 minutes, addresses throttled;
and the cookie session of the web console, whose unsafe requests carry a CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime

from tenants import passwords
from tenants.registry import Registry
from tests.api.conftest import Clock
from tests.api.test_users import PASSWORD, add_user, log_in, session
from tests.conftest import TenantClient

HOURS_8 = 8 * 3600
WINDOW = 15 * 60


def at(clock: Clock, seconds: float = 0) -> str:
    return datetime.fromtimestamp(clock.now + seconds, UTC).isoformat(timespec="seconds")


def test_a_login_gives_a_token_of_the_users_role_and_scope_for_8_hours(app, units, clock):
    add_user(units)
    answer = log_in(units, username="LAN").get_json()  # usernames are lowercase: typed either way
    assert answer["expires_at"] == at(clock, HOURS_8) == "2030-03-18T01:46:40+00:00"
    assert answer["user"]["username"] == "lan" and answer["user"]["scope_unit_id"] == "u-a"
    assert answer["token"].startswith("uls_") and "csrf_token" not in answer
    who = app.extensions["unionledger"].registry.authenticate(answer["token"])
    assert (who.actor, who.role, who.tenant_id, who.scope_unit_id, who.user) == ("lan", "clerk", units.id, "u-a", "lan")
    clerk = TenantClient(units.client, units.id, answer["token"])
    clerk.get("/units/u-a")
    clerk.post("/units", {"id": "u-c", "name": "C", "kind": "other", "established_on": "2021-01-01"}, expect=403)
    clerk.post("/members", {}, expect=422)  # a clerk admits members: the role lets it through to the body


def test_a_wrong_password_an_unknown_user_and_an_unknown_tenant_get_the_same_answer(units, clock, monkeypatch):
    add_user(units)
    checked: list[str] = []
    real = passwords.HASHER

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            checked.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name: str):
            return getattr(real, name)

    monkeypatch.setattr(passwords, "HASHER", Counting())
    answers = [
        log_in(units, password="not the password", expect=401),
        log_in(units, username="nobody", expect=401),
        log_in(TenantClient(units.client, "no-such-tenant", ""), expect=401),
    ]
    assert len({a.data for a in answers}) == 1
    assert {(a.mimetype, a.headers["WWW-Authenticate"], a.headers.get("Set-Cookie")) for a in answers} == {
        ("application/problem+json", 'Bearer realm="unionledger"', None)
    }
    assert answers[0].get_json()["detail"] == "wrong username or password"
    # each was checked against a hash, the unknown ones against the same dummy: as slow as a real check
    assert len(checked) == 3 and checked[1] == checked[2] != checked[0]
    assert all(h.startswith("$argon2id$") for h in checked)


def test_five_failures_lock_the_account_for_15_minutes_even_with_the_right_password(units, clock):
    add_user(units)
    add_user(units, username="minh", full_name="Phạm Minh", role="viewer", scope_unit_id="u-b")
    for _ in range(5):
        log_in(units, password="a wrong guess", expect=401)
        clock.now += 60  # the fifth at 4 minutes
    locked = log_in(units, expect=429)
    assert locked.headers["Retry-After"] == str(WINDOW - 300)  # the window began with the first failure
    assert locked.get_json()["status"] == 429 and "token" not in locked.get_json()
    log_in(units, username="minh")  # another account, from the same address: not locked
    clock.now += WINDOW - 300 - 1
    assert log_in(units, expect=429).headers["Retry-After"] == "1"
    clock.now += 1
    log_in(units)  # the window has passed


def test_an_unknown_account_locks_as_a_known_one_does(units, clock):
    for _ in range(5):
        log_in(units, username="nobody", expect=401)
    assert log_in(units, username="nobody", expect=429).headers["Retry-After"] == str(WINDOW)


def test_a_login_before_the_fifth_failure_clears_the_count(units, clock):
    add_user(units)
    for _ in range(4):
        log_in(units, password="a wrong guess", expect=401)
    log_in(units)
    for _ in range(4):
        log_in(units, password="a wrong guess", expect=401)
    log_in(units)


def test_failures_spread_over_more_than_15_minutes_never_lock(units, clock):
    add_user(units)
    for _ in range(3):
        for _ in range(4):
            log_in(units, password="a wrong guess", expect=401)
        clock.now += WINDOW
    log_in(units)


def test_the_locked_logins_are_in_the_access_log(units, clock):
    add_user(units)
    for _ in range(5):
        log_in(units, password="a wrong guess", expect=401)
    log_in(units, expect=429)
    log = units.get("/access-log").get_json()["entries"]
    assert [(e["event"], e["detail"].get("failures")) for e in log[1:]] == [
        ("login_failed", 1),
        ("login_failed", 2),
        ("login_failed", 3),
        ("login_failed", 4),
        ("login_failed", 5),
        ("login_locked", None),
    ]
    assert log[5]["detail"]["locked"] is True and log[6]["detail"] == {"retry_after": WINDOW}


def test_an_address_past_its_failed_authentications_is_429_even_for_a_right_login(units, clock):
    """The per-address throttle (service/throttle.py) counts failed logins with failed tokens."""
    add_user(units)
    guesser = {"environ_base": {"REMOTE_ADDR": "203.0.113.7"}}
    for n in range(20):  # 20 accounts, 1 guess each: no account locked
        log_in(units, username=f"user{n}", expect=401, **guesser)
    refused = log_in(units, expect=429, **guesser)
    assert "203.0.113.7" in refused.get_json()["detail"] and int(refused.headers["Retry-After"]) == 60
    log_in(units, environ_base={"REMOTE_ADDR": "198.51.100.20"})


def test_a_session_expires_after_8_hours(app, settings, units, clock):
    add_user(units)
    registry = app.extensions["unionledger"].registry
    registry.clock = lambda: 100.0  # the token cache's clock stands still: the cached session is asked too
    clerk = session(units)
    clerk.get("/units/u-a")
    clock.now += HOURS_8 - 1
    clerk.get("/units/u-a")
    clock.now += 1
    clerk.get("/units/u-a", expect=401)
    other = Registry(settings)  # another worker, which looks the session up
    other.wall_clock = clock
    try:
        assert other.authenticate(clerk.token) is None
        clock.now -= 1
        assert other.authenticate(clerk.token).user == "lan"
    finally:
        other.close()


def test_a_logout_ends_the_session(units, clock):
    add_user(units)
    clerk, other = session(units), session(units)
    assert clerk.client.delete("/v1/sessions/current", headers=clerk.headers).status_code == 204
    clerk.get("/units/u-a", expect=401)
    other.get("/units/u-a")
    refused = units.client.delete("/v1/sessions/current", headers=units.headers)  # a token, not a session
    assert refused.status_code == 409
    assert units.get("/access-log").get_json()["entries"][-1]["event"] == "logout"


def cookies_of(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_a_cookie_session_for_the_console_needs_its_csrf_token_on_unsafe_requests(app, units, clock):
    add_user(units, role="federation_admin", scope_unit_id=None)
    browser = app.test_client()
    answer = browser.post(
        "/v1/sessions", json={"tenant": units.id, "username": "lan", "password": PASSWORD, "cookie": True}
    )
    assert answer.status_code == 201
    body, cookies = answer.get_json(), cookies_of(answer)
    assert body["token"] is None and len(body["csrf_token"]) == 64
    session_cookie, csrf_cookie = cookies["ul_session"], cookies["ul_csrf"]
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie and "Path=/" in session_cookie
    assert "HttpOnly" not in csrf_cookie and "SameSite=Strict" in csrf_cookie
    assert f"ul_csrf={body['csrf_token']};" in csrf_cookie
    unit = {"id": "u-c", "name": "C", "kind": "other", "established_on": "2021-01-01"}
    assert browser.get(units.url("/units/u-a")).status_code == 200  # a read: the cookie alone
    refused = browser.post(units.url("/units"), json=unit)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.get_json()["detail"]
    wrong = browser.post(units.url("/units"), json=unit, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    assert browser.post(units.url("/units"), json=unit, headers={"X-CSRF-Token": body["csrf_token"]}).status_code == 201
    assert units.get("/access-log").get_json()["entries"][-1]["event"] == "refused_csrf"
    # A bearer header is taken as it is, cookie or not: no CSRF token asked of a script's request
    assert app.test_client().get(units.url("/units/u-c"), headers=units.headers).status_code == 200
    out = browser.delete("/v1/sessions/current", headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status_code == 204 and set(cookies_of(out)) == {"ul_session", "ul_csrf"}
    assert browser.get(units.url("/units/u-a")).status_code == 401


def test_a_missing_or_bad_field_of_a_login_is_422_and_counts_no_failure(units, clock):
    add_user(units)
    for body in ({"tenant": units.id, "username": "lan"}, {"tenant": units.id, "username": "lan", "password": 7}):
        for _ in range(3):
            answer = units.client.post("/v1/sessions", json=body)
            assert answer.status_code == 422 and list(answer.get_json()["errors"]) == ["password"]
    log_in(units)
