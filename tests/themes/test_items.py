"""A theme becomes ledger items: one per responsible unit (committee level for the tenant
admin, the unit admin's subtree for a unit admin), source ``theme``, no duplicates, bad input
stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, RectificationItem, Unit, utcnow
from pingyi.rectification.ledger import Actor
from pingyi.tenancy import tenant_context
from pingyi.themes import counts, items
from tests.themes.world import FORM, voted


def _items():
    return db.session.execute(select(RectificationItem).order_by(RectificationItem.id)).scalars().all()


def test_a_theme_becomes_one_item_per_responsible_unit(app, unbatched, world):
    bw = voted(app, world)
    deadline = (utcnow() + timedelta(days=30)).date()
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        admin = Actor(None, "admin@alpha.test", "admin")
        with pytest.raises(DomainError) as exc:
            items.to_ledger(c, "活动形式单一", admin, deadline)
        assert exc.value.message == "请先归类意见"
        counts.compute(c)
        db.session.commit()
        # the unit admin of 一矿党委: their subtree's opinions, their unit
        mine = Actor(None, "unit@alpha.test", "unit_admin", db.session.get(Unit, world.a.committee).path)
        made = items.to_ledger(c, "活动形式单一", mine, deadline)
        db.session.commit()
        assert [(i.unit_id, i.source, i.source_label, i.state) for i in made] == [
            (world.a.committee, "theme", "活动形式单一", "open")]
        assert made[0].problem == f"群众意见主题“活动形式单一”：{FORM}"
        with pytest.raises(DomainError):  # 机关党支部's opinions are not theirs
            items.to_ledger(c, "信息报送不及时", mine, deadline)
        with pytest.raises(DomainError):  # viewers write nothing
            items.to_ledger(c, "开展不平衡", Actor(None, "viewer", "viewer", None), deadline)
        db.session.rollback()
        # the tenant admin: one item per committee unit, 一矿党委's already there
        made = items.to_ledger(c, "活动形式单一", admin, deadline, measure="丰富活动载体")
        db.session.commit()
        assert [(i.unit_id, i.measure) for i in made] == [(world.a.other_branch, "丰富活动载体")]
        with pytest.raises(DomainError) as exc:  # every unit has its item already
            items.to_ledger(c, "活动形式单一", admin, deadline)
        assert exc.value.message == "主题“活动形式单一”没有尚未建立整改事项的意见"
        for theme, message in (("其他", "没有名为“其他”的意见主题"), ("不存在", "没有名为“不存在”的意见主题")):
            with pytest.raises(DomainError) as exc:
                items.to_ledger(c, theme, admin, deadline)
            assert exc.value.message == message
        with pytest.raises(DomainError) as exc:  # a deadline in the past: nothing stored
            items.to_ledger(c, "信息报送不及时", admin, (utcnow() - timedelta(days=2)).date())
        db.session.rollback()
        assert exc.value.message == "整改时限不能早于事项的创建日期"
        assert len(_items()) == 2
