"""Counting a campaign's opinions per theme and subtree (the worker job, in-process here):
distinct ballots decide, a figure under k reads "<k", committee rows are suppressed together
with their total; only closed, tallied campaigns; tenants never see each other's."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, Job, ThemeCount, ThemeRule, Unit
from pingyi.tenancy import tenant_context, unscoped
from pingyi.themes import counts, job, rules
from pingyi.themes.rules import OTHER, Theme
from tests.ballot_world import build
from tests.themes.world import FORM as FORM_TEXT
from tests.themes.world import LATE as LATE_TEXT
from tests.themes.world import PRAISE as PRAISE_TEXT
from tests.themes.world import voted


def _view(app, world, bw, within_unit: int | None = None):
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        within = db.session.get(Unit, within_unit).path if within_unit else None
        v = counts.view(c, within)
        return {r.label: {t: (cell.text, cell.ballots) for t, cell in r.cells.items()} for r in v.rows}


def test_the_job_counts_ballots_per_theme_and_subtree_with_the_small_cell_rule_and_texts(app, unbatched, world):
    bw = voted(app, world, k=3)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        j = job.submit(c)  # no Redis: runs here
        assert j.state == "done", j.error
        assert j.result["themes"] == 4 and j.result["opinions"] > 0
    rows = _view(app, world, bw)
    assert list(rows) == ["全部", "一矿党委", "机关党支部"]
    total = rows["全部"]
    assert total["活动形式单一"][1] == 6 and int(total["活动形式单一"][0]) > 6  # 4 + 2 ballots (more opinions), shown
    assert total["信息报送不及时"] == ("<3", 2)
    assert total["开展不平衡"] == ("<3", 1)
    assert total[OTHER] == ("<3", 2)
    assert total["履职践诺需持之以恒"] == ("0", 0)
    # 机关党支部's 2 ballots are under k; 一矿党委's 4 would give them back by subtraction
    assert rows["机关党支部"]["活动形式单一"] == ("<3", 2)
    assert rows["一矿党委"]["活动形式单一"] == ("<3", 4)
    # the unit admin of 一矿党委 sees their subtree only, under the same decision
    mine = _view(app, world, bw, world.a.committee)
    assert list(mine) == ["一矿党委"]
    assert mine["一矿党委"]["活动形式单一"] == ("<3", 4)
    # k is read when the figures are shown: with k = 2 both committee rows show
    app.config["MIN_CELL"] = 2
    rows = _view(app, world, bw)
    assert rows["机关党支部"]["活动形式单一"][0].isdigit() and rows["一矿党委"]["活动形式单一"][0].isdigit()
    assert rows["全部"]["开展不平衡"] == ("<2", 1)
    # tenant B sees none of it
    with app.app_context():
        with tenant_context(world.b.id):
            assert db.session.get(Campaign, bw.campaign_id) is None
            assert db.session.execute(select(ThemeCount)).scalars().all() == []
        with unscoped():
            assert set(db.session.execute(select(ThemeCount.tenant_id)).scalars()) == {world.a.id}
    # the texts per theme follow the rules of the stored run until it is run again
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        run = counts.last_run(c)
        assert counts.texts(c, run, "活动形式单一")["活动形式单一"] == sorted([FORM_TEXT, LATE_TEXT])
        com = db.session.get(Unit, world.a.committee).path
        assert counts.texts(c, run, "活动形式单一", com)["活动形式单一"] == [FORM_TEXT]
        assert not counts.stale(c, run)
        rules.save([Theme("表扬", ("团结协作",))])
        db.session.commit()
        assert counts.stale(c, run)  # the page offers a regrouping
        assert counts.texts(c, run, "活动形式单一")["活动形式单一"] == sorted([FORM_TEXT, LATE_TEXT])  # the run's own rules
        run = counts.compute(c)
        db.session.commit()
        assert counts.view(c).themes == ["表扬", OTHER]
        assert counts.texts(c, run)["表扬"] == [PRAISE_TEXT]


def test_open_or_untallied_campaigns_are_refused(app, world):
    with app.app_context():
        bw = build(world)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            with pytest.raises(DomainError) as exc:
                job.submit(c)
            assert exc.value.message == "评议活动结束并完成统计后才能归类意见"
            assert db.session.execute(select(func.count()).select_from(Job).where(Job.kind == "themes")).scalar() == 0


def test_rules_are_per_tenant_and_bad_edits_store_nothing(app, world):
    with app.app_context():
        with tenant_context(world.a.id):
            assert rules.current() == list(rules.DEFAULTS) and rules.is_default()
            rules.save_text("表扬：满意、团结\n批评：形式单一；排除：没有")
            db.session.commit()
            for bad in ("", "：词", "长" * 51 + "：词", "只有名称", "\n".join(f"主题{i}：词" for i in range(51))):
                with pytest.raises(DomainError):
                    rules.save_text(bad)
                db.session.rollback()
            assert [t.name for t in rules.current()] == ["表扬", "批评"]
            assert rules.current()[1].excludes == ("没有",)
        with tenant_context(world.b.id):
            assert rules.current() == list(rules.DEFAULTS)
        with unscoped():
            assert db.session.execute(select(func.count()).select_from(ThemeRule)).scalar() == 2
        with tenant_context(world.a.id):
            rules.reset()
            db.session.commit()
            assert rules.is_default()
