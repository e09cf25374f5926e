"""Push down (issue 19 items 1 and 4): a season is issued to a subtree of the tenants below the
issuer only, each target gets one draft campaign built from the plan with its own copies of the
forms, and a re-issue after a change reaches the drafts only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import timetable
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import AuditEvent, Campaign, Form, Season, SeasonIssue, Subject, Unit, utcnow
from pingyi.seasons import issuing, plan
from pingyi.tenancy import tenant_context
from tests import clock
from tests.seasons.conftest import NAME, RULES, issue_to, make_season, open_with_links, tenant

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _season_campaigns(tenant_id: int, season_id: int) -> list[int]:
    """The ids of the campaigns ``season_id`` built in ``tenant_id``."""
    with tenant_context(tenant_id):
        return db.session.execute(select(Campaign.id).where(Campaign.season_id == season_id)).scalars().all()


def test_issue_reaches_the_subtree_chosen_and_builds_one_draft_each(app, tree):
    with app.app_context():
        sid = make_season(tree.county)
        with tenant_context(tree.county):
            county, season = tenant(tree.county), db.session.get(Season, sid)
            assert [t.slug for t in issuing.targets_in_subtree(county, "alpha")] == ["alpha", "school"]
            assert {t.slug for t in issuing.targets_in_subtree(county, None)} == {"alpha", "school", "gamma"}
            with pytest.raises(DomainError):
                issuing.targets_in_subtree(county, "beta")  # not below the county
            new = issuing.issue(season, issuing.targets_in_subtree(county, "alpha"), utcnow())
            db.session.commit()
            assert len(new) == 2 and season.state == "issued"
            assert issuing.issue(season, issuing.targets_in_subtree(county, "alpha"), utcnow()) == []  # no-op
            issues = {i.target_tenant_id: i for i in db.session.execute(select(SeasonIssue)).scalars()}
            assert set(issues) == {tree.alpha, tree.school}
            (event,) = db.session.execute(select(AuditEvent).where(AuditEvent.object_type == "seasons",
                                                                   AuditEvent.action == "issue")).scalars()
            assert event.count == 2 and event.detail["targets"] == ["alpha", "school"]
            opens, closes, campaign_ids = season.opens_at, season.closes_at, {t: i.campaign_id for t, i in issues.items()}
        for tid in (tree.alpha, tree.school):
            (cid,) = _season_campaigns(tid, sid)
            with tenant_context(tid):
                c = db.session.get(Campaign, cid)
                assert c.id == campaign_ids[tid]
                assert (c.name, c.state, c.opens_at, c.closes_at) == (NAME, "draft", opens, closes)
                assert c.season_fixed == ["forms", "rules", "dates"]
                forms = db.session.execute(select(Form).where(Form.template_key.like("season:%"))
                                           .order_by(Form.id)).scalars().all()
                assert [(f.name, f.subject_kind, f.is_frozen, f.tenant_id) for f in forms] == [
                    ("基层党组织开展创先争优活动群众评议表", "unit", True, tid),
                    ("党员参加创先争优活动群众评议表", "person", True, tid)]
                assert [k.name for k in cp.categories(c)] == ["群众"]
                assert [r.outcome for r in cp.campaign_rules(c)] == ["限期整改"]
                assert [p.kind for p in timetable.phases(c)] == ["publicity", "appraisal"]
                assert db.session.execute(select(func.count()).select_from(Subject)).scalar() == 0  # theirs to add
        for tid in (tree.gamma, tree.beta, tree.county):
            assert _season_campaigns(tid, sid) == []


def test_a_season_reaches_no_sibling_parent_or_stranger(app, tree):
    with app.app_context():
        own = make_season(tree.alpha, name="甲公司年度评议")
        for slugs in (["county"], ["gamma"], ["beta"], ["school", "gamma"]):
            with pytest.raises(DomainError, match="只能下发给本单位的下级单位"):
                issue_to(tree.alpha, own, slugs)
            db.session.rollback()
        with tenant_context(tree.alpha):
            alpha = tenant(tree.alpha)
            assert [t.slug for t in issuing.targets_in_subtree(alpha, None)] == ["school"]
            with pytest.raises(DomainError):
                issuing.targets_in_subtree(alpha, "county")  # never upwards
            assert db.session.execute(select(func.count()).select_from(SeasonIssue)).scalar() == 0
            assert db.session.get(Season, own).state == "draft"
        for tid in (tree.county, tree.gamma, tree.beta, tree.school):
            assert _season_campaigns(tid, own) == []
        assert len(issue_to(tree.alpha, own, ["school"])) == 1
        assert len(_season_campaigns(tree.school, own)) == 1


def test_reissue_after_a_change_reaches_the_drafts_only(app, world, tree):
    with app.app_context():
        sid = make_season(tree.county, fixed=("forms", "rules", "dates", "categories"))
        issue_to(tree.county, sid, ["alpha", "gamma"])
        (running,) = _season_campaigns(tree.gamma, sid)
        open_with_links(tree.gamma, running)
        (draft,) = _season_campaigns(tree.alpha, sid)
        with tenant_context(tree.alpha):  # alpha fills in its part: subjects on both season forms, a new name
            c = db.session.get(Campaign, draft)
            forms = {f.subject_kind: f for f in db.session.execute(
                select(Form).where(Form.template_key.like("season:%"))).scalars()}
            root = db.session.get(Unit, world.a.root)
            cp.add_subjects_bulk(c, "unit", root, forms["unit"], ["branch"])
            cp.add_subjects_bulk(c, "person", root, forms["person"], ["branch"])
            cp.update_campaign(c, name="甲公司年度民主评议")
            db.session.commit()
        new_close = utcnow() + timedelta(days=5)
        with tenant_context(tree.county):
            season = db.session.get(Season, sid)
            plan.update_season(season, description="只改说明")
            assert season.version == 1  # nothing a campaign is built from
            plan.update_season(season, closes_at=new_close, forms=["seed003-org"],
                               rules=[*RULES, {"metric": "turnout", "op": "lt", "threshold": "80%",
                                               "outcome": "参评率不足"}])
            assert season.version == 2
            result = issuing.reissue(season, utcnow())
            db.session.commit()
            assert result.updated == ["alpha"] and result.skipped == [("gamma", "进行中")]
            versions = dict(db.session.execute(select(SeasonIssue.target_tenant_id, SeasonIssue.version)).all())
            assert versions == {tree.alpha: 2, tree.gamma: 1}
            closes = season.closes_at
            again = issuing.reissue(season, utcnow())
            assert again.updated == [] and again.skipped == [("gamma", "进行中")]
        with tenant_context(tree.alpha):
            c = db.session.get(Campaign, draft)
            assert c.name == "甲公司年度民主评议" and c.closes_at == closes  # its own part kept, the dates replaced
            assert [r.outcome for r in cp.campaign_rules(c)] == ["限期整改", "参评率不足"]
            (form,) = db.session.execute(select(Form).where(Form.template_key.like("season:%"))).scalars()
            assert form.name == "基层党组织开展创先争优活动满意度测评表" and form.is_frozen
            kinds = dict(db.session.execute(select(Subject.kind, Subject.form_id).where(
                Subject.campaign_id == c.id)).all())
            assert kinds == {"unit": form.id}  # moved to the new form; no form rates members any more
            assert db.session.execute(select(func.count()).select_from(Form)).scalar() == 1  # old copies gone
        with tenant_context(tree.gamma):
            c = db.session.get(Campaign, running)
            assert c.closes_at != closes and [r.outcome for r in cp.campaign_rules(c)] == ["限期整改"]
            assert db.session.execute(select(func.count()).select_from(Form)).scalar() == 2


def test_the_plan_is_checked_when_written(app, tree):
    with app.app_context(), tenant_context(tree.county):
        now, due = utcnow(), clock.day(10).date()
        ok = {"forms": ["seed002-org"], "fixed": ["forms"]}
        cases = [({"fixed": ["colour"]}, "未知的统一规定项"),
                 ({"forms": [], "fixed": ["forms"]}, "至少要选择一张测评表"),
                 ({"forms": ["no-such"]}, "没有名为"),
                 ({"min_turnout": "most"}, "无法识别阈值"),
                 ({"categories": [{"name": "群众"}, {"name": "群众"}]}, "重复"),
                 ({"phases": [{"kind": "review", "starts_on": clock.day(1).date().isoformat(),
                               "ends_on": clock.day(0).date().isoformat()}]}, "结束日期不能早于开始日期")]
        for change, message in cases:
            with pytest.raises(DomainError, match=message):
                plan.create_season(NAME, now, now + timedelta(days=3), due, **{**ok, **change})
        with pytest.raises(DomainError, match="报送截止日期不能早于评议结束日期"):
            plan.create_season(NAME, now, now + timedelta(days=30), due, **ok)
        s = plan.create_season(NAME, now, now + timedelta(days=3), due, **ok)
        assert (s.version, s.state, s.opens_at.second, [f["template"] for f in s.plan["forms"]]) == (
            1, "draft", 0, ["seed002-org"])
        assert plan.seasons() == [s]
        plan.close_season(s)
        with pytest.raises(DomainError):
            plan.update_season(s, name="改名")


def test_a_group_category_rates_each_subordinates_own_top_unit(app, world, tree):
    """The issuer's units mean nothing below: a 全评 category of the plan names no unit, and each
    campaign built from it rates its own tenant's top unit."""
    with app.app_context():
        with tenant_context(tree.county):
            now = utcnow()
            s = plan.create_season(NAME, now, now + timedelta(days=3), clock.day(10).date(), forms=["seed002-org"],
                                   categories=[{"name": "群众"}, {"name": "全评", "scope": "group"}])
            db.session.commit()
            sid = s.id
        issue_to(tree.county, sid, ["alpha", "gamma"])
        for tid, root in ((tree.alpha, world.a.root), (tree.gamma, None)):
            with tenant_context(tid):
                c = db.session.get(Campaign, _season_campaigns(tid, sid)[0])
                top = root or db.session.execute(select(Unit.id).where(Unit.parent_id.is_(None))).scalar_one()
                assert [(k.name, k.scope, k.group_unit_id) for k in cp.categories(c)] == [
                    ("群众", "own_unit", None), ("全评", "group", top)]
