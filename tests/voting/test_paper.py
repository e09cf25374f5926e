"""Paper ballots: two people type each form; it counts only when their entries agree."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import Ballot, BoxedBallot, PaperEntry
from pingyi.tenancy import unscoped
from pingyi.voting import tokens
from tests.ballot_world import build, close_and_count, full_answers
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _counts():
    """(ballots cast: in the sealed box, as the mixer has not moved a batch yet; typed entries)."""
    with unscoped():
        return (db.session.execute(select(func.count()).select_from(BoxedBallot)).scalar(),
                db.session.execute(select(func.count()).select_from(PaperEntry)).scalar())


def test_double_entry_counts_when_two_people_agree(app, world):
    with app.app_context():
        bw = build(world)
        code = tokens.format_code(bw.own[0].short_code)
        data = full_answers(world, bw, bw.own[0].secret, comment="路灯坏了")
    first, second, third = app.test_client(), app.test_client(), app.test_client()
    login(first, world.a.admin)
    login(second, world.a.unit_admin)  # manages 一矿党委, the form's unit is inside it
    url = f"/t/alpha/campaigns/{bw.campaign_id}/paper"
    page = first.get(url, query_string={"code": code.lower()})
    assert "王伟（采煤一队党支部）" in page.text
    r = first.post(url, data={"code": code, **data})
    assert "等待另一人录入核对" in r.text and "待第二人录入：1 份" in r.text
    r = first.post(url, data={"code": code, **data})  # the same person again does not count twice
    assert "等待另一人录入核对" in r.text
    with app.app_context():
        assert _counts() == (0, 1)
    # a second person mistypes one answer: flagged, nothing counted
    wrong = dict(data)
    key = next(k for k in data if k.startswith("a_"))
    with app.app_context():
        from pingyi.models import ScaleChoice

        with unscoped():
            other_choice = db.session.execute(select(ScaleChoice.id).where(
                ScaleChoice.id != int(data[key]), ScaleChoice.label == "不满意")).scalars().first()
    wrong[key] = str(other_choice)
    r = second.post(url, data={"code": code, **wrong})
    assert "录入不一致" in r.text and "不满意" in r.text and "满意" in r.text
    with app.app_context():
        assert _counts() == (0, 2)
    # re-typed correctly: counts, and every entry of that form is gone
    r = second.post(url, data={"code": code, **data})
    assert "已计票（纸质票）" in r.text
    with app.app_context():
        assert _counts() == (1, 0)
    r = third.get("/b/" + bw.own[0].secret)
    assert r.status_code == 409  # the slip's online link is used up too
    r = first.get(url, query_string={"code": code})
    assert "已经计票" in r.text
    with app.app_context():
        close_and_count(world, bw)
        with unscoped():
            assert db.session.execute(select(Ballot.paper)).scalars().all() == [True]


def test_paper_entry_refusals(app, world):
    with app.app_context():
        bw = build(world)
    admin = app.test_client()
    login(admin, world.a.admin)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/paper"
    assert "本评议活动中没有这个短码" in admin.get(url, query_string={"code": tokens.new_short_code()}).text
    assert "短码应为 12 位" in admin.get(url, query_string={"code": "123"}).text
    ua = app.test_client()
    login(ua, world.a.unit_admin)
    r = ua.get(url, query_string={"code": bw.other_branch[0].short_code})
    assert r.status_code == 404  # 机关党支部 is outside the unit admin's subtree
    viewer = app.test_client()
    login(viewer, world.a.viewer)
    assert viewer.get(url).status_code == 403
