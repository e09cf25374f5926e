"""年度评议 on the web (issue 19): the county (over alpha and gamma; beta unrelated) plans a season
through its form, issues it to all or to a subtree, edits and re-issues it to drafts, watches its
subordinates' live turnout and sends reminders; alpha's admin sees the reminder and the fixed
parts, closes its campaign and submits; the county returns the submission with a comment (required)
and downloads the 统计表, the archive and the 汇总表. Viewers read only; siblings and other
tenants see nothing of each other (404)."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Form, Notice, Season, SeasonIssue, SeasonSubmission, Unit, utcnow
from pingyi.org import accounts
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import tokens
from tests import clock
from tests.ballot_world import cast, close
from tests.factories import PASSWORD, build_tenant, login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

BASE = "/t/county/oversight/seasons"


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _flashes(page: str) -> str:
    return " ".join(re.findall(r'<div class="flash [a-z]+" role="status">([^<]*)</div>', page))


@pytest.fixture
def county(app, world):
    """Gamma joins alpha below the county; the county gets a viewer. Returns the world, gamma."""
    with app.app_context():
        gamma = build_tenant("gamma", "丙公司", "county")
        viewer = accounts.create_user("viewer@county.test", PASSWORD)
        accounts.grant(accounts.tenant_by_slug("county"), viewer, "viewer")
        db.session.commit()
    return world, gamma


def _plan(**extra) -> dict:
    """The new-season form as a county admin fills it in: a window open since an hour ago."""
    data = {"name": "年度民主评议", "opens_at": clock.wall(0, 0, 0, sep="T"), "closes_at": clock.wall(3, sep="T"),
            "report_due": clock.day(10).date().isoformat(), "min_turnout": "80%", "description": "统一部署",
            "forms": ["seed002-org"], "presets": ["seed001-3", "seed003"], "fixed": ["forms", "rules", "dates"],
            "cat_name": ["党员", "群众", ""], "cat_weight": ["1", "1", ""],
            "phase_kind": ["publicity", "appraisal", "rectification", "review"],
            "phase_starts": ["", clock.day(0).date().isoformat(), "", ""],
            "phase_ends": ["", clock.day(3).date().isoformat(), "", ""]}
    data.update(extra)
    return data


def _season(app) -> Season:
    with app.app_context(), tenant_context(accounts.tenant_by_slug("county").id):
        s = db.session.execute(select(Season).order_by(Season.id.desc())).scalars().first()
        db.session.expunge(s)
        return s


def _campaign_of(app, slug: str, season_id: int) -> int | None:
    with app.app_context(), tenant_context(accounts.tenant_by_slug(slug).id):
        return db.session.execute(select(Campaign.id).where(Campaign.season_id == season_id)).scalar()


def _created(app, client) -> int:
    r = client.post(f"{BASE}/new", data=_plan())
    assert r.status_code == 302, _flashes(r.text)
    return _season(app).id


def _run_and_close(app, t, campaign_id: int, season_id: int) -> None:
    """Alpha's admin completes the draft the season built (its branches with the season's form,
    links), opens it; three ballots; closed and counted."""
    with app.app_context():
        with tenant_context(t.id):
            c = db.session.get(Campaign, campaign_id)
            form = db.session.execute(select(Form).where(Form.template_key == cp.season_form_key(season_id, 0))
                                      ).scalar_one()
            cp.add_subjects_bulk(c, "unit", db.session.get(Unit, t.root), form, ["branch"])
            links = tokens.issue_links(c, cp.categories(c)[0], db.session.get(Unit, t.branch), 4)
            cp.transition(c, "open")
            db.session.commit()
        cast(links[:3], (0, 1, 3))
        close(t.id, campaign_id)


def test_the_county_plans_issues_and_watches_a_season(app, county):
    world, gamma = county
    client = app.test_client()
    login(client, world.county_admin)
    assert "年度评议" in client.get("/t/county/oversight/").text  # the overview links to the seasons
    assert "还没有年度评议" in _text(client.get(BASE).text)
    form_page = client.get(f"{BASE}/new").text
    assert "基层党组织开展创先争优活动群众评议表" in form_page and 'name="fixed"' in form_page
    # a bad plan is refused aloud and writes nothing
    r = client.post(f"{BASE}/new", data=_plan(report_due=clock.day(1).date().isoformat()), follow_redirects=True)
    assert "报送截止日期不能早于评议结束日期" in r.text
    sid = _created(app, client)
    season = _season(app)
    assert [f["template"] for f in season.plan["forms"]] == ["seed002-org"]
    assert season.fixed == ["forms", "rules", "dates"] and len(season.plan["rules"]) == 4
    assert [k["name"] for k in season.plan["categories"]] == ["党员", "群众"]
    assert season.plan["phases"] == [{"kind": "appraisal", "starts_on": clock.day(0).date().isoformat(),
                                      "ends_on": clock.day(3).date().isoformat()}]
    page = _text(client.get(f"{BASE}/{sid}").text)
    assert "年度民主评议" in page and "尚未下发" in page and "丙公司" in page

    # issue to the subtree under gamma only, then to everyone (alpha gets its draft; gamma keeps its)
    r = client.post(f"{BASE}/{sid}/issue", data={"root": "gamma"}, follow_redirects=True)
    assert "已下发给 1 个单位" in _flashes(r.text)
    assert _campaign_of(app, "gamma", sid) and _campaign_of(app, "alpha", sid) is None
    r = client.post(f"{BASE}/{sid}/issue", data={"root": ""}, follow_redirects=True)
    assert _campaign_of(app, "alpha", sid)
    with app.app_context(), tenant_context(accounts.tenant_by_slug("county").id):
        assert db.session.execute(select(func.count()).select_from(SeasonIssue)).scalar() == 2
    # a tenant that is not below the county cannot be the root of an issue
    r = client.post(f"{BASE}/{sid}/issue", data={"root": "beta"}, follow_redirects=True)
    assert _campaign_of(app, "beta", sid) is None and "只能下发给本单位的下级单位" in _flashes(r.text)

    # the watch table: both drafts, no turnout yet, nothing submitted
    page = client.get(f"{BASE}/{sid}").text
    for slug in ("alpha", "gamma"):
        row = _text(re.search(rf'<tr data-sub="{slug}".*?</tr>', page, re.S).group(0))
        assert "草稿" in row and "未报送" in row and "0/0" in row, row
    assert "乙公司" not in page  # beta is no subordinate

    # alpha opens its campaign with 4 links, 3 used: the watch shows 75.0% against the 80% line
    cid = _campaign_of(app, "alpha", sid)
    with app.app_context():
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, cid)
            form = db.session.execute(select(Form).where(Form.template_key == cp.season_form_key(sid, 0))).scalar_one()
            cp.add_subjects_bulk(c, "unit", db.session.get(Unit, world.a.root), form, ["branch"])
            links = tokens.issue_links(c, cp.categories(c)[0], db.session.get(Unit, world.a.branch), 4)
            cp.transition(c, "open")
            db.session.commit()
        cast(links[:3], (0, 0, 1))
    page = client.get(f"{BASE}/{sid}").text
    row = _text(re.search(r'<tr data-sub="alpha".*?</tr>', page, re.S).group(0))
    assert "进行中" in row and "75.0%" in row and "3/4" in row, row
    assert 'class="tbar low"' in re.search(r'<tr data-sub="alpha".*?</tr>', page, re.S).group(0)


def test_an_edit_is_reissued_to_drafts_only(app, county):
    world, gamma = county
    client = app.test_client()
    login(client, world.county_admin)
    sid = _created(app, client)
    client.post(f"{BASE}/{sid}/issue", data={"root": ""})
    _run_and_close(app, world.a, _campaign_of(app, "alpha", sid), sid)  # alpha's is closed; gamma's a draft
    assert "重新下发修改" not in client.get(f"{BASE}/{sid}").text
    edit = client.get(f"{BASE}/{sid}/edit").text
    assert 'value="seed002-org" checked' in edit and 'value="seed003" checked' in edit
    r = client.post(f"{BASE}/{sid}/edit", data=_plan(presets=["seed003"], name="年度民主评议（修订）"),
                    follow_redirects=True)
    assert "已保存" in _flashes(r.text)
    season = _season(app)
    assert season.version == 2 and season.name == "年度民主评议（修订）" and len(season.plan["rules"]) == 1
    assert "重新下发修改" in r.text
    r = client.post(f"{BASE}/{sid}/reissue", follow_redirects=True)
    said = _flashes(r.text)
    assert "已更新 1 个草稿活动：gamma" in said and "alpha" in said, said
    with app.app_context():
        with tenant_context(gamma.id):
            c = db.session.get(Campaign, _campaign_of(app, "gamma", sid))
            assert [s.outcome for s in cp.rule_specs(c)] == ["参评率不足80%"]
        with tenant_context(world.a.id):
            assert len(cp.rule_specs(db.session.get(Campaign, _campaign_of(app, "alpha", sid)))) == 4


def test_reminders_reach_the_subordinate_s_home_and_are_marked_read(app, county):
    world, gamma = county
    client = app.test_client()
    login(client, world.county_admin)
    sid = _created(app, client)
    client.post(f"{BASE}/{sid}/issue", data={"root": ""})
    r = client.post(f"{BASE}/{sid}/remind", data={"slugs": ["gamma"]}, follow_redirects=True)
    assert "已向 1 个单位发送提醒" in _flashes(r.text)
    row = _text(re.search(r'<tr data-sub="gamma".*?</tr>', r.text, re.S).group(0))
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row), row  # 最近提醒
    gamma_admin = app.test_client()
    login(gamma_admin, gamma.admin)
    home = gamma_admin.get("/t/gamma/").text
    assert 'data-testid="season-notices"' in home and "年度民主评议" in _text(home)
    alpha_admin = app.test_client()
    login(alpha_admin, world.a.admin)
    assert 'data-testid="season-notices"' not in alpha_admin.get("/t/alpha/").text  # not reminded
    # another tenant cannot mark it read; its own admin can
    with app.app_context(), tenant_context(gamma.id):
        (notice_id,) = db.session.execute(select(Notice.id)).scalars().all()
    assert alpha_admin.post("/t/alpha/notices", data={"notice_id": notice_id}).status_code in (302, 404)
    with app.app_context(), unscoped():
        assert db.session.get(Notice, notice_id).read_at is None  # alpha cannot touch gamma's notice
    gamma_admin.post("/t/gamma/notices", data={"notice_id": notice_id})
    assert 'data-testid="season-notices"' not in gamma_admin.get("/t/gamma/").text
    assert "没有未读通知" in gamma_admin.get("/t/gamma/notices").text


def test_the_subordinate_sees_the_fixed_parts_and_submits_after_closing(app, county):
    world, gamma = county
    client = app.test_client()
    login(client, world.county_admin)
    sid = _created(app, client)
    client.post(f"{BASE}/{sid}/issue", data={"root": ""})
    cid = _campaign_of(app, "alpha", sid)
    alpha = app.test_client()
    login(alpha, world.a.admin)
    page = _text(alpha.get(f"/t/alpha/campaigns/{cid}").text)
    assert "上级统一部署" in page and "测评表、结果规则、评议时间和工作安排" in page, page
    # fixed parts refuse a change through the page
    r = alpha.post(f"/t/alpha/campaigns/{cid}/rules", data={"preset": "seed004"}, follow_redirects=True)
    assert "不能更改" in _flashes(r.text)
    season_page = _text(alpha.get(f"/t/alpha/campaigns/{cid}/season").text)
    assert "评议结束后可以报送" in season_page and "还没有报送" in season_page
    assert alpha.post(f"/t/alpha/campaigns/{cid}/season").status_code == 302  # refused: still a draft
    with app.app_context(), tenant_context(accounts.tenant_by_slug("county").id):
        assert db.session.execute(select(func.count()).select_from(SeasonSubmission)).scalar() == 0
    _run_and_close(app, world.a, cid, sid)
    assert "报送统计表和总结" in alpha.get(f"/t/alpha/campaigns/{cid}/season").text
    r = alpha.post(f"/t/alpha/campaigns/{cid}/season", follow_redirects=True)
    assert "已报送（第 1 次）" in _flashes(r.text)
    assert "已报送" in _text(re.search(r'data-testid="season-history".*?</table>', r.text, re.S).group(0))
    # a unit admin and a viewer of alpha do not submit
    for email in (world.a.unit_admin, world.a.viewer):
        other = app.test_client()
        login(other, email)
        assert other.post(f"/t/alpha/campaigns/{cid}/season").status_code == 403

    # the county reads it, a return needs a comment, then it is returned
    page = client.get(f"{BASE}/{sid}").text
    sub_id = int(re.search(r'data-submission="(\d+)"', page).group(1))
    read = client.get(f"{BASE}/{sid}/submissions/{sub_id}").text
    assert "评议工作总结" in read and "甲公司" in _text(read)
    assert "75.0% 参评率（3 / 4）" in _text(read)  # the figures sent up, rates from their counts
    table = client.get(f"{BASE}/{sid}/submissions/{sub_id}/table.xlsx")
    assert table.status_code == 200 and openpyxl.load_workbook(io.BytesIO(table.data)).sheetnames
    r = client.post(f"{BASE}/{sid}/submissions/{sub_id}/return", data={"comment": "  "}, follow_redirects=True)
    assert "需要填写意见" in _flashes(r.text) or "须填写意见" in _flashes(r.text)
    r = client.post(f"{BASE}/{sid}/submissions/{sub_id}/return", data={"comment": "请补充整改措施"},
                    follow_redirects=True)
    assert "已退回修改" in _flashes(r.text)
    history = _text(alpha.get(f"/t/alpha/campaigns/{cid}/season").text)
    assert "已退回修改" in history and "请补充整改措施" in history
    assert "请补充整改措施" in _text(alpha.get("/t/alpha/").text)  # the notice on the home page
    # resubmitted, then accepted
    alpha.post(f"/t/alpha/campaigns/{cid}/season")
    page = client.get(f"{BASE}/{sid}").text
    new_id = int(re.search(r'data-submission="(\d+)"', page).group(1))
    assert new_id != sub_id
    r = client.post(f"{BASE}/{sid}/submissions/{new_id}/accept", follow_redirects=True)
    assert "已接收" in _flashes(r.text)

    # the archive and the 汇总表
    z = zipfile.ZipFile(io.BytesIO(client.get(f"{BASE}/{sid}/archive.zip").data))
    assert sorted(z.namelist()) == ["alpha-2-总结.txt", "alpha-2-统计表.xlsx", "汇总表.xlsx"]
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"{BASE}/{sid}/summary.xlsx").data))
    names = [row[0].value for row in wb.active.iter_rows(min_row=4) if row[0].value]
    assert "甲公司" in names and "丙公司" in names


def test_viewers_read_and_other_tenants_see_nothing(app, county):
    world, gamma = county
    client = app.test_client()
    login(client, world.county_admin)
    sid = _created(app, client)
    client.post(f"{BASE}/{sid}/issue", data={"root": ""})
    cid = _campaign_of(app, "alpha", sid)
    _run_and_close(app, world.a, cid, sid)
    alpha = app.test_client()
    login(alpha, world.a.admin)
    alpha.post(f"/t/alpha/campaigns/{cid}/season")
    with app.app_context(), tenant_context(accounts.tenant_by_slug("county").id):
        sub_id = db.session.execute(select(SeasonSubmission.id)).scalar_one()

    viewer = app.test_client()
    login(viewer, "viewer@county.test")
    page = viewer.get(f"{BASE}/{sid}").text
    assert "甲公司" in page and 'data-testid="remind-button"' not in page and 'data-testid="issue"' not in page
    assert viewer.get(f"{BASE}/{sid}/archive.zip").status_code == 200
    for path in (f"{BASE}/new", f"{BASE}/{sid}/issue", f"{BASE}/{sid}/remind", f"{BASE}/{sid}/reissue",
                 f"{BASE}/{sid}/submissions/{sub_id}/return", f"{BASE}/{sid}/submissions/{sub_id}/accept"):
        assert viewer.post(path, data={"comment": "x"}).status_code == 403, path

    # a subordinate does not reach the county's season pages, nor another tenant's
    gamma_admin = app.test_client()
    login(gamma_admin, gamma.admin)
    for c, path in ((alpha, f"{BASE}/{sid}"), (gamma_admin, f"{BASE}/{sid}/archive.zip"),
                    (alpha, f"/t/alpha/oversight/seasons/{sid}"), (gamma_admin, f"/t/gamma/oversight/seasons/{sid}"),
                    (gamma_admin, f"/t/alpha/campaigns/{cid}/season"),
                    (gamma_admin, f"/t/gamma/campaigns/{cid}/season")):  # alpha's id
        assert c.get(path).status_code == 404, path
    # a submission id under another season of the county is 404
    other = _created(app, client)
    assert client.get(f"{BASE}/{other}/submissions/{sub_id}").status_code == 404
    assert client.post(f"{BASE}/{other}/submissions/{sub_id}/return", data={"comment": "x"}).status_code == 404
    # gamma's season page of its own draft shows nothing of alpha's submission
    gamma_cid = _campaign_of(app, "gamma", sid)
    page = _text(gamma_admin.get(f"/t/gamma/campaigns/{gamma_cid}/season").text)
    assert "还没有报送" in page and world.a.admin not in page
    with app.app_context(), tenant_context(accounts.tenant_by_slug("county").id):
        assert db.session.get(SeasonSubmission, sub_id).state == "submitted"


def test_a_season_page_from_a_later_day_still_answers(app, county):
    """Past its window and report date, the page lists what was missed rather than failing."""
    world, gamma = county
    client = app.test_client()
    login(client, world.county_admin)
    sid = _created(app, client)
    client.post(f"{BASE}/{sid}/issue", data={"root": ""})
    with app.app_context(), tenant_context(accounts.tenant_by_slug("county").id):
        s = db.session.get(Season, sid)
        s.opens_at, s.closes_at = utcnow() - timedelta(days=5), utcnow() - timedelta(days=1)
        s.report_due = clock.day(-1).date()
        db.session.commit()
    page = client.get(f"{BASE}/{sid}").text
    row = re.search(r'<tr data-sub="alpha".*?</tr>', page, re.S).group(0)
    assert 'class="bad"' in row, _text(row)
    r = client.post(f"{BASE}/{sid}/remind", follow_redirects=True)
    assert "已向 2 个单位发送提醒" in _flashes(r.text)


def test_the_demo_season_one_on_time_and_returned_one_late_and_reminded(app, county):
    """``pingyi.demo.seasons`` on the small world (alpha as 平庄煤业, gamma as the school): the
    school closed and submitted, its submission returned with a comment; alpha's draft is behind
    and was reminded. A rerun adds nothing."""
    from pingyi.demo.seasons import RETURN_COMMENT, load_season
    from pingyi.seasons import watch

    world, gamma = county
    with app.app_context():
        c, a, g = (accounts.tenant_by_slug(s) for s in ("county", "alpha", "gamma"))
        line = load_season(c, a, g, school_admin=gamma.admin)
        db.session.commit()
        assert "年度民主评议" in line and "已下发 2 个单位" in line
        assert load_season(c, a, g, school_admin=gamma.admin) == line
        with tenant_context(c.id):
            (season,) = db.session.execute(select(Season)).scalars().all()
            rows = {r.slug: r for r in watch.watch(season, utcnow())}
        with unscoped():
            notices = db.session.execute(select(Notice.tenant_id, Notice.kind, Notice.text)).all()
    late, school = rows["alpha"], rows["gamma"]
    assert late.state == "draft" and watch.behind(late) and late.reminded_at is not None
    assert school.state == "closed" and not watch.behind(school) and school.reminded_at is None
    assert school.submission.state == "returned" and school.turnout == 1
    assert school.issued == 20  # its 2 branches × 2 categories × 5 links
    assert sorted((t, k) for t, k, _x in notices) == [(a.id, "reminder"), (g.id, "returned")]
    assert any(RETURN_COMMENT in text for _t, _k, text in notices)
    client = app.test_client()
    login(client, world.county_admin)
    page = _text(client.get(f"{BASE}/{season.id}").text)
    assert "已退回修改" in page and "未按时开始评议" in page
