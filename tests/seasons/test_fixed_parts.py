"""What a season fixes is read-only for the subordinate, on every edit path (the domain functions
the pages and the API call, and the API itself); what it leaves open is the subordinate's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.campaigns import timetable
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, Form, Person, Subject, Unit
from pingyi.tenancy import tenant_context
from tests import clock
from tests.factories import bearer, login
from tests.seasons.conftest import NAME, issue_to, make_season

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _built(tenant_id: int, season_id: int) -> int:
    with tenant_context(tenant_id):
        return db.session.execute(select(Campaign.id).where(Campaign.season_id == season_id)).scalar_one()


def _wall(dt, tz) -> str:
    return cp.local(dt, tz).strftime("%Y-%m-%dT%H:%M")  # as the campaign page posts its window back


def test_fixed_parts_are_refused_and_free_parts_are_theirs(app, world, tree):
    with app.app_context():
        sid = make_season(tree.county, fixed=("forms", "rules", "dates"))
        issue_to(tree.county, sid, ["alpha"])
        cid = _built(tree.alpha, sid)
        with tenant_context(tree.alpha):
            c = db.session.get(Campaign, cid)
            season_forms = {f.subject_kind: f for f in db.session.execute(
                select(Form).where(Form.template_key.like("season:%"))).scalars()}
            own_form = q.copy_template("seed002-org")
            root, branch = db.session.get(Unit, world.a.root), db.session.get(Unit, world.a.branch)
            refused = [
                (lambda: cp.set_rules(c, []), "结果规则"),
                (lambda: cp.add_preset(c, "seed004"), "结果规则"),
                (lambda: cp.update_campaign(c, closes_at=c.closes_at + timedelta(days=1)), "评议时间和工作安排"),
                (lambda: cp.extend_window(c, c.closes_at + timedelta(days=1)), "评议时间和工作安排"),
                (lambda: cp.update_campaign(c, opens_at=_wall(c.opens_at - timedelta(hours=1), c.timezone)),
                 "评议时间和工作安排"),
                (lambda: timetable.set_phases(c, {"appraisal": (c.opens_at.date(), c.closes_at.date())}),
                 "评议时间和工作安排"),
                (lambda: cp.add_subjects_bulk(c, "unit", root, own_form, ["branch"]), "测评表"),
                (lambda: cp.add_subject(c, "unit", branch, own_form), "测评表"),
            ]
            for call, part in refused:
                with pytest.raises(DomainError) as exc:
                    call()
                assert part in exc.value.message and f"“{NAME}”" in exc.value.message
            with pytest.raises(DomainError, match="上级统一部署"):
                q.add_section(season_forms["unit"], "本单位加的栏目")  # the season's form itself
            # what the season leaves open, and saving the fixed parts unchanged
            cp.update_campaign(c, name="甲公司年度民主评议", description="本单位说明",
                               opens_at=_wall(c.opens_at, c.timezone), closes_at=_wall(c.closes_at, c.timezone))
            timetable.set_phases(c, {p.kind: (p.starts_on.isoformat(), p.ends_on.isoformat())
                                     for p in timetable.phases(c)})
            assert [k.name for k in cp.set_categories(c, [{"name": "党员"}, {"name": "群众"}])] == ["党员", "群众"]
            assert cp.add_subjects_bulk(c, "unit", root, season_forms["unit"], ["branch"]) == 2
            cp.add_subject(c, "person", branch, season_forms["person"], db.session.get(Person, world.a.person))
            # a new version of a season's form is the tenant's own, and the season's draft stays on the original
            mine = q.new_version(season_forms["unit"])
            assert mine.template_key is None and not mine.is_frozen
            q.add_section(mine, "本单位加的栏目")
            assert set(db.session.execute(select(Subject.form_id).where(Subject.campaign_id == c.id)).scalars()) == {
                season_forms["unit"].id, season_forms["person"].id}
            with pytest.raises(DomainError, match="测评表"):
                cp.add_subjects_bulk(c, "unit", root, mine, ["branch"])
            db.session.commit()
            # a campaign no season built has none of this
            other = cp.create_campaign("本单位自己的评议", c.opens_at, c.closes_at)
            cp.set_rules(other, [])
            cp.extend_window(other, c.closes_at + timedelta(days=1))
            assert cp.add_subjects_bulk(other, "unit", root, own_form, ["branch"]) == 2
            db.session.rollback()


def test_fixed_categories_and_the_rest_free(app, tree):
    with app.app_context():
        sid = make_season(tree.county, fixed=("categories",))
        issue_to(tree.county, sid, ["alpha"])
        with tenant_context(tree.alpha):
            c = db.session.get(Campaign, _built(tree.alpha, sid))
            with pytest.raises(DomainError, match="参评人员类别"):
                cp.set_categories(c, [{"name": "党员"}])
            cp.add_preset(c, "seed004")
            cp.extend_window(c, c.closes_at + timedelta(days=1))
            timetable.set_phases(c, {})
            forms = db.session.execute(select(Form).where(Form.template_key.like("season:%"))).scalars().all()
            assert forms and not any(f.is_frozen for f in forms)  # forms not fixed: theirs to edit
            q.add_section(forms[0], "本单位加的栏目")
            db.session.commit()


def test_the_api_refuses_fixed_parts(app, world, tree):
    with app.app_context():
        sid = make_season(tree.county, fixed=("rules", "dates", "categories"))
        issue_to(tree.county, sid, ["alpha"])
        cid = _built(tree.alpha, sid)
    client, h = app.test_client(), bearer(world.a.api_key)
    base = f"/api/v1/t/alpha/campaigns/{cid}"
    rule = {"metric": "satisfied_share", "op": "lt", "threshold": "50%", "outcome": "本单位的规则"}
    for r in (client.put(f"{base}/rules", headers=h, json=[rule]),
              client.post(f"{base}/rules/presets", headers=h, json={"preset": "seed004"}),
              client.put(f"{base}/categories", headers=h, json=[{"name": "党员"}]),
              client.patch(base, headers=h, json={"closes_at": clock.wall(30)})):
        assert r.status_code == 422, r.text
        assert f"“{NAME}”" in r.json["error"]
    r = client.patch(base, headers=h, json={"name": "甲公司年度民主评议"})
    assert r.status_code == 200 and r.json["name"] == "甲公司年度民主评议"
    assert [x["outcome"] for x in client.get(f"{base}/rules", headers=h).json] == ["限期整改"]


def test_the_pages_keep_the_window_and_refuse_a_change(app, world, tree):
    """The campaign page posts its window back with every save: unchanged, it saves; moved, it
    says who fixed it. The rules page refuses a preset the same way."""
    with app.app_context():
        sid = make_season(tree.county, fixed=("rules", "dates"))
        issue_to(tree.county, sid, ["alpha"])
        cid = _built(tree.alpha, sid)
        with tenant_context(tree.alpha):
            c = db.session.get(Campaign, cid)
            opens, closes, tz = c.opens_at, c.closes_at, c.timezone
    client = app.test_client()
    login(client, world.a.admin)
    page = f"/t/alpha/campaigns/{cid}"
    same = {"name": NAME, "description": "本单位的说明", "opens_at": _wall(opens, tz), "closes_at": _wall(closes, tz)}
    assert "已保存" in client.post(page, data=same, follow_redirects=True).text
    moved = {**same, "closes_at": _wall(closes + timedelta(days=2), tz)}
    assert f"评议时间和工作安排由上级统一部署的“{NAME}”规定" in client.post(page, data=moved, follow_redirects=True).text
    r = client.post(f"{page}/rules", data={"preset": "seed004"}, follow_redirects=True)
    assert f"结果规则由上级统一部署的“{NAME}”规定" in r.text
    with app.app_context(), tenant_context(tree.alpha):
        c = db.session.get(Campaign, cid)
        assert (c.description, c.closes_at) == ("本单位的说明", closes)
        assert [r.outcome for r in cp.campaign_rules(c)] == ["限期整改"]
