"""Ledger items: the state machine (every move, legal or not, by role), history, bad input
that stores nothing, evidence files, and tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import (
    RECTIFICATION_STATES,
    Campaign,
    RectificationEvent,
    RectificationFile,
    RectificationItem,
)
from pingyi.rectification import evidence, ledger
from pingyi.rectification.ledger import Draft, NotAllowed
from pingyi.tenancy import tenant_context
from tests import clock
from tests.rectification.ledger_world import actors, closed_campaign, draft

PDF = b"%PDF-1.4\n% evidence\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _counts() -> tuple[int, int, int]:
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (RectificationItem, RectificationEvent, RectificationFile))


@pytest.fixture
def ledger_ctx(app, world):
    """Tenant A's context with a closed campaign and its actors: (world, campaign, actors)."""
    with app.app_context():
        cid = closed_campaign(world.a)
    with app.app_context(), tenant_context(world.a.id):
        yield world, db.session.get(Campaign, cid), actors(world.a)
        db.session.rollback()


def test_every_transition_legal_or_refused(ledger_ctx):
    world, c, who = ledger_ctx
    item = ledger.create_item(c, draft(world.a), who.admin, "feedback", "7")
    for frm in RECTIFICATION_STATES:
        for to in RECTIFICATION_STATES:
            item.state = frm
            legal = (frm, to) in ledger.TRANSITIONS
            if legal:
                ledger.transition(item, to, who.admin, reason="政策限制，无法调整编制")
                assert item.state == to
            else:
                with pytest.raises(DomainError, match="整改事项不能从") as err:
                    ledger.transition(item, to, who.admin, reason="x")
                assert not isinstance(err.value, NotAllowed) and item.state == frm
    legal_moves = {(e.from_state, e.to_state) for e in ledger.history(item)}
    assert legal_moves == {(None, "open"), *ledger.TRANSITIONS}


def test_unit_admin_closes_its_item_only_the_tenant_admin_verifies(ledger_ctx):
    world, c, who = ledger_ctx
    item = ledger.create_item(c, draft(world.a), who.unit_admin, "theme", "3", "活动形式单一")
    ledger.transition(item, "in_progress", who.unit_admin, note="已制定方案")
    ledger.transition(item, "done", who.unit_admin, note="已完成")
    assert item.done_at is not None
    with pytest.raises(NotAllowed, match="验收"):
        ledger.transition(item, "verified", who.unit_admin)
    with pytest.raises(NotAllowed):
        ledger.transition(item, "in_progress", who.unit_admin)  # sending back is the admin's
    with pytest.raises(NotAllowed):
        ledger.transition(item, "verified", who.viewer)
    ledger.transition(item, "verified", who.admin, note="验收通过")
    history = ledger.history(item)
    assert [(e.from_state, e.to_state, e.actor) for e in history] == [
        (None, "open", world.a.unit_admin), ("open", "in_progress", world.a.unit_admin),
        ("in_progress", "done", world.a.unit_admin), ("done", "verified", world.a.admin)]
    assert history[1].note == "已制定方案" and all(e.at is not None for e in history)
    with pytest.raises(DomainError, match="已验收"):
        ledger.update_item(item, who.admin, measure="再改")


def test_unit_admin_cannot_touch_items_outside_its_subtree(ledger_ctx):
    world, c, who = ledger_ctx
    outside = ledger.create_item(c, draft(world.a, unit="other_branch"), who.admin, "feedback", "1")
    for act in (lambda: ledger.transition(outside, "in_progress", who.unit_admin),
                lambda: ledger.update_item(outside, who.unit_admin, measure="x"),
                lambda: evidence.add_file(outside, who.unit_admin, "a.pdf", PDF)):
        with pytest.raises(NotAllowed, match="管理范围"):
            act()
    assert outside.state == "open" and len(ledger.history(outside)) == 1
    # and it lists only its subtree's items
    inside = ledger.create_item(c, draft(world.a), who.unit_admin, "feedback", "2")
    listed = db.session.execute(ledger.items(c.id, who.unit_admin.unit_path)).scalars().all()
    assert listed == [inside]
    assert len(db.session.execute(ledger.items(c.id)).scalars().all()) == 2


def test_cannot_fix_needs_a_reason(ledger_ctx):
    world, c, who = ledger_ctx
    item = ledger.create_item(c, draft(world.a), who.unit_admin, "feedback", "1")
    before = _counts()
    with pytest.raises(DomainError, match="无法整改的原因"):
        ledger.transition(item, "cannot_fix", who.unit_admin, reason="  ")
    assert item.state == "open" and _counts() == before
    ledger.transition(item, "cannot_fix", who.unit_admin, reason="受上级政策限制，暂不具备条件")
    assert item.reason == "受上级政策限制，暂不具备条件"
    assert ledger.history(item)[-1].note == "受上级政策限制，暂不具备条件"
    ledger.transition(item, "in_progress", who.admin, note="原因不成立")
    assert item.state == "in_progress"


BAD = [  # (what is wrong, the refusal)
    (dict(problem="   "), "存在的问题"),
    (dict(deadline_days=-1), "整改时限不能早于"),
    (dict(deadline="明天"), "整改时限"),
    (dict(unit="other_branch"), "责任单位"),  # outside the unit admin's subtree
    (dict(unit="root"), "责任单位"),
    (dict(person="名" * 101), "责任人"),
]


def test_bad_input_stores_nothing(ledger_ctx):
    world, c, who = ledger_ctx
    before = _counts()
    for bad, message in BAD:
        d = draft(world.a, days=bad.get("deadline_days", 30), unit=bad.get("unit", "branch"))
        d = Draft(bad.get("problem", d.problem), d.unit_id, bad.get("deadline", d.deadline),
                  bad.get("person", d.person), d.measure)
        with pytest.raises(DomainError, match=message):
            ledger.create_item(c, d, who.unit_admin, "feedback", "9")
        assert _counts() == before, bad


def test_deadline_today_is_fine_and_a_foreign_unit_id_is_refused(ledger_ctx):
    world, c, who = ledger_ctx
    now = clock.now()
    item = ledger.create_item(c, draft(world.a, days=0), who.admin, "feedback", "1", now=now)
    assert item.deadline == ledger.local_today(now, c.timezone)
    before = _counts()
    with pytest.raises(DomainError, match="责任单位"):
        ledger.create_item(c, Draft("问题", world.b.branch + 1000, item.deadline), who.admin, "feedback", "1")
    with pytest.raises(DomainError, match="来源"):
        ledger.create_item(c, draft(world.a), who.admin, "rumour", "1")
    with pytest.raises(NotAllowed):
        ledger.create_item(c, draft(world.a), who.viewer, "feedback", "1")
    with pytest.raises(DomainError, match="创建日期"):
        ledger.update_item(item, who.admin, deadline=item.deadline - timedelta(days=1))
    assert _counts() == before


def test_evidence_files_checked_by_type_magic_and_size(ledger_ctx):
    world, c, who = ledger_ctx
    db.session.get(Campaign, c.id)
    from flask import current_app

    current_app.config["RECTIFICATION_FILE_MAX_BYTES"] = 1024
    item = ledger.create_item(c, draft(world.a), who.unit_admin, "feedback", "1")
    before = _counts()
    for name, data, message in [("a.exe", PDF, "只能上传"), ("a", PDF, "只能上传"), ("a.pdf", b"MZ\x90\x00", "不符"),
                                ("a.pdf", b"%PDF" + b"0" * 1024, "不能超过"), ("a.png", b"", "空的"),
                                ("a.docx", PNG, "不符")]:
        with pytest.raises(DomainError, match=message):
            evidence.add_file(item, who.unit_admin, name, data)
    assert _counts() == before
    f = evidence.add_file(item, who.unit_admin, "C:\\整改\\照片.PNG", PNG)
    assert (f.name, f.mime, f.size) == ("照片.PNG", "image/png", len(PNG))
    ledger.update_item(item, who.unit_admin, evidence="已召开专题会议")
    assert [x.name for x in evidence.files(item)] == ["照片.PNG"]
    assert [e.note for e in ledger.history(item)][1:] == ["上传佐证材料：照片.PNG", "修改：佐证说明"]


def test_items_of_one_tenant_are_invisible_from_another(app, world):
    with app.app_context():
        cid = closed_campaign(world.a)
        with tenant_context(world.a.id):
            who = actors(world.a)
            item = ledger.create_item(db.session.get(Campaign, cid), draft(world.a), who.admin, "feedback", "1")
            evidence.add_file(item, who.admin, "a.pdf", PDF)
            db.session.commit()
            item_id = item.id
        with tenant_context(world.b.id):
            assert db.session.get(RectificationItem, item_id) is None
            assert _counts() == (0, 0, 0)
            assert db.session.execute(ledger.items(cid)).scalars().all() == []
            # and tenant B's admin cannot make an item in A's campaign or name A's unit
            b_campaign = db.session.get(Campaign, closed_campaign(world.b, "乙的评议"))
            with pytest.raises(DomainError, match="责任单位"):
                ledger.create_item(b_campaign, draft(world.a), actors(world.b).admin, "feedback", "1")
        with tenant_context(world.a.id):
            assert _counts() == (1, 2, 1)
