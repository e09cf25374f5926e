"""Items from a counted campaign's verdicts and opinions, overdue marking and counts at any
``now``, the on-demand job, and ``pingyi rectification list --json``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.cli import main
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, Comment, Job, RectificationItem, Subject
from pingyi.rectification import ledger, overdue
from pingyi.rectification.ledger import Draft
from pingyi.tenancy import tenant_context
from tests import clock
from tests.rectification.ledger_world import actors, closed_campaign

OUTCOME = "限期整改，本年度不得评先评优"


def test_items_from_a_verdict_one_subject_then_the_whole_list(counted):
    world, c = counted
    who = actors(world.a)
    flagged = ledger.verdict_subjects(c, OUTCOME)
    assert flagged, "the rule should flag the rated subjects"
    deadline = clock.day(30).date()
    first_id, first_label = flagged[0]
    item = ledger.from_verdict(c, first_id, OUTCOME, who.unit_admin, deadline, person="王伟")
    subject = db.session.get(Subject, first_id)
    assert (item.source, item.source_ref, item.source_label, item.subject_id, item.unit_id) == (
        "verdict", f"subject:{first_id}", OUTCOME, first_id, subject.unit_id)
    assert item.problem == f"{first_label}：{OUTCOME}" and item.state == "open"
    with pytest.raises(DomainError, match="已有"):
        ledger.from_verdict(c, first_id, OUTCOME, who.admin, deadline)
    with pytest.raises(DomainError, match="不在"):
        ledger.from_verdict(c, first_id, "不称职", who.admin, deadline)
    rest = ledger.from_verdict_list(c, OUTCOME, who.admin, deadline, measure="制定整改方案")
    assert sorted(i.subject_id for i in [item, *rest]) == sorted(sid for sid, _label in flagged)
    with pytest.raises(DomainError, match="没有尚未建立"):
        ledger.from_verdict_list(c, OUTCOME, who.admin, deadline)


def test_verdict_list_refuses_a_past_deadline_and_stores_nothing(counted):
    world, c = counted
    with pytest.raises(DomainError, match="整改时限不能早于"):
        ledger.from_verdict_list(c, OUTCOME, actors(world.a).admin, clock.day(-1).date())
    assert db.session.execute(select(RectificationItem)).first() is None


def test_item_from_a_selected_opinion(counted):
    world, c = counted
    who = actors(world.a)
    comment = db.session.execute(select(Comment).where(Comment.campaign_id == c.id)).scalars().first()
    d = Draft("群众反映：" + comment.text, world.a.branch, clock.day(10).date())
    item = ledger.from_opinion(c, comment.subject_id, comment.item_id, comment.text, d, who.admin)
    assert (item.source, item.source_ref, item.source_label) == (
        "opinion", f"subject:{comment.subject_id}/item:{comment.item_id}", comment.text)
    assert comment.ballot_id not in item.source_ref
    with pytest.raises(DomainError, match="没有找到"):
        ledger.from_opinion(c, comment.subject_id, comment.item_id, "没人写过的意见", d, who.admin)


@pytest.fixture
def items(app, world):
    """Tenant A's closed campaign with items created at ``now`` due in 1, 5 and 10 days, one
    of them (10 days) done, one cannot_fix (1 day); in 一矿 (branch) and 机关 (other)."""
    now = clock.now()
    with app.app_context():
        cid = closed_campaign(world.a)
        with tenant_context(world.a.id):
            c, who = db.session.get(Campaign, cid), actors(world.a)
            due = lambda days: ledger.local_today(now, c.timezone) + timedelta(days=days)  # noqa: E731
            mk = lambda days, unit: ledger.create_item(  # noqa: E731
                c, Draft("问题", getattr(world.a, unit), due(days)), who.admin, "feedback", "1", now=now)
            _a, _b, done, gone = mk(5, "branch"), mk(10, "other_branch"), mk(10, "branch"), mk(1, "branch")
            ledger.transition(done, "in_progress", who.admin, now=now)
            ledger.transition(done, "done", who.admin, now=now)
            ledger.transition(gone, "cannot_fix", who.admin, reason="政策限制", now=now)
            db.session.commit()
    with app.app_context(), tenant_context(world.a.id):
        yield world, db.session.get(Campaign, cid), now
        db.session.rollback()


def _flags() -> list[bool]:
    return list(db.session.execute(select(RectificationItem.overdue).order_by(RectificationItem.id)).scalars())


def test_overdue_follows_now_not_the_calendar(items):
    world, c, now = items
    assert overdue.mark_overdue(now + timedelta(days=5)) == 0  # due in 5 days: still due that day
    assert overdue.mark_overdue(now + timedelta(days=6)) == 1
    assert _flags() == [True, False, False, False]
    assert overdue.mark_overdue(now + timedelta(days=30)) == 2  # done and cannot_fix never are
    assert _flags() == [True, True, False, False]
    assert overdue.mark_overdue(now) == 0 and _flags() == [False] * 4  # a flag is cleared too
    totals = overdue.totals(c.id, now + timedelta(days=6))
    assert (totals.by_state, totals.overdue, totals.total) == ({"open": 2, "done": 1, "cannot_fix": 1}, 1, 4)
    overdue.mark_overdue(now + timedelta(days=6))
    first = db.session.execute(select(RectificationItem).order_by(RectificationItem.id)).scalars().first()
    ledger.update_item(first, actors(world.a).admin, deadline=first.deadline + timedelta(days=7),
                       now=now + timedelta(days=6))
    assert _flags()[0] is False  # an extended deadline lifts it at once


def test_counts_per_unit_and_subtree(items):
    world, c, now = items
    later = now + timedelta(days=11)
    by_unit = overdue.counts_by_unit(c.id, later)
    assert by_unit[world.a.branch].by_state == {"open": 1, "done": 1, "cannot_fix": 1}
    assert by_unit[world.a.branch].overdue == 1 and by_unit[world.a.other_branch].overdue == 1
    subtree = overdue.counts_by_subtree(c.id, later)
    assert subtree[world.a.root].total == 4 and subtree[world.a.root].overdue == 2
    assert subtree[world.a.committee].total == 3 and subtree[world.a.committee].overdue == 1
    path = actors(world.a).unit_admin.unit_path
    assert set(overdue.counts_by_subtree(c.id, later, within=path)) == {world.a.root, world.a.committee,
                                                                          world.a.branch}
    assert overdue.totals(c.id, later, within=path).total == 3


def test_mark_all_and_the_on_demand_job(items):
    world, c, now = items
    item = db.session.execute(select(RectificationItem).order_by(RectificationItem.id)).scalars().first()
    item.deadline = ledger.local_today(now, c.timezone) - timedelta(days=1)  # as if created long ago
    db.session.commit()
    assert overdue.mark_all(now) == {world.a.id: 1}
    item.overdue = False
    db.session.commit()
    job = overdue.check_now(c.id)  # no REDIS_URL here: runs in-process
    assert db.session.get(Job, job.id).state == "done"
    assert _flags()[0] is True


def test_cli_lists_the_ledger_as_json(items, app):
    world, c, now = items
    r = app.test_cli_runner().invoke(main, ["rectification", "list", "--tenant", world.a.slug, "--campaign",
                                            str(c.id), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [(x["state"], x["overdue"], x["source"]) for x in rows] == [
        ("cannot_fix", False, "feedback"), ("open", False, "feedback"), ("open", False, "feedback"),
        ("done", False, "feedback")]
    assert rows[0]["deadline"] == (ledger.local_today(now, c.timezone) + timedelta(days=1)).isoformat()
    assert rows[0]["reason"] == "政策限制"
    text = app.test_cli_runner().invoke(main, ["rectification", "list", "--tenant", world.a.slug, "--campaign",
                                               str(c.id)]).output
    assert "共 4 项，逾期 0 项" in text
    r = app.test_cli_runner().invoke(main, ["rectification", "list", "--tenant", world.b.slug, "--campaign",
                                            str(c.id), "--json"])
    assert r.exit_code == 1 and "没有编号" in r.output  # tenant B does not see A's campaign
    r = app.test_cli_runner().invoke(main, ["rectification", "overdue", "--tenant", world.a.slug])
    assert r.exit_code == 0 and "逾期事项 0 项" in r.output
