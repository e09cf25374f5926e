"""Every page posts through a form and one write idiom: typed input that is not what the field
takes is refused aloud and writes nothing; a refused domain write flashes its reason and
rolls back; reading needs a membership, writing the role the page's decorator names."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import BallotToken, Campaign, Job, Unit, utcnow
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests.factories import login


def _draft_with_links(app, world) -> int:
    with app.app_context(), tenant_context(world.a.id):
        now = utcnow()
        c = cp.create_campaign("表单", now + timedelta(days=1), now + timedelta(days=3))
        (k,) = cp.set_categories(c, [{"name": "群众"}])
        tokens.issue_links(c, k, db.session.get(Unit, world.a.branch), 3)
        db.session.commit()
        return c.id


def _count(app, world, model, **where) -> int:
    with app.app_context(), tenant_context(world.a.id):
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return db.session.execute(stmt).scalar_one()


def test_input_a_field_cannot_take_is_refused_aloud_and_writes_nothing(app, world):
    cid = _draft_with_links(app, world)
    client = app.test_client()
    login(client, world.a.admin)
    page = client.post(f"/t/alpha/campaigns/{cid}/links", data={"op": "revoke", "unit_id": world.a.branch,
                                                                  "serial": "第一张"}, follow_redirects=True).text
    assert "序号：不是有效的整数" in page
    assert _count(app, world, BallotToken, revoked_at=None) == 3  # not "every link of the unit"
    page = client.post(f"/t/alpha/campaigns/{cid}/links", data={"unit_id": world.a.branch, "count": "十五"},
                       follow_redirects=True).text
    assert "每个单位数量：不是有效的整数" in page and _count(app, world, Job) == 0
    # a well-formed revoke of one serial revokes exactly one
    page = client.post(f"/t/alpha/campaigns/{cid}/links", data={"op": "revoke", "unit_id": world.a.branch,
                                                                  "serial": "2"}, follow_redirects=True).text
    assert "已作废 1 个测评码" in page and _count(app, world, BallotToken, revoked_at=None) == 2


def test_a_refused_write_flashes_the_reason_and_rolls_back(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    now = utcnow()
    page = client.post("/t/alpha/campaigns", data={
        "name": "倒置的时间", "opens_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}).text
    assert "结束时间" in page and _count(app, world, Campaign) == 0
    page = client.post("/t/alpha/campaigns/999/links", data={"count": "1"})
    assert page.status_code == 404  # an unknown id is 404 before anything else


def test_reading_needs_a_membership_writing_the_named_role(app, world):
    cid = _draft_with_links(app, world)
    viewer = app.test_client()
    login(viewer, world.a.viewer)
    for path in ("/t/alpha/campaigns", f"/t/alpha/campaigns/{cid}", f"/t/alpha/campaigns/{cid}/links",
                 f"/t/alpha/campaigns/{cid}/categories", f"/t/alpha/campaigns/{cid}/rules", "/t/alpha/forms"):
        assert viewer.get(path).status_code == 200, path
        assert viewer.post(path, data={"name": "x"}).status_code == 403, path
    unit_admin = app.test_client()
    login(unit_admin, world.a.unit_admin)
    assert unit_admin.post(f"/t/alpha/campaigns/{cid}/links", data={"op": "revoke", "unit_id": world.a.branch}
                           ).status_code == 403  # campaigns are prepared by tenant admins
    assert _count(app, world, BallotToken, revoked_at=None) == 3
