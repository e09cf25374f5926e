"""Security headers on every page, no inline script anywhere (so the CSP can forbid it), HSTS in
production, and the API's refusal of a browser session's write without a CSRF token."""

from __future__ import annotations

import re

import pytest

from pingyi.extensions import db
from pingyi.models import Unit
from pingyi.tenancy import tenant_context
from tests.conftest import make_app
from tests.factories import PASSWORD, bearer, login
from tests.web.test_route_matrix import _ids_of, world  # noqa: F401  (the matrix's world: every kind of id)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.I)


def _get_pages(app, w):
    """Every GET route, filled with tenant A's ids, as A's admin would open it."""
    values = {**_ids_of(w.a), "slug": w.a.slug}
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static" or not set(rule.arguments) <= set(values):
                continue
            yield rule.endpoint, url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def test_every_page_sends_the_security_headers_and_no_inline_script(app, world):  # noqa: F811
    client = app.test_client()
    login(client, world.a.admin)
    seen = 0
    for endpoint, url in _get_pages(app, world):
        r = client.get(url)
        assert r.status_code < 500, (endpoint, url, r.status_code)
        h = r.headers
        csp = h.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp, endpoint
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], endpoint
        assert h.get("X-Content-Type-Options") == "nosniff", endpoint
        assert "no-store" in h.get("Cache-Control", ""), endpoint
        assert "Strict-Transport-Security" not in h  # development: plain HTTP must keep working
        if r.mimetype == "text/html":
            seen += 1
            assert not INLINE_SCRIPT.search(r.text), (endpoint, INLINE_SCRIPT.search(r.text).group(0))
    assert seen >= 25  # the crawl reached the pages, not only redirects


def test_static_files_keep_their_revalidation(app):
    r = app.test_client().get("/static/pingyi.js")
    assert r.status_code == 200 and r.headers["Cache-Control"] != "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_in_production(monkeypatch, database):
    monkeypatch.setenv("PINGYI_ENV", "production")
    app = make_app(database, SECRET_KEY="p" * 40)
    r = app.test_client().get("/login")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def csrf_app(database, world):  # noqa: F811
    app = make_app(database, WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def _logged_in(app, email):
    client = app.test_client()
    page = client.get("/login").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    page = client.get("/account/keys").text
    return client, page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_api_refuses_a_browser_session_write_without_csrf(csrf_app, world):  # noqa: F811
    client, token = _logged_in(csrf_app, world.a.admin)
    url, body = f"/api/v1/t/{world.a.slug}/units", {"name": "新支部", "parent_id": world.a.root, "kind": "branch"}
    with csrf_app.app_context(), tenant_context(world.a.id):
        before = db.session.query(Unit).count()
    assert client.get(url).status_code == 200  # reading needs no token
    r = client.post(url, json=body)
    assert r.status_code == 403 and "CSRF" in r.json["error"]
    assert client.post(url, json=body, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post(url, json=body, headers={"Origin": "http://evil.example", "X-CSRFToken": token}).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRFToken": "forged"}).status_code == 403
    with csrf_app.app_context(), tenant_context(world.a.id):
        assert db.session.query(Unit).count() == before  # nothing written
    assert client.post(url, json={**body, "name": "甲"}, headers={"X-CSRFToken": token}).status_code == 201
    assert client.post(url, json={**body, "name": "乙"}, headers={"Origin": "http://localhost"}).status_code == 201
    # a bearer key is not a browser session: no token needed
    key = client.post("/account/keys", data={"name": "脚本", "csrf_token": token}).text
    secret = re.search(r"py_[A-Za-z0-9_-]+", key).group(0)
    r = csrf_app.test_client().post(url, json={**body, "name": "丙"}, headers=bearer(secret))
    assert r.status_code == 201, r.text
