"""The evaluator's ballot on a 360 px phone in a real Chromium (Playwright): the progress bar
counts as choices are made, the index jumps to a subject, a submit with answers missing lands
on the first one, a complete ballot gets its receipt; and with JavaScript off the same ballot
is refused to the first missing item by the server, then accepted. Screenshots go to
tests/artifacts/ for a human look."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import served_app

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
pytestmark = [pytest.mark.browser, pytest.mark.dates]  # the campaign opens an hour before now


@dataclass
class Ballot:
    url: str
    subjects: list[tuple[int, list[str]]]  # per subject in page order: its required rating fields

    @property
    def total(self) -> int:
        return sum(len(names) for _s, names in self.subjects)


@dataclass
class Served:
    base: str
    group: list[Ballot]  # 全评 links: both branches and their members
    own: list[Ballot]  # 本单位 links of one branch


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A small open campaign (tests/ballot_world.py) served on a port of its own."""
    from pingyi.voting import ballots
    from tests.ballot_world import build
    from tests.factories import build_world

    with served_app(tmp_path_factory.mktemp("phone"), "phone") as (app, base):
        def ballot(secret: str) -> Ballot:
            sheet = ballots.resolve(secret).sheet()
            return Ballot(f"{base}/b/{secret}", [(s.id, [ballots.field_name("a", s.id, it.id) for it in s.items()
                                                         if it.kind == "rating" and it.required]) for s in sheet])

        with app.app_context():
            bw = build(build_world())
            links = Served(base, [ballot(ln.secret) for ln in bw.group], [ballot(ln.secret) for ln in bw.own])
        yield links


def _choose(page, name: str, index: int = 0) -> None:
    page.locator(f"#{name} label").nth(index).tap()


def _focused_item(page) -> str:
    """The id of the item (fieldset) holding the focused element, "" if none."""
    return page.evaluate("(document.activeElement.closest('fieldset, label.comment') || {id: ''}).id")


def _uncovered(page, selector: str) -> bool:
    """On screen, its top edge not hidden under the sticky bar or a stuck subject heading."""
    return page.evaluate("""s => { const e = document.querySelector(s), r = e.getBoundingClientRect();
        const top = document.elementFromPoint(r.left + r.width / 2, r.top + 3);
        return r.top >= 0 && r.bottom <= window.innerHeight && e.contains(top); }""", selector)


def test_progress_index_and_the_first_missing_answer_on_a_phone(served, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    ballot = served.group[0]
    (first, first_names), (second, second_names), (third, _n3) = ballot.subjects[:3]
    page = browser.new_page(**PHONE)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(ballot.url)
    count = page.locator("#progress .count")
    assert count.inner_text() == f"已完成 0 / {ballot.total}"
    assert page.locator("#progress progress").is_visible()
    assert page.locator(f"#i{first} b").inner_text() == f"0/{len(first_names)}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"
    page.screenshot(path=str(ARTIFACTS / "ballot-360-top.png"))

    for name in first_names:  # the first subject, complete
        _choose(page, name, 1)
    _choose(page, second_names[0])
    assert count.inner_text() == f"已完成 {len(first_names) + 1} / {ballot.total}"
    assert page.locator(f"#i{first} b").inner_text() == f"{len(first_names)}/{len(first_names)}"
    assert "done" in page.locator(f"#i{first}").get_attribute("class")
    assert page.locator(f"#i{second} b").inner_text() == f"1/{len(second_names)}"
    assert page.evaluate("document.querySelector('#progress progress').value") == len(first_names) + 1

    # the bar stays on screen while scrolling, and leads back to the index; the index to a subject
    page.locator(f"#{second_names[-1]}").scroll_into_view_if_needed()
    assert page.locator("#progress").is_visible() and page.evaluate(
        "document.getElementById('progress').getBoundingClientRect().top") == 0
    page.locator("#progress a", has_text="目录").tap()
    page.locator(f"#i{third}").tap()
    page.wait_for_function(f"location.hash === '#s{third}'")
    assert _uncovered(page, f"#s{third} h2")

    # submit with answers missing: nothing is sent, the page moves to the first missing answer
    page.locator("button.submit").tap()
    assert page.url == ballot.url + f"#s{third}"
    assert _focused_item(page) == second_names[1]
    assert _uncovered(page, f"#{second_names[1]} legend")
    left = ballot.total - len(first_names) - 1
    assert count.inner_text() == f"还有 {left} 项未完成"
    assert page.locator("#missing[role=alert]").inner_text().startswith(f"还有 {left} 项未完成，已用红色标出")
    assert "bad" in page.locator(f"#{second_names[1]}").get_attribute("class")
    page.screenshot(path=str(ARTIFACTS / "ballot-360-missing.png"))
    _choose(page, second_names[1])
    assert "bad" not in page.locator(f"#{second_names[1]}").get_attribute("class")
    page.locator("#progress button.next").tap()  # 下一项未完成
    assert _focused_item(page) == [n for _s, names in ballot.subjects for n in names if n not in (
        *first_names, *second_names[:2])][0]

    for _sid, names in ballot.subjects[1:]:
        for name in names:
            if not page.locator(f"#{name} input:checked").count():
                _choose(page, name, 2)
    assert count.inner_text() == f"已完成 {ballot.total} / {ballot.total}"
    assert page.locator("#progress button.next").is_hidden()
    page.locator("textarea").first.fill("希望多听取一线员工意见")
    page.locator("button.submit").tap()
    receipt = page.locator("[data-testid=receipt]").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", receipt)
    page.screenshot(path=str(ARTIFACTS / "ballot-360-receipt.png"))
    assert violations == []
    page.close()


def test_without_javascript_refused_to_the_first_missing_answer_then_accepted(served, browser):
    ballot = served.own[0]
    (first, first_names), (second, second_names) = ballot.subjects[:2]
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(ballot.url)
    assert page.locator("#progress .count").inner_text() == f"共 {ballot.total} 项必答"
    assert page.locator("#progress progress").is_hidden() and page.locator("#progress button.next").is_hidden()
    assert page.locator(f"#i{second} b").inner_text() == f"{len(second_names)} 项"
    for name in first_names:
        _choose(page, name, 3)
    _choose(page, second_names[0])
    with page.expect_navigation():
        page.locator("button.submit").tap()
    # the server refused it; the form's action brought the browser to the first missing answer
    assert page.url == ballot.url + "#first-missing"
    assert "还有" in page.locator(".alert").inner_text()
    assert _focused_item(page) == second_names[1]
    assert page.evaluate("document.activeElement.id") == "first-missing"
    assert _uncovered(page, "#first-missing")
    assert page.locator(f"#i{first} b").inner_text() == "已完成"
    assert page.locator(f"#i{second} b").inner_text() == f"还差 {len(second_names) - 1} 项"
    assert page.locator(f"#{second_names[0]} input:checked").count() == 1  # the choices made are kept
    page.screenshot(path=str(ARTIFACTS / "ballot-360-refused-nojs.png"))
    links = page.locator(".alert li a")
    assert links.nth(1).get_attribute("href") == f"#{second_names[1]}"
    links.nth(1).tap()
    for name in second_names[1:]:
        _choose(page, name)
    with page.expect_navigation():
        page.locator("button.submit").tap()
    assert page.locator("[data-testid=receipt]").is_visible()
    assert "提交成功" in page.inner_text("h1")
    context.close()
