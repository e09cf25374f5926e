"""Key pages in a real Chromium (Playwright): the demo admin logs in and sees the 平庄煤业
tree with its 349 branches; screenshots go to tests/artifacts/ for a human look."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingyi.extensions import db
from tests import clock
from tests.conftest import served_app

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
_apps: list = []
pytestmark = [pytest.mark.browser, pytest.mark.dates]
# The demo's campaigns, named after the year they open (Beijing time): yesterday and 367 days ago.
OPEN, PUBLISHED = (f"{clock.day(-days).year}年创先争优活动群众评议" for days in (1, 367))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    from pingyi.cli import main

    with served_app(tmp_path_factory.mktemp("live")) as (app, base):
        # The printed sample link must point where the demo is served (`make demo PORT=…`).
        result = app.test_cli_runner().invoke(main, ["demo", "--base-url", base + "/"], catch_exceptions=False)
        assert result.exit_code == 0
        app.config["DEMO_SAMPLE_LINK"] = result.output.split("sample ballot link: ")[1].split()[0]
        assert app.config["DEMO_SAMPLE_LINK"].startswith(base + "/b/")
        app.config["LIVE_BASE"] = base
        _apps.append(app)
        yield base


def test_admin_logs_in_and_sees_the_tree(live_server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/t/pingzhuang/units")
    assert "/login" in page.url
    page.fill("input[name=email]", "admin@pingzhuang.example")
    page.fill("input[name=password]", "pingyi-demo")
    page.screenshot(path=str(ARTIFACTS / "login.png"))
    page.click("button.primary")
    page.wait_for_url("**/t/pingzhuang/units")
    assert page.inner_text("[data-testid=branch-count]") == "349"
    assert page.locator(".tree li.k-branch").count() == 349
    page.locator("summary", has_text="西露天矿党委").first.click()
    assert page.locator("a", has_text="西露天矿党委").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "tree.png"), full_page=False)
    page.goto(f"{live_server}/t/pingzhuang/")
    assert "4720" in page.inner_text(".stats")
    page.screenshot(path=str(ARTIFACTS / "home.png"))
    page.close()


def test_phone_sized_login_and_english(live_server, browser):
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page.goto(f"{live_server}/login?lang=en")
    assert page.locator("button.primary").inner_text() == "Log in"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the login page must not scroll sideways on a phone"
    page.screenshot(path=str(ARTIFACTS / "login-phone-en.png"))
    page.close()


def test_county_oversight_page(live_server, browser, tmp_path):
    """The county sees its subordinates, the live turnout of 平庄煤业's open campaign, the
    published campaign's roll-up, and downloads the cross-tenant roll-up report."""
    page = _login(browser, live_server, "admin@county.example")
    page.goto(f"{live_server}/t/county/oversight/")
    text = page.inner_text("main")
    assert "平庄煤业" in text and "349" in text
    published = page.locator("tr", has_text=PUBLISHED)
    assert "97.6%" in published.inner_text() and "4378/4378" in published.inner_text()
    assert "0/4378" in page.locator("tr", has_text=OPEN).inner_text()  # live turnout
    page.screenshot(path=str(ARTIFACTS / "oversight.png"), full_page=True)
    published.locator("a", has_text="按组织汇总").click()
    page.wait_for_load_state()
    assert "元宝山露天矿党委" in page.inner_text("main") or "西露天矿党委" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "county-rollup.png"), full_page=True)
    page.goto(f"{live_server}/t/county/oversight/")
    report = _download(page, "PDF", ".pdf", tmp_path)
    assert report.read_bytes().startswith(b"%PDF")
    page.goto(f"{live_server}/t/pingzhuang/campaigns/2/results")
    assert page.inner_text("h1") in ("404", "") or "404" in page.inner_text("main")  # no way into the tenant
    page.close()


def test_public_results_page_on_a_phone(live_server, browser):
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    page.goto(f"{live_server}/p/pingzhuang/2")
    assert PUBLISHED in page.inner_text("main") and "97.6%" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "public-phone.png"), full_page=False)
    page.close()


def test_campaign_and_form_designer_pages(live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "admin@pingzhuang.example")
    page.fill("input[name=password]", "pingyi-demo")
    page.click("button.primary")
    page.goto(f"{live_server}/t/pingzhuang/campaigns")
    page.click(f"text={OPEN}")
    assert "进行中" in page.inner_text("h1")
    stats = page.inner_text(".stats")
    assert "349" in stats and "4720" in stats and "4378" in stats
    page.screenshot(path=str(ARTIFACTS / "campaign.png"), full_page=True)
    page.goto(f"{live_server}/t/pingzhuang/forms")
    page.click("text=基层党组织开展创先争优活动群众评议表")
    assert "已冻结" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "form-frozen.png"), full_page=True)
    page.click("text=创建新版本并修改")
    assert "v2" in page.inner_text("h1")
    page.fill("form:has(input[value=add_item]) input[name=text]", "服务群众作风")
    page.click("form:has(input[value=add_item]) button")
    assert page.locator("input[value='服务群众作风']").count() == 1
    page.screenshot(path=str(ARTIFACTS / "form-designer.png"), full_page=True)
    page.close()


def test_demo_sample_link_on_a_phone(live_server, browser):
    """The issue's walk-through: the printed sample link, a phone, vote once, receipt, what is
    kept (the statement page), refusal."""
    app = _apps[-1]
    link = app.config["DEMO_SAMPLE_LINK"]
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    page.goto(link)
    assert OPEN in page.inner_text("h1")
    subjects = page.locator("section.subject")
    assert subjects.count() >= 10  # the branch and its members
    assert "党支部" in subjects.first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "ballot-phone.png"))
    page.click("button.submit")  # nothing chosen yet: told what is missing, nothing stored
    assert "未完成" in page.inner_text(".alert")
    items = page.locator("fieldset.item")
    for i in range(items.count()):
        items.nth(i).locator("label").nth(i % 2).click()
    page.fill("textarea >> nth=0", "希望多听取一线员工意见")
    page.screenshot(path=str(ARTIFACTS / "ballot-phone-filled.png"), full_page=True)
    page.click("button.submit")
    receipt = page.inner_text("[data-testid=receipt]")
    assert len(receipt.replace("-", "")) == 12
    page.screenshot(path=str(ARTIFACTS / "ballot-receipt.png"))
    page.click("[data-testid=stored-link]")  # what is kept about me? one tap from every ballot page
    assert "我们保存了关于参评人员的哪些信息" in page.inner_text("h1")
    assert page.locator("tr[data-field=used]").inner_text().count("不记录使用时间") == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "stored-phone.png"), full_page=True)
    again = page.request.post(link, form={"x": "1"}, headers={"Origin": live_server})
    assert again.status == 409 and "已使用" in again.text()
    page.goto(link)
    assert "已使用" in page.inner_text("h1")
    page.close()


def _login(browser, live_server, email: str, viewport=None):
    page = browser.new_page(viewport=viewport or {"width": 1280, "height": 1000}, accept_downloads=True)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "pingyi-demo")
    page.click("button.primary")
    page.wait_for_load_state()
    return page


def _download(page, button: str, name_part: str, tmp_path) -> Path:
    """Start a report from the results page, wait on its job page, download the file."""
    page.click(f"button:has-text('{button}')")
    page.wait_for_url("**/jobs/*")
    assert "已完成" in page.inner_text("main")
    with page.expect_download() as info:
        page.click(f"a:has-text('{name_part}')")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_results_dashboard_and_downloads(live_server, browser, tmp_path):
    """The demo's tallied campaign: dashboard with charts, the subject ranking, and the
    统计表, 意见汇总表 and summary report (docx, pdf) downloaded as a committee would."""
    import openpyxl
    from docx import Document

    page = _login(browser, live_server, "admin@pingzhuang.example")
    results = f"{live_server}/t/pingzhuang/campaigns/2/results"
    page.goto(results)
    assert page.locator("[data-testid=charts] svg").count() == 4
    assert page.inner_text("[data-testid=satisfied]") == "97.6%"
    items = page.inner_text("[data-testid=items]")
    for rate in ("98.7%", "97.5%", "96.4%", "98.4%", "98.9%", "96.1%", "97.8%"):  # seed 002 §四
        assert rate in items
    box = page.locator("[data-testid=charts] svg").first.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.click("[data-testid=subjects-link]")
    assert "共 5069 个评议对象" in page.inner_text("[data-testid=count]")
    page.click("th >> [data-sort=rate]")
    page.wait_for_load_state()
    def top_rate() -> float:
        return float(page.locator("[data-testid=subjects] tbody tr").first.locator("td").nth(5).inner_text()
                     .rstrip("%"))

    highest = top_rate()  # the table opens sorted by rate, lowest first; the click reverses it
    page.click("th >> [data-sort=rate]")
    page.wait_for_load_state()
    assert top_rate() < highest
    page.fill("input[name=q]", "西露天矿")
    page.click("[data-testid=subject-search] button")
    page.wait_for_load_state()
    assert "西露天矿" in page.locator("[data-testid=subjects] tbody tr").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "subjects.png"), full_page=False)

    page.goto(results)
    tongji = _download(page, "导出统计表", "统计表.xlsx", tmp_path)
    assert openpyxl.load_workbook(tongji)["汇总"]["B4"].value == 5069
    page.goto(results)
    opinions = _download(page, "导出意见汇总表", "意见汇总表.xlsx", tmp_path)
    assert openpyxl.load_workbook(opinions).sheetnames[0] == "按对象统计"
    page.goto(f"{live_server}/t/pingzhuang/campaigns/2/summary")
    page.screenshot(path=str(ARTIFACTS / "summary-edit.png"), full_page=True)
    word = _download(page, "Word", ".docx", tmp_path)
    text = "\n".join(p.text for p in Document(str(word)).paragraphs)
    assert "满意率为98.7%" in text.replace(" ", "")
    page.goto(f"{live_server}/t/pingzhuang/campaigns/2/summary")
    pdf = _download(page, "PDF", ".pdf", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    page.close()


def test_pages_run_under_the_csp_and_still_ask_before_deleting(live_server, browser):
    """The Content-Security-Policy forbids inline script: Chromium reports no violation on the
    key pages (the dashboard's inline SVG charts included), and the confirmation before a delete,
    once an inline onsubmit, still comes from static/pingyi.js."""
    page = _login(browser, live_server, "admin@pingzhuang.example")
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    for path in ("/t/pingzhuang/", "/t/pingzhuang/units", "/p/pingzhuang/2", "/t/pingzhuang/campaigns/2/results"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state()
    assert page.locator(".chart svg").count() > 0  # the results page's charts were drawn
    page.goto(f"{live_server}/t/pingzhuang/people")
    page.locator("table a").first.click()
    page.wait_for_load_state()
    person_url = page.url
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.locator("form[data-confirm] button").click()
    page.wait_for_timeout(300)
    assert asked == ["确定删除？"] and page.url == person_url  # dismissed: nothing was sent
    assert violations == []
    page.close()


def test_unit_admin_closes_a_rectification_item_with_evidence(live_server, browser, tmp_path):
    """西露天矿党委's unit admin finds an item of their subtree in the published campaign's 整改台账,
    uploads a photo as evidence, writes what was done and marks it done; the tenant admin then
    sees it waiting for 验收."""
    from datetime import timedelta

    from sqlalchemy import select

    from pingyi.models import Campaign, Unit, User, utcnow
    from pingyi.rectification import ledger
    from pingyi.tenancy import tenant_context

    app = _apps[0]
    with app.app_context():
        from pingyi.org.accounts import tenant_by_slug

        with tenant_context(tenant_by_slug("pingzhuang").id):
            c = db.session.execute(select(Campaign).where(Campaign.name == PUBLISHED)).scalar_one()
            mine = db.session.execute(select(Unit).where(Unit.name == "西露天矿党委")).scalar_one()
            unit = db.session.execute(select(Unit).where(Unit.path.startswith(mine.path), Unit.kind == "branch")
                                      .order_by(Unit.path)).scalars().first()
            admin = db.session.execute(select(User).where(User.email == "admin@pingzhuang.example")).scalar_one()
            actor = ledger.Actor(admin.id, admin.email, "admin")
            today = ledger.local_today(utcnow(), c.timezone)
            item = ledger.create_item(c, ledger.Draft("浏览器测试：班组学习记录不全", unit.id, today + timedelta(days=20),
                                                      "支部书记", "补齐学习记录"), actor, "opinion")
            ledger.transition(item, "in_progress", actor)
            db.session.commit()
            campaign_id, item_id = c.id, item.id
    photo = tmp_path / "学习记录.png"
    photo.write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"))
    page = _login(browser, live_server, "xilutian@pingzhuang.example")
    page.goto(f"{live_server}/t/pingzhuang/campaigns/{campaign_id}/rectification?state=in_progress")
    page.click("a:has-text('浏览器测试：班组学习记录不全')")
    page.wait_for_url(f"**/rectification/{item_id}")
    assert "整改中" in page.inner_text("[data-testid=state]")
    page.set_input_files("[data-testid=upload] input[type=file]", str(photo))
    page.click("[data-testid=upload] button")
    page.wait_for_load_state()
    assert "学习记录.png" in page.inner_text("[data-testid=files]")
    page.select_option("[data-testid=move] select[name=to_state]", "done")
    page.fill("[data-testid=move] textarea[name=note]", "已补齐全年学习记录并拍照留存")
    page.click("[data-testid=move] button.primary")
    page.wait_for_load_state()
    assert "已完成" in page.inner_text("[data-testid=state]")
    assert "已补齐全年学习记录并拍照留存" in page.inner_text("[data-testid=history]")
    page.screenshot(path=str(ARTIFACTS / "rectification-item.png"), full_page=True)
    page.close()
    page = _login(browser, live_server, "admin@pingzhuang.example")
    page.goto(f"{live_server}/t/pingzhuang/campaigns/{campaign_id}/rectification/{item_id}")
    assert [o.get_attribute("value") for o in page.query_selector_all("[data-testid=move] option")] \
        == ["verified", "in_progress"]  # the tenant admin verifies, or sends it back
    page.close()
