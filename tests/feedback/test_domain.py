"""The feedback box's domain: what a submission stores (nothing that identifies its writer, no
audit event), bad input that stores nothing, the scoped listing, answers, publishing and the
ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.feedback import answers, box
from pingyi.models import AuditEvent, Campaign, FeedbackEntry
from pingyi.rectification.ledger import Draft
from pingyi.tenancy import tenant_context
from tests import clock
from tests.rectification.ledger_world import actors, closed_campaign


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(FeedbackEntry)).scalar_one()


@pytest.fixture
def a_ctx(app, world):
    with app.app_context():
        cid = closed_campaign(world.a)
    with app.app_context(), tenant_context(world.a.id):
        yield world, db.session.get(Campaign, cid), actors(world.a)
        db.session.rollback()


def test_entry_stores_nothing_that_identifies_its_writer(a_ctx):
    world, c, _who = a_ctx
    audit_before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    box.submit(world.a.branch, "  食堂饭菜太贵  ", c.id, now=clock.now())
    db.session.commit()
    # as an attacker with the database would read it: every column of every row
    columns = {col.name for col in inspect(FeedbackEntry).columns}
    assert columns == {"id", "tenant_id", "unit_id", "campaign_id", "text", "submitted_on", "answer",
                       "answered_at", "published"}
    row = db.session.execute(select(FeedbackEntry.__table__)).mappings().one()
    assert row["text"] == "食堂饭菜太贵" and row["submitted_on"] == box.today(clock.now())
    assert type(row["submitted_on"]).__name__ == "date" and row["answered_at"] is None
    assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == audit_before
    assert not db.session.execute(select(AuditEvent).where(AuditEvent.object_type == "feedback_entries")).first()


def test_bad_text_stores_nothing(a_ctx):
    world, c, _who = a_ctx
    for text, message in [("", "请填写"), ("   ", "请填写"), ("长" * 2001, "不能超过 2000 字")]:
        with pytest.raises(DomainError, match=message):
            box.submit(world.a.branch, text, c.id)
    assert _count() == 0
    box.submit(world.a.branch, "长" * 2000)  # the limit itself is fine
    assert _count() == 1


def test_foreign_unit_or_campaign_or_draft_stores_nothing(a_ctx, app):
    world, c, _who = a_ctx
    with pytest.raises(DomainError, match="请选择本单位"):
        box.submit(world.b.branch, "意见")
    with pytest.raises(DomainError, match="请选择本单位"):
        box.submit("x", "意见")
    c.state = "draft"
    with pytest.raises(DomainError, match="评议活动"):
        box.submit(world.a.branch, "意见", c.id)
    assert _count() == 0


def _three_entries(world, c):
    """On three days (within a day, the order is random)."""
    box.submit(world.a.branch, "采煤一队的意见", c.id, now=clock.now() - timedelta(days=2))  # in the unit admin's subtree
    box.submit(world.a.other_branch, "机关的意见", now=clock.now() - timedelta(days=1))  # outside it
    box.submit(world.a.committee, "一矿党委的意见", now=clock.now())
    db.session.flush()
    return {e.text: e for e in db.session.execute(select(FeedbackEntry)).scalars()}


def test_listing_newest_first_scoped_and_filtered(a_ctx):
    world, c, who = a_ctx
    e = _three_entries(world, c)
    texts = lambda stmt: [x.text for x in db.session.execute(stmt).scalars()]  # noqa: E731
    assert texts(answers.entries()) == ["一矿党委的意见", "机关的意见", "采煤一队的意见"]
    assert texts(answers.entries(who.unit_admin.unit_path)) == ["一矿党委的意见", "采煤一队的意见"]
    assert answers.entry_for(who.unit_admin, e["机关的意见"].id) is None
    assert answers.entry_for(who.admin, e["机关的意见"].id) is e["机关的意见"]
    answers.answer(e["机关的意见"], "已转办", who.admin)
    assert texts(answers.entries(show="answered")) == ["机关的意见"]
    assert texts(answers.entries(show="unanswered")) == ["一矿党委的意见", "采煤一队的意见"]


def test_answer_and_publish(a_ctx):
    world, c, who = a_ctx
    e = _three_entries(world, c)
    with_c, without = e["采煤一队的意见"], e["机关的意见"]
    with pytest.raises(DomainError, match="请先填写答复"):
        answers.publish(with_c, True, who.admin)
    answers.answer(with_c, "已整改", who.unit_admin)
    answers.answer(without, "已答复", who.admin)
    assert box.published_for_campaign(c.id) == [] and box.published_without_campaign() == []  # not yet published
    answers.publish(with_c, True, who.admin)
    answers.publish(without, True, who.admin)
    assert [(p.text, p.answer) for p in box.published_for_campaign(c.id)] == [("采煤一队的意见", "已整改")]
    assert [(p.text, p.answer) for p in box.published_without_campaign()] == [("机关的意见", "已答复")]
    answers.answer(with_c, "", who.admin)  # withdrawing the answer withdraws its publication
    assert not with_c.published and box.published_for_campaign(c.id) == []
    with pytest.raises(DomainError, match="不能超过"):
        answers.answer(without, "长" * 5001, who.admin)
    with pytest.raises(DomainError, match="权限"):
        answers.answer(without, "x", who.viewer)


def test_to_ledger(a_ctx):
    world, c, who = a_ctx
    e = _three_entries(world, c)
    draft = Draft("食堂问题", world.a.branch, clock.day(30).date(), "张三", "整改")
    item = answers.to_ledger(e["采煤一队的意见"], draft, who.unit_admin)
    assert (item.source, item.source_ref, item.campaign_id) == ("feedback", str(e["采煤一队的意见"].id), c.id)
    assert answers.ledger_items(e["采煤一队的意见"]) == [item]
    with pytest.raises(DomainError, match="请选择一个评议活动"):
        answers.to_ledger(e["机关的意见"], draft, who.admin)
    item2 = answers.to_ledger(e["机关的意见"], draft, who.admin, campaign_id=str(c.id))
    assert item2.campaign_id == c.id and answers.ledger_campaigns() == [(c.id, c.name)]


def test_ids_do_not_tell_the_order_entries_came_in(a_ctx):
    """Sequential ids would line up a day's entries with a web server's access log, request by
    request; random ones do not."""
    world, _c, _who = a_ctx
    for i in range(20):
        box.submit(world.a.branch, f"意见{i}")
    ids = dict(db.session.execute(select(FeedbackEntry.text, FeedbackEntry.id)).all())
    in_order = [ids[f"意见{i}"] for i in range(20)]
    assert in_order != sorted(in_order) and len(set(in_order)) == 20
    listed = [e.text for e in db.session.execute(answers.entries()).scalars()]
    assert listed != [f"意见{i}" for i in range(19, -1, -1)]
