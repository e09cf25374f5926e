"""年度评议 in a real Chromium (issue 19): the county's admin plans a season through its form and
issues it; alpha's admin — its campaign run and closed by domain calls — finds the 上级统一部署
note and submits its 统计表 and 总结; the county reads the submission, returns it with a comment
(which alpha then reads on its home page) and downloads the archive. A world of its own
(tests/factories.py); screenshots go to tests/artifacts/."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Form, Season, Unit
from pingyi.org import accounts
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests import clock
from tests.ballot_world import cast, close
from tests.conftest import served_app
from tests.factories import PASSWORD, build_world

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.dates]
SIZE = {"width": 1366, "height": 900}
COMMENT = "请补充整改措施和完成时限"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("seasons")) as (app, base):
        with app.app_context():
            world = build_world()
        ARTIFACTS.mkdir(exist_ok=True)
        yield app, base, world


def _page(browser, base: str, email: str):
    page = browser.new_page(viewport=SIZE, locale="zh-CN", accept_downloads=True)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())  # 「确定报送吗？」
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state()
    return page


def _flash(page) -> str:
    return " ".join(page.locator(".flash[role=status]").all_inner_texts())


def _run_and_close(app, world, season_id: int) -> int:
    """What alpha's admin did between the issue and the report, as domain calls: its branches
    rated on the season's form, four links, opened, three ballots, closed and counted."""
    with app.app_context():
        with tenant_context(world.a.id):
            c = db.session.execute(select(Campaign).where(Campaign.season_id == season_id)).scalar_one()
            form = db.session.execute(select(Form).where(
                Form.template_key == cp.season_form_key(season_id, 0))).scalar_one()
            cp.add_subjects_bulk(c, "unit", db.session.get(Unit, world.a.root), form, ["branch"])
            links = tokens.issue_links(c, cp.categories(c)[0], db.session.get(Unit, world.a.branch), 4)
            cp.transition(c, "open")
            db.session.commit()
            cid = c.id
        cast(links[:3], (0, 1, 3))
        close(world.a.id, cid)
    return cid


def test_the_county_issues_a_season_and_returns_a_submission(site, browser, tmp_path):
    app, base, world = site
    county = _page(browser, base, world.county_admin)
    county.click("[data-testid=seasons-link]")
    county.click("[data-testid=season-new]")
    form = county.locator("[data-testid=season-form]")
    form.locator("input[name=name]").fill("年度民主评议")
    form.locator("input[name=opens_at]").fill(clock.wall(0, 0, 0, sep="T"))
    form.locator("input[name=closes_at]").fill(clock.wall(3, sep="T"))
    form.locator("input[name=report_due]").fill(clock.day(10).strftime("%Y-%m-%d"))
    form.locator("input[name=forms][value=seed002-org]").check()
    assert form.locator("input[name=fixed][value=forms]").is_checked()  # forms, rules, dates fixed by default
    county.click("[data-testid=season-save]")
    county.wait_for_load_state()
    assert "已创建年度评议" in _flash(county), _flash(county)
    assert county.inner_text("h1").startswith("年度民主评议")
    assert "基层党组织开展创先争优活动群众评议表" in county.inner_text("[data-testid=season-plan]")

    county.select_option("[data-testid=issue-root]", "")
    county.click("[data-testid=issue-button]")
    county.wait_for_load_state()
    assert "已下发给 1 个单位" in _flash(county)
    row = county.locator("[data-testid=watch] tr[data-sub=alpha]")
    assert "草稿" in row.inner_text() and "未报送" in row.inner_text()
    county.screenshot(path=str(ARTIFACTS / "season-issued.png"), full_page=True)
    with app.app_context(), tenant_context(accounts.tenant_by_slug("county").id):
        season_id = db.session.execute(select(Season.id)).scalar_one()

    cid = _run_and_close(app, world, season_id)
    alpha = _page(browser, base, world.a.admin)
    alpha.goto(f"{base}/t/alpha/campaigns/{cid}")
    note = alpha.locator("[data-testid=season-note]")
    assert "上级统一部署" in note.inner_text() and "测评表" in note.inner_text()
    note.locator("[data-testid=season-link]").click()
    alpha.wait_for_load_state()
    alpha.click("[data-testid=submit-report]")
    alpha.wait_for_load_state()
    assert "已报送（第 1 次）" in _flash(alpha), _flash(alpha)
    assert "已报送" in alpha.inner_text("[data-testid=season-history]")

    county.reload()
    row = county.locator("[data-testid=watch] tr[data-sub=alpha]")
    assert "已结束" in row.inner_text() and "75.0%" in row.inner_text() and "第 1 次" in row.inner_text()
    county.click("[data-testid=received] [data-testid=read-submission]")
    county.wait_for_load_state()
    assert "评议工作总结" in county.inner_text("main") and county.inner_text("[data-testid=summary]").strip()
    county.click("[data-testid=return-button]")  # the comment is required: the browser keeps the form here
    assert county.locator("[data-testid=return-comment]").evaluate("e => !e.validity.valid")
    county.fill("[data-testid=return-comment]", COMMENT)
    county.click("[data-testid=return-button]")
    county.wait_for_load_state()
    assert "已退回修改" in _flash(county)
    assert "已退回修改" in county.locator("[data-testid=watch] tr[data-sub=alpha]").inner_text()

    with county.expect_download() as info:
        county.click("[data-testid=archive-zip]")
    path = tmp_path / "archive.zip"
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith(".zip")
    names = zipfile.ZipFile(path).namelist()
    assert sorted(names) == ["alpha-1-总结.txt", "alpha-1-统计表.xlsx", "汇总表.xlsx"], names
    county.screenshot(path=str(ARTIFACTS / "season-returned.png"), full_page=True)

    alpha.goto(f"{base}/t/alpha/")
    assert COMMENT in alpha.inner_text("[data-testid=season-notices]")
    alpha.goto(f"{base}/t/alpha/campaigns/{cid}/season")
    assert COMMENT in alpha.inner_text("[data-testid=season-history]")
    assert not county.errors and not alpha.errors, county.errors + alpha.errors
    county.close()
    alpha.close()
