"""Logging in as an attacker would: redirects off the site, guessing passwords, reusing the cookie
of a session that has logged out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from pingyi import security
from pingyi.extensions import db
from pingyi.models import LoginSession
from tests.factories import PASSWORD, login


@pytest.mark.parametrize("target", [
    "/%09/evil.example",  # browsers drop the tab: //evil.example
    "/%0a/x",  # a newline in Location used to be a 500
    "/%0d%0aSet-Cookie:%20x=1",
    "/%5Cevil.example",  # /\evil.example: a backslash reads as a slash
    "%5C%5Cevil.example",
    "//evil.example/x",
    "https://evil.example/",
    "https:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%7F/evil.example",
])
def test_login_never_redirects_off_the_site(app, world, target):
    r = app.test_client().post(f"/login?next={target}", data={"email": world.a.admin, "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_login_keeps_a_path_on_the_site(app, world):
    r = app.test_client().post("/login?next=/t/alpha/units%3Fpage%3D2", data={"email": world.a.admin,
                                                                               "password": PASSWORD})
    assert r.headers["Location"] == "/t/alpha/units?page=2"


def _attempt(client, email, password="wrong-password", addr="10.0.0.1"):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": addr})


def test_failed_logins_per_account_are_limited_without_argon2(app, world, monkeypatch):
    """Five wrong passwords for one account: the sixth try, even the right password, is a 429
    in Chinese with Retry-After, and costs the server no password hash."""
    attacker = app.test_client()
    for _ in range(5):
        assert _attempt(attacker, world.a.admin).status_code == 200
    verified = []
    monkeypatch.setattr(security, "verify_password", lambda *a: verified.append(a) or True)
    r = _attempt(attacker, world.a.admin, PASSWORD, addr="10.0.0.9")  # a new address: the account limit
    assert r.status_code == 429 and "登录失败次数过多" in r.text and "分钟后再试" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= 300
    assert verified == []
    # another account from the same address is not affected
    assert _attempt(attacker, world.a.viewer, PASSWORD).status_code == 302


def test_a_browser_that_logged_in_before_is_not_locked_out(app, world):
    """The attacker's failures lock the account for new browsers only, and only for minutes."""
    owner = app.test_client()
    login(owner, world.a.admin)
    owner.post("/logout")
    attacker = app.test_client()
    for _ in range(6):
        _attempt(attacker, world.a.admin, addr="10.0.0.66")
    assert _attempt(attacker, world.a.admin, PASSWORD, addr="10.0.0.66").status_code == 429
    assert _attempt(owner, world.a.admin, PASSWORD, addr="10.0.0.2").status_code == 302
    newcomer = app.test_client()
    assert _attempt(newcomer, world.a.admin, PASSWORD, addr="10.0.0.3").status_code == 429
    with time_machine.travel(timedelta(minutes=5, seconds=2), tick=True):
        assert _attempt(newcomer, world.a.admin, PASSWORD, addr="10.0.0.3").status_code == 302


def test_a_forged_known_browser_cookie_does_not_exempt(app, world):
    attacker = app.test_client()
    for _ in range(5):
        _attempt(attacker, world.a.admin)
    attacker.set_cookie("pingyi_known", "WyJhYmMiXQ.forged.signature")
    assert _attempt(attacker, world.a.admin, PASSWORD).status_code == 429


def test_failed_logins_per_address_are_limited(app, world):
    """Guessing across many accounts from one address: 20 failures in ten minutes, then 429."""
    client = app.test_client()
    for i in range(20):
        assert _attempt(client, f"nobody{i}@example.org", addr="10.0.0.7").status_code == 200
    r = _attempt(client, world.a.admin, PASSWORD, addr="10.0.0.7")
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert _attempt(client, world.a.admin, PASSWORD, addr="10.0.0.8").status_code == 302


def test_successful_logins_are_not_counted(app, world):
    client = app.test_client()
    for _ in range(12):
        assert _attempt(client, world.a.admin, PASSWORD, addr="10.0.0.5").status_code == 302
        client.post("/logout")


def test_a_copied_session_cookie_ends_at_logout(app, world):
    browser = app.test_client()
    login(browser, world.a.admin)
    assert browser.get("/t/alpha/").status_code == 200
    stolen = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/t/alpha/").status_code == 200  # a live session, before logout
    browser.post("/logout")
    assert thief.get("/t/alpha/").status_code == 302  # to the login page
    assert thief.get("/api/v1/me").status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_login_sessions_keep_only_a_hash_and_expire(app, world):
    browser = app.test_client()
    login(browser, world.a.admin)
    cookie = browser.get_cookie("session").value
    with app.app_context():
        (stored,) = db.session.execute(select(LoginSession.token_hash)).scalars().all()
    assert len(stored) == 64 and stored not in cookie
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    with time_machine.travel(timedelta(seconds=lifetime + 60), tick=True):
        assert browser.get("/t/alpha/").status_code == 302
