"""An oversight tenant's home is its subordinates' overview (issue 17 item 3): the county's
admins and viewers land on 下级督导 after logging in and from 首页; a unit admin of the county
(who may not read the overview), a county whose subordinates are all deactivated and every
ordinary tenant keep their usual home."""

from __future__ import annotations

from pingyi.extensions import db
from pingyi.org import accounts, orgtree
from pingyi.tenancy import tenant_context
from tests.factories import PASSWORD, login

OVERVIEW = "/t/county/oversight/"


def _lands(client, start: str = "/") -> tuple[str, str]:
    """Where following ``start``'s redirects ends: (path, page)."""
    r = client.get(start, follow_redirects=True)
    assert r.status_code == 200
    return r.request.path, r.text


def test_the_county_admin_lands_on_the_subordinates_overview(app, world, client):
    login(client, world.county_admin)
    assert client.get("/t/county/").headers["Location"] == OVERVIEW
    path, page = _lands(client)  # after the login: / → the single tenant's home → the overview
    assert path == OVERVIEW
    assert "下级单位概况" in page and "甲公司" in page and 'data-testid="oversight-home"' in page
    assert f'href="{OVERVIEW}">下级督导<' in page  # the nav points to it
    assert "快捷入口" not in page  # not the home of zeros


def test_a_county_viewer_and_the_superuser_land_there_too(app, world, client):
    with app.app_context():
        accounts.grant(accounts.tenant_by_slug("county"), accounts.create_user("viewer@county.test", PASSWORD),
                       "viewer")
        db.session.commit()
    for email in ("viewer@county.test", world.superuser):
        login(client, email)
        assert _lands(client, "/t/county/")[0] == OVERVIEW
        client.post("/logout")


def test_ordinary_homes_are_unchanged(app, world, client):
    login(client, world.a.admin)  # alpha: a subordinate, with no subordinate of its own
    path, page = _lands(client)
    assert path == "/t/alpha/" and "快捷入口" in page and "下级单位概况" not in page
    assert client.get("/t/alpha/").status_code == 200
    client.post("/logout")
    with app.app_context():  # a unit admin of the county may not read the overview: their home stays
        county = accounts.tenant_by_slug("county")
        with tenant_context(county.id):
            unit = orgtree.create_unit("区委办党支部", None, "branch")
        accounts.grant(county, accounts.create_user("unit@county.test", PASSWORD), "unit_admin", unit)
        db.session.commit()
    login(client, "unit@county.test")
    path, page = _lands(client)
    assert path == "/t/county/" and "快捷入口" in page
    assert client.get(OVERVIEW).status_code == 403


def test_a_county_without_active_subordinates_keeps_its_home(app, world, client):
    with app.app_context():
        for slug in ("alpha",):  # beta is no subordinate
            accounts.set_tenant_active(accounts.tenant_by_slug(slug, active_only=False), False)
        db.session.commit()
    login(client, world.county_admin)
    path, page = _lands(client)
    assert path == "/t/county/" and "快捷入口" in page
