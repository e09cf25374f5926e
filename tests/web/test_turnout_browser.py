"""The turnout page and its 大屏 in a real Chromium at 1366 px (issue 17 item 2): a committee's
<details> opens on a click and shows its branches with their bars; the screen draws one bar per
committee at its rate, fits the projector's width, and the console stays free of errors (the CSP
allows no inline script, and these pages need none). Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ballot_world import build, vote
from tests.conftest import served_app
from tests.factories import PASSWORD, build_world

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.dates]
SIZE = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The two-tenant world on a file database, served; alpha's campaign: 采煤一队党支部 4 of 6
    links used, 公司党委's 全评 1 of 2, 机关党支部 none of 2."""
    with served_app(tmp_path_factory.mktemp("turnout")) as (app, base):
        with app.app_context():
            world = build_world()
            bw = build(world, links=6)
            vote(world, bw, [*bw.own[:4], bw.group[0]], (0, 1, 2, 3, 0))
        yield base, world, bw.campaign_id


def _page(browser, base: str, email: str):
    """A logged-in page at 1366 px that records console errors and failed requests."""
    page = browser.new_page(viewport=SIZE)
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state()
    page.errors.clear()  # only the pages under test count (a favicon the login page lacks is not one)
    return page


def test_a_committee_opens_and_the_screen_draws_its_bars(site, browser):
    base, world, cid = site
    page = _page(browser, base, world.a.admin)
    page.goto(f"{base}/t/alpha/campaigns/{cid}/turnout")
    committee = page.locator(f"details[data-subtree='{world.a.committee}']")
    branch = committee.locator(f"tr[data-unit='{world.a.branch}']")
    assert committee.get_attribute("open") is None and not branch.is_visible()  # closed by default
    committee.locator("summary").click()
    assert committee.get_attribute("open") == "" and branch.is_visible()
    assert "采煤一队党支部" in branch.inner_text() and "66.7%" in branch.inner_text()
    bar = branch.locator(".tbar > i").bounding_box()
    track = branch.locator(".tbar").bounding_box()
    assert track["width"] > 80 and abs(bar["width"] - track["width"] * 4 / 6) < 2  # 4 of 6 links
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZE["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "turnout-1366.png"), full_page=True)
    # the 大屏 from its link: dark, a bar per group, nothing wider than the projector
    page.goto(base + page.get_attribute("[data-testid=screen-link]", "href"))  # the link opens a new tab
    assert page.url.endswith(f"/campaigns/{cid}/turnout/screen")
    bars = page.locator("[data-testid=screen-bars] li")
    assert bars.count() == 3  # 公司党委（本级）, 一矿党委, 机关党支部
    widths = [bars.nth(i).locator(".tbar > i").bounding_box()["width"] for i in range(3)]
    track = bars.nth(0).locator(".tbar").bounding_box()["width"]
    assert abs(widths[0] - track / 2) < 2 and abs(widths[1] - track * 4 / 6) < 2 and widths[2] == 0
    assert page.locator("[data-testid=screen-rate]").inner_text() == "50.0%"  # 5 of 10
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZE["width"]
    assert page.evaluate("document.documentElement.scrollHeight") <= SIZE["height"]  # one screen, no scrolling
    page.screenshot(path=str(ARTIFACTS / "turnout-screen-1366.png"))
    assert page.errors == []
    page.close()
