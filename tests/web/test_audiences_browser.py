"""Three audiences in a real Chromium (issue 17): the county's admin lands on 下级督导 and sees
its subordinates' figures; a tenant admin narrows the audit trail through its form, pages with
the filter kept and downloads it as CSV; anyone opens the 公示 page of a campaign too long for one
page on a phone. A small world of its own (tests/factories.py), no demo: screenshots go to
tests/artifacts/ for a human look."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from pingyi.audit import acting_as
from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import AuditEvent, Unit, utcnow
from pingyi.org import orgtree
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests import clock
from tests.ballot_world import cast, close
from tests.conftest import served_app
from tests.factories import PASSWORD, World, build_world

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.dates]

BRANCHES, PER_BRANCH = 3, 40  # 120 people, each a subject (and the world's two): three pages of 50
RARE = "欧阳明月"  # one person, findable by name
BULK, OLD = 120, 5  # the bulk actor's events today, and before the day the filter starts
BULK_ACTOR = "批量@alpha.test"
PHONE = {"width": 360, "height": 740}


@dataclass
class Site:
    base: str
    world: World
    campaign_id: int


def _name(i: int) -> str:
    surnames, given = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明"
    return surnames[i % len(surnames)] + given[(i // len(surnames)) % len(given)] + given[(i * 7) % len(given)]


def _public_campaign(world: World) -> int:
    """Alpha's 一矿党委 gets three branches of 40 members; a public campaign rates all 122 people,
    five ballots cast in each of two branches (80% satisfied), closed, counted and published."""
    with tenant_context(world.a.id), acting_as(None, world.a.admin):
        committee = db.session.get(Unit, world.a.committee)
        branches = []
        for j in range(BRANCHES):
            unit = orgtree.create_unit(f"综采{j:02d}队党支部", committee, "branch")
            branches.append(unit)
            for i in range(PER_BRANCH):
                orgtree.create_person(RARE if (j, i) == (1, 3) else _name(j * PER_BRANCH + i), unit, "党员")
        now = utcnow()
        c = cp.create_campaign("年度党员民主评议", now - timedelta(hours=1), now + timedelta(days=2),
                               publication_scope="public")
        cp.add_subjects_bulk(c, "person", db.session.get(Unit, world.a.root), q.copy_template("seed002-member"),
                             ["branch"])
        (own,) = cp.set_categories(c, [{"name": "群众", "scope": "own_unit"}])
        links = [link for u in branches[:2] for link in tokens.issue_links(c, own, u, 5)]
        cp.transition(c, "open")
        db.session.commit()
        cid = c.id
    cast(links, [0, 0, 1, 0, 3] * 2)
    close(world.a.id, cid, publish=True)
    return cid


def _audit_events(world: World) -> None:
    """Alpha's trail: what building the world wrote, the bulk actor's 120 renames today and five
    three days ago, and another admin's deletions."""
    rename = {"name": "采煤一队党支部", "changes": {"sort_order": [1, 2]}}
    bulk = dict(actor=BULK_ACTOR, action="update", object_type="units", object_id=world.a.branch, detail=rename)
    rows = [dict(bulk, created_at=clock.day(-3, 10)) for _ in range(OLD)]  # in time order, as the hook writes
    rows += [dict(actor="乙@alpha.test", action="delete", object_type="people", count=3, detail={},
                  created_at=clock.day(-1, 15)) for _ in range(4)]
    rows += [dict(bulk, created_at=clock.now()) for _ in range(BULK)]
    db.session.add_all(AuditEvent(tenant_id=world.a.id, **row) for row in rows)
    db.session.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("audiences")) as (app, base):
        with app.app_context():
            world = build_world()
            cid = _public_campaign(world)
            _audit_events(world)
        ARTIFACTS.mkdir(exist_ok=True)
        yield Site(base, world, cid)


def _login(browser, site: Site, email: str, viewport: dict):
    page = browser.new_page(viewport=viewport, locale="zh-CN", accept_downloads=True)
    page.goto(f"{site.base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state()
    return page


def test_the_county_admin_lands_on_the_subordinates_overview(site, browser):
    page = _login(browser, site, site.world.county_admin, {"width": 1366, "height": 900})
    assert page.url == f"{site.base}/t/county/oversight/"  # / → the single tenant's home → 下级督导
    assert page.inner_text("h1") == "下级单位概况"
    assert page.locator("[data-testid=oversight-home]").is_visible()
    nav = page.locator("nav.tabs a", has_text="下级督导")
    assert nav.get_attribute("href") == "/t/county/oversight/"
    text = page.inner_text("main")
    assert "快捷入口" not in text and "乙公司" not in text  # not the home of zeros; beta is no subordinate
    # alpha's tree: 公司党委 and 一矿党委; 采煤一队, 机关 and the three 综采 branches; 122 people
    cells = page.locator("tbody tr", has_text="甲公司").first.locator("td").all_inner_texts()
    assert cells[1:] == ["2", "0", "5", str(2 + BRANCHES * PER_BRANCH)], cells
    row = page.locator(f"[data-testid=campaigns] tr[data-campaign='alpha/{site.campaign_id}']")
    figures = row.inner_text()
    assert "年度党员民主评议" in figures and "已公布" in figures and "80.0%" in figures, figures
    assert "10/10" in row.locator("[data-testid=turnout]").inner_text()
    assert page.locator("[data-testid=report-xlsx]").is_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1366
    page.screenshot(path=str(ARTIFACTS / "county-landing.png"), full_page=True)
    page.close()


def test_the_audit_trail_narrowed_through_its_form_paged_and_exported(site, browser, tmp_path):
    page = _login(browser, site, site.world.a.admin, {"width": 1366, "height": 900})
    page.click("nav.tabs a:has-text('操作日志')")
    page.wait_for_url("**/t/alpha/audit")

    def count() -> int:
        return int(page.inner_text("[data-testid=count]").split("共 ")[1].split(" 条")[0])

    def rows() -> list[str]:
        return page.locator("[data-testid=audit-rows] tbody tr td:nth-child(2)").all_inner_texts()

    everything = count()
    assert everything > BULK + OLD + 4
    shown = rows()
    assert len(shown) == 50 and f"{BULK_ACTOR} 将单位「采煤一队党支部」的排序由 1 改为 2" in shown
    for raw in ("None", "→", "update", "units", "object_type"):  # sentences, not columns
        assert not [s for s in shown if raw in s], (raw, shown[:3])

    page.select_option("[data-testid=audit-filters] select[name=actor]", BULK_ACTOR)
    page.select_option("[data-testid=audit-filters] select[name=kind]", "units")
    page.fill("[data-testid=audit-filters] input[name=since]", clock.day(0).strftime("%Y-%m-%d"))
    page.click("[data-testid=audit-filters] button")
    page.wait_for_load_state()
    assert count() == BULK < everything  # narrowed: the older five and everyone else left out
    assert "actor=" in page.url and "since=" in page.url
    first = rows()
    assert len(first) == 50 and all(s.startswith(BULK_ACTOR) for s in first)
    assert "第 1 / 3 页" in page.inner_text(".pager")
    page.screenshot(path=str(ARTIFACTS / "audit-filtered.png"), full_page=True)

    page.click(".pager [data-testid=next]")
    page.wait_for_load_state()
    assert "page=2" in page.url and "actor=" in page.url and "kind=units" in page.url and "since=" in page.url
    assert count() == BULK and "第 2 / 3 页" in page.inner_text(".pager")
    second = rows()
    assert len(second) == 50 and all(s.startswith(BULK_ACTOR) for s in second)
    assert page.input_value("select[name=actor]") == BULK_ACTOR  # the form still shows the filter
    assert page.input_value("input[name=since]") == clock.day(0).strftime("%Y-%m-%d")

    with page.expect_download() as info:
        page.click("[data-testid=export]")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".csv" and path.name.startswith("alpha-audit-")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    exported = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert exported[0][:3] == ["时间（北京时间）", "操作人", "说明"]
    assert len(exported) == 1 + BULK and {row[1] for row in exported[1:]} == {BULK_ACTOR}

    page.click("[data-testid=audit-filters] a:has-text('清除筛选')")
    page.wait_for_load_state()
    assert count() == everything
    page.select_option("select[name=kind]", label="人员")
    page.select_option("select[name=action]", label="删除")
    page.click("[data-testid=audit-filters] button")
    page.wait_for_load_state()
    assert rows() == ["乙@alpha.test 批量删除 3 个人员"] * 4
    page.select_option("select[name=action]", "")
    page.select_option("select[name=actor]", site.world.a.admin)  # what the admin really did, as sentences
    page.select_option("select[name=kind]", "campaigns")
    page.click("[data-testid=audit-filters] button")
    page.wait_for_load_state()
    real = rows()
    assert f"{site.world.a.admin} 新建评议活动「年度党员民主评议」" in real, real
    assert any("的状态由 草稿 改为 进行中" in s for s in real), real
    assert not [s for s in real if "None" in s or "→" in s or "update" in s], real
    page.close()


def test_the_publication_page_on_a_phone(site, browser):
    page = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    url = f"{site.base}/p/alpha/{site.campaign_id}"
    response = page.goto(url)
    assert response.status == 200
    assert len(response.body()) < 100_000, len(response.body())  # the first view stays small
    assert "年度党员民主评议" in page.inner_text("h1")
    summary = page.locator("[data-testid=figures]").bounding_box()
    receipt = page.locator("[data-testid=receipt-check]").bounding_box()
    subjects = page.locator("[data-testid=subjects]").bounding_box()
    assert summary["y"] < receipt["y"] < subjects["y"]  # the summary first, the receipt check under it
    assert receipt["y"] < 1000, receipt
    assert page.inner_text("[data-testid=satisfied]") == "80.0%"
    total = BRANCHES * PER_BRANCH + 2
    assert f"共 {total} 个评议对象 · 第 1 / 3 页" in page.inner_text("[data-testid=count]")
    listed = page.locator("[data-testid=subjects] tbody tr")
    assert listed.count() == 50
    height = page.evaluate("document.scrollingElement.scrollHeight")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert height < 8000, height
    assert width <= PHONE["width"] + 1, width  # no sideways scrolling
    page.screenshot(path=str(ARTIFACTS / "public-phone-paged.png"), full_page=True)

    first = listed.all_inner_texts()
    page.click("[data-testid=subjects] ~ .pager [data-testid=next]")
    page.wait_for_url("**page=2*")
    assert "第 2 / 3 页" in page.inner_text("[data-testid=count]")
    second = page.locator("[data-testid=subjects] tbody tr").all_inner_texts()
    assert len(second) == 50 and not set(first) & set(second)

    page.fill("[data-testid=subject-search] input[name=q]", RARE)
    page.click("[data-testid=subject-search] button")
    page.wait_for_url("**q=*")
    assert "共 1 个评议对象" in page.inner_text("[data-testid=count]")
    found = page.locator("[data-testid=subjects] tbody tr").all_inner_texts()
    assert len(found) == 1 and RARE in found[0]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"] + 1
    page.close()

