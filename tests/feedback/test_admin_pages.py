"""The admin pages: the listing scoped by tenant and subtree, answering, publishing (shown on
the campaign's 公示 page only once published), turning an entry into a ledger item."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.feedback import box
from pingyi.models import Campaign, FeedbackEntry, RectificationItem
from pingyi.tenancy import tenant_context, unscoped
from tests import clock
from tests.factories import login
from tests.rectification.ledger_world import closed_campaign


@pytest.fixture
def entries(app, world):
    """Tenant A: a closed campaign and three entries — 采煤一队 (in the unit admin's subtree, tied
    to the campaign), 机关 (outside it), 一矿党委 (its root): (world, campaign id, text → id)."""
    with app.app_context():
        cid = closed_campaign(world.a)
        with tenant_context(world.a.id):
            box.submit(world.a.branch, "采煤一队的意见", cid, now=clock.now() - timedelta(days=2))
            box.submit(world.a.other_branch, "机关的意见", now=clock.now() - timedelta(days=1))
            box.submit(world.a.committee, "一矿党委的意见", now=clock.now())
            db.session.commit()
        with unscoped():
            ids = dict(db.session.execute(select(FeedbackEntry.text, FeedbackEntry.id)).all())
    return world, cid, ids


def _entry(app, entry_id):
    with app.app_context(), unscoped():
        return db.session.get(FeedbackEntry, entry_id)


def test_listing_is_scoped(app, client, entries):
    world, _cid, ids = entries
    login(client, world.a.admin)
    page = client.get("/t/alpha/feedback").text
    assert page.index("一矿党委的意见") < page.index("机关的意见") < page.index("采煤一队的意见")  # newest day first
    assert "信息收集箱" in client.get("/t/alpha/").text  # the nav link
    b = client.application.test_client()
    login(b, world.b.admin)
    listing = b.get("/t/beta/feedback").text
    assert "没有意见" in listing and not any(text in listing for text in ids)
    assert b.get(f"/t/beta/feedback/{ids['机关的意见']}").status_code == 404
    assert b.get(f"/t/alpha/feedback/{ids['机关的意见']}").status_code == 404  # not a member of A
    u = client.application.test_client()
    login(u, world.a.unit_admin)
    page = u.get("/t/alpha/feedback").text
    assert "采煤一队的意见" in page and "一矿党委的意见" in page and "机关的意见" not in page
    assert u.get(f"/t/alpha/feedback/{ids['机关的意见']}").status_code == 404
    assert u.post(f"/t/alpha/feedback/{ids['机关的意见']}", data={"op": "answer", "answer": "x"}).status_code == 404
    assert _entry(app, ids["机关的意见"]).answer == ""
    v = client.application.test_client()
    login(v, world.a.viewer)
    assert v.get("/t/alpha/feedback").status_code == 403


def test_answer_filter_and_publish_on_the_campaign_page(app, client, entries):
    world, cid, ids = entries
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, cid)
        c.state, c.published_at, c.publication_scope = "published", clock.now() - timedelta(hours=1), "public"
        db.session.commit()
    public = app.test_client()
    login(client, world.a.unit_admin)
    url = f"/t/alpha/feedback/{ids['采煤一队的意见']}"
    assert "采煤一队的意见" in client.get(url).text
    r = client.post(url, data={"op": "answer", "answer": "已增加主题党日的形式"})
    assert r.status_code == 302 and _entry(app, ids["采煤一队的意见"]).answer == "已增加主题党日的形式"
    assert "采煤一队的意见" in client.get("/t/alpha/feedback?show=answered").text
    unanswered = client.get("/t/alpha/feedback?show=unanswered").text
    assert "采煤一队的意见" not in unanswered and "一矿党委的意见" in unanswered
    assert "已增加主题党日的形式" not in public.get(f"/p/alpha/{cid}").text  # answered, not published
    client.post(url, data={"op": "answer", "answer": "已增加主题党日的形式", "published": "1"})
    page = public.get(f"/p/alpha/{cid}").text
    assert "意见反馈" in page and "已增加主题党日的形式" in page and "采煤一队的意见" in page
    assert "已增加主题党日的形式" not in public.get("/f/alpha").text  # tied to a campaign: its 公示 page only
    client.post(url, data={"op": "answer", "answer": "已增加主题党日的形式"})  # unpublished again
    assert "已增加主题党日的形式" not in public.get(f"/p/alpha/{cid}").text
    client.post(url, data={"op": "answer", "answer": "长" * 5001, "published": "1"})
    assert _entry(app, ids["采煤一队的意见"]).answer == "已增加主题党日的形式"  # refused: nothing changed


def test_entry_to_ledger_item(app, client, entries):
    world, cid, ids = entries
    login(client, world.a.admin)
    deadline = clock.day(30).date().isoformat()
    url = f"/t/alpha/feedback/{ids['机关的意见']}"  # no campaign: the admin chooses one
    page = client.get(url).text
    assert "转为整改事项" in page and 'name="campaign_id"' in page
    form = {"op": "ledger", "problem": "机关会风", "unit_id": world.a.other_branch, "deadline": deadline,
            "person": "李娜", "measure": "每月通报"}
    r = client.post(url, data=form)  # no campaign chosen: refused
    assert r.status_code == 302 and "请选择一个评议活动" in client.get(r.location).text
    r = client.post(url, data={**form, "campaign_id": cid})
    assert r.status_code == 302 and f"/campaigns/{cid}/rectification/" in r.location
    with app.app_context(), unscoped():
        (item,) = db.session.execute(select(RectificationItem)).scalars()
        assert (item.source, item.source_ref, item.problem, item.unit_id, item.campaign_id) == \
            ("feedback", str(ids["机关的意见"]), "机关会风", world.a.other_branch, cid)
    assert "机关会风" in client.get(url).text  # the entry's page links its items
    r = client.post(url, data={**form, "campaign_id": cid, "deadline": "2000-01-01"})
    with app.app_context(), unscoped():
        assert len(db.session.execute(select(RectificationItem)).all()) == 1
