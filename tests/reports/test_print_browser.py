"""The results page in a real Chromium (Playwright): its charts' text is legible at 100 % (at
least 10 pt as drawn on the screen), and printed (print.css) it keeps the figures and charts
and drops what paper cannot use — navigation, forms, buttons. The printed PDF's pages go to
tests/artifacts/ for a human look."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2
import pytest

from tests.conftest import served_app

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.dates]
PT = 96 / 72  # CSS pixels per point


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A closed, counted campaign (tests/ballot_world.py) served on a port of its own."""
    from tests.ballot_world import build, close_and_count, vote
    from tests.factories import build_world

    with served_app(tmp_path_factory.mktemp("print"), "print") as (app, base):
        with app.app_context():
            world = build_world()
            bw = build(world)
            vote(world, bw, bw.own[:3], (0, 1, 3))
            vote(world, bw, bw.other_branch[:1], (2,))
            close_and_count(world, bw)
        yield base, world.a.admin, bw.campaign_id


def _results_page(browser, served):
    from tests.factories import PASSWORD

    base, admin, campaign_id = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/login")
    page.fill("input[name=email]", admin)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/t/**")
    page.goto(f"{base}/t/alpha/campaigns/{campaign_id}/results")
    assert page.locator(".chart svg").count() == 4
    return page


# each chart text's size on the screen, in CSS px: its font size times the SVG's scale
_SIZES = """() => [...document.querySelectorAll('.chart svg')].flatMap(svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].map(t => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * scale]);
})"""


def test_chart_text_is_legible_at_100_percent(served, browser):
    page = _results_page(browser, served)
    sizes = page.evaluate(_SIZES)
    assert len(sizes) > 20
    small = [(text, round(px / PT, 1)) for text, px in sizes if px < 10 * PT]
    assert not small, small  # under 10 pt as shown
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("[data-testid=charts]").screenshot(path=str(ARTIFACTS / "results-charts.png"))
    page.close()


def test_results_page_prints_figures_without_the_controls(served, browser):
    page = _results_page(browser, served)
    page.emulate_media(media="print")
    for selector in (".tabs", ".subtabs", ".user", "[data-testid=exports]", "form button"):
        assert page.locator(selector).first.is_hidden(), selector
    assert page.locator("[data-testid=items]").is_visible() and page.locator(".chart svg").first.is_visible()
    style = page.evaluate("""() => ({bg: getComputedStyle(document.body).backgroundColor,
        ink: getComputedStyle(document.body).color,
        thead: getComputedStyle(document.querySelector('thead')).display,
        row: getComputedStyle(document.querySelector('tbody tr')).breakInside,
        chart: Math.max(...[...document.querySelectorAll('.chart svg')].map(s => s.getBoundingClientRect().width)),
        main: document.querySelector('main').getBoundingClientRect().width})""")
    assert style["bg"] == "rgb(255, 255, 255)" and style["ink"] == "rgb(0, 0, 0)"
    assert style["thead"] == "table-header-group" and style["row"] == "avoid"
    assert style["chart"] <= style["main"]
    data = page.pdf(format="A4", print_background=True)
    page.close()
    pdf = pypdfium2.PdfDocument(data)
    text = re.sub(r"\s+", "", "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))))
    assert "测试评议" in text and "各评议内容满意率" in text and "满意率" in text
    for control in ("组织架构", "人员名册", "个别访谈", "全量重新统计", "导出统计表", "退出"):
        assert control not in text, control
    ARTIFACTS.mkdir(exist_ok=True)
    for i in range(min(len(pdf), 3)):
        pdf[i].render(scale=1).to_pil().save(ARTIFACTS / f"results-print-{i + 1}.png")
