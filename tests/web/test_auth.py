"""Accounts: login, sessions that end on password change, roles, API keys stored hashed."""

from __future__ import annotations

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import ApiKey, User
from pingyi.org import accounts
from tests.factories import PASSWORD, bearer, login


def test_login_logout(app, world):
    client = app.test_client()
    assert client.get(f"/t/{world.a.slug}/").status_code == 302  # to the login page
    r = client.post("/login", data={"email": world.a.admin, "password": "wrong"})
    assert r.status_code == 200 and "邮箱或密码不正确" in r.text
    r = client.post("/login?next=/t/alpha/units", data={"email": world.a.admin.upper(), "password": PASSWORD})
    assert r.status_code == 302 and r.location.endswith("/t/alpha/units")
    assert client.get("/t/alpha/units").status_code == 200
    client.post("/logout")
    assert client.get("/t/alpha/units").status_code == 302


def test_open_redirect_refused(app, world):
    client = app.test_client()
    r = client.post("/login?next=//evil.example/x", data={"email": world.a.admin, "password": PASSWORD})
    assert r.location == "/"


def test_passwords_are_argon2_hashed(ctx, world):
    user = accounts.user_by_email(world.a.admin)
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_password_change_ends_other_sessions(app, world):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, world.a.admin)
    login(laptop, world.a.admin)
    r = laptop.post("/account/password", data={"old_password": "nope", "new_password": "another-pass-9"})
    assert "原密码不正确" in r.text
    r = laptop.post("/account/password", data={"old_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 200
    r = laptop.post("/account/password", data={"old_password": PASSWORD, "new_password": "another-pass-9"})
    assert r.status_code == 302
    assert laptop.get("/t/alpha/").status_code == 200  # this session continues
    assert phone.get("/t/alpha/").status_code == 302  # the other one is logged out
    fresh = app.test_client()
    login(fresh, world.a.admin, "another-pass-9")


def test_inactive_user_cannot_log_in(app, world):
    with app.app_context():
        accounts.user_by_email(world.a.viewer).is_active = False
        db.session.commit()
    r = app.test_client().post("/login", data={"email": world.a.viewer, "password": PASSWORD})
    assert r.status_code == 200


def test_api_key_lifecycle(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    r = client.post("/account/keys", data={"name": "脚本"})
    full = r.text.split('class="secret">')[1].split("<")[0]
    assert full.startswith("py_")
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(full)).json["email"] == world.a.admin
    with app.app_context():
        stored = db.session.execute(select(ApiKey).where(ApiKey.name == "脚本")).scalar_one()
        assert full.split("_", 2)[2] not in (stored.key_hash, stored.prefix)
        key_id = stored.id
    client.post(f"/account/keys/{key_id}/revoke")
    assert api.get("/api/v1/me", headers=bearer(full)).status_code == 401
    assert api.get("/api/v1/me", headers=bearer("py_bogus_key")).status_code == 401
    assert api.get("/api/v1/me").status_code == 401


def test_cannot_revoke_someone_elses_key(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    assert client.post(f"/account/keys/{world.b.api_key_id}/revoke").status_code == 404
    assert app.test_client().get("/api/v1/me", headers=bearer(world.b.api_key)).status_code == 200


def test_viewer_reads_but_cannot_write(app, world):
    client = app.test_client()
    login(client, world.a.viewer)
    assert client.get(f"/t/alpha/units/{world.a.branch}").status_code == 200
    assert client.post(f"/t/alpha/units/{world.a.branch}", data={"name": "x", "kind": "branch"}).status_code == 403
    assert client.post("/t/alpha/units/new", data={"name": "x", "kind": "branch"}).status_code == 403
    assert client.get("/t/alpha/import").status_code == 403
    assert client.get("/t/alpha/members").status_code == 403
    r = app.test_client().post("/api/v1/t/alpha/units", json={"name": "x"})
    assert r.status_code == 401


def test_unit_admin_is_confined_to_subtree(app, world):
    client = app.test_client()
    login(client, world.a.unit_admin)  # manages 一矿党委
    page = client.get("/t/alpha/units").text
    assert "采煤一队党支部" in page and "机关党支部" not in page
    assert client.get(f"/t/alpha/units/{world.a.branch}").status_code == 200
    assert client.get(f"/t/alpha/units/{world.a.other_branch}").status_code == 404
    assert client.get(f"/t/alpha/units/{world.a.root}").status_code == 404
    # may add inside the subtree, not at the top or elsewhere
    r = client.post("/t/alpha/units/new", data={"name": "新支部", "kind": "branch", "parent_id": world.a.committee})
    assert r.status_code == 302
    r = client.post("/t/alpha/units/new", data={"name": "顶层", "kind": "branch", "parent_id": ""})
    assert "只能在所管单位之下" in r.text
    r = client.post("/t/alpha/units/new", data={"name": "越界", "kind": "branch", "parent_id": world.a.other_branch})
    assert r.status_code == 404
    # cannot move own root out, nor delete it
    assert client.post(f"/t/alpha/units/{world.a.committee}/delete").status_code == 403
    people = client.get("/t/alpha/people").text
    assert "王伟" in people and "李娜" not in people


def test_deactivated_tenant_answers_404(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    with app.app_context():
        accounts.set_tenant_active(accounts.tenant_by_slug("alpha"), False)
        db.session.commit()
    assert client.get("/t/alpha/").status_code == 404


def test_tenant_picker_lists_memberships(app, world):
    with app.app_context():
        u = accounts.user_by_email(world.a.admin)
        accounts.grant(accounts.tenant_by_slug("beta"), u, "viewer")
        db.session.commit()
    client = app.test_client()
    login(client, world.a.admin)
    page = client.get("/").text
    assert "甲公司" in page and "乙公司" in page
    assert client.get("/t/beta/").status_code == 200
    assert client.post(f"/t/beta/units/{world.b.branch}", data={"name": "x", "kind": "branch"}).status_code == 403


def test_csrf_is_enforced_on_forms(database, world):
    from tests.conftest import make_app

    app = make_app(database, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    r = client.post("/login", data={"email": world.a.admin, "password": PASSWORD})
    assert r.status_code == 400
    page = client.get("/login").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = client.post("/login", data={"email": world.a.admin, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    with app.app_context():
        db.engine.dispose()


def test_session_cookie_flags(database):
    from pingyi.config import load_config

    cfg = load_config("/tmp", {"DATABASE_URL": database[1]})
    assert cfg["SESSION_COOKIE_HTTPONLY"] and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_superuser_flag_is_only_from_db(ctx, world):
    assert db.session.execute(select(User).where(User.is_superuser.is_(True))).scalars().one().email == world.superuser
