"""One listing per kind of row for the pages and the API (subjects, people), and one pager:
the page and the API show the same rows to an admin and to a unit admin (who sees their
subtree only), and walking the pages visits every row once."""

from __future__ import annotations

import re
from datetime import timedelta

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import Unit, utcnow
from pingyi.org import accounts, orgtree
from pingyi.tenancy import tenant_context
from tests.factories import bearer, login


def _campaign(app, world) -> int:
    """Subjects: every unit of tenant A (公司党委, 一矿党委, 采煤一队党支部, 机关党支部)."""
    with app.app_context(), tenant_context(world.a.id):
        now = utcnow()
        c = cp.create_campaign("列表", now + timedelta(days=1), now + timedelta(days=5))
        cp.add_subjects_bulk(c, "unit", db.session.get(Unit, world.a.root), q.copy_template("seed002-org"),
                             ["committee", "branch"])
        db.session.commit()
        return c.id


def _key(app, email: str) -> dict:
    with app.app_context():
        _, key = accounts.create_api_key(accounts.user_by_email(email), "listing")
        db.session.commit()
    return bearer(key)


def _walk(client, url: str, row: str) -> list[str]:
    """Every row of a paged list (``row``: a regex with one group), following the pager."""
    out = []
    while url:
        html = client.get(url).text
        out += re.findall(row, html)
        nxt = re.search(r'href="([^"]+)" data-testid="next"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    return out


SUBJECT_ROW = r"<tr><td>(?:<input[^>]*>)?</td><td>([^<]+)</td>"


def test_subjects_page_and_api_list_the_same_rows(app, world, monkeypatch):
    cid = _campaign(app, world)
    monkeypatch.setattr("pingyi.web.admin.campaign_views.PAGE", 3)  # four subjects: two pages
    for email, expected in ((world.a.admin, {"公司党委", "一矿党委", "采煤一队党支部", "机关党支部"}),
                            (world.a.unit_admin, {"一矿党委", "采煤一队党支部"})):
        client = app.test_client()
        login(client, email)
        labels = _walk(client, f"/t/alpha/campaigns/{cid}/subjects", SUBJECT_ROW)
        api = client.get(f"/api/v1/t/alpha/campaigns/{cid}/subjects", headers=_key(app, email)).json
        assert sorted(labels) == sorted(s["label"] for s in api)
        assert set(labels) == expected and len(labels) == len(expected)
        counts = client.get(f"/t/alpha/campaigns/{cid}/subjects").text
        assert f"全部 {len(expected)}" in counts


def test_people_page_and_api_list_the_same_people(app, world, monkeypatch):
    with app.app_context(), tenant_context(world.a.id):
        branch = db.session.get(Unit, world.a.branch)
        for i in range(5):
            orgtree.create_person(f"队员{i}", branch, "党员")
        db.session.commit()
    monkeypatch.setattr("pingyi.web.admin.PAGE", 2)
    for email in (world.a.admin, world.a.unit_admin):
        client = app.test_client()
        login(client, email)
        names = _walk(client, "/t/alpha/people", r'/people/\d+">([^<]+)</a>')
        api = [p["name"] for p in client.get("/api/v1/t/alpha/people", headers=_key(app, email)).json]
        assert names == api  # same rows, same (tree) order
        assert ("李娜" in names) == (email == world.a.admin)  # 机关党支部 is outside the unit admin's subtree
        assert len(names) == len(set(names)) == (7 if email == world.a.admin else 6)
        page = client.get("/t/alpha/people?page=99").text  # past the end: the last page
        assert "第 4 / 4 页" in page if email == world.a.admin else "第 3 / 3 页" in page
