"""The results dashboard: figures per category with small-cell suppression, charts drawn in
Chinese, the subject table (search, sort, pages), a subject's page with its opinions, trends
against the previous campaign on the same forms, and the 意见汇总表 export — each checked
against the stored tally, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.cli import main
from pingyi.extensions import db
from pingyi.models import Campaign, EvaluatorCategory, JobFile, Subject, Unit
from pingyi.results import tally
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _ids(app, world, bw) -> dict:
    with app.app_context(), tenant_context(world.a.id):
        branch = db.session.get(Unit, world.a.branch).name
        unit_subject = db.session.execute(select(Subject.id).where(
            Subject.campaign_id == bw.campaign_id, Subject.kind == "unit", Subject.unit_id == world.a.branch)
        ).scalar_one()
        cats = {k.name: k.id for k in db.session.execute(select(EvaluatorCategory).where(
            EvaluatorCategory.campaign_id == bw.campaign_id)).scalars()}
        return {"branch": branch, "unit_subject": unit_subject, "cats": cats}


def test_categories_are_suppressed_below_k_and_shown_from_k(app, world, client):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 1, 3))  # 群众: 3 ballots
        vote(world, bw, bw.group[:2], (0, 2))  # 全评: 2 ballots
        close_and_count(world, bw)  # figures of an open campaign: tests/results/test_live_view.py
    login(client, world.a.admin)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/results"
    page = _text(client.get(url).text)
    assert page.count("不足 5 张票，不单独显示") == 2 and "群众 <5" in page and "全评 <5" in page

    app.config["MIN_CELL"] = 3  # 3 群众 ballots would do, but the total minus them is the 2 全评 ballots
    page = _text(client.get(url).text)
    assert "群众 3 可由合计推算出不足 3 张票的类别，不单独显示" in page and "全评 <3" in page

    app.config["MIN_CELL"] = 2
    page = _text(client.get(url).text)
    with app.app_context(), tenant_context(world.a.id):
        result, _kinds = tally.stored_result(bw.campaign_id)
        cats = _ids(app, world, bw)["cats"]
    for name, n in (("群众", 3), ("全评", 2)):
        f = result.by_category[cats[name]]
        assert f"{name} {n} {f.total} {tally.percent(f.satisfied_share)} {tally.percent(f.lowest_share)}" in page


def test_dashboard_draws_charts_in_chinese(app, world, client):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
        close_and_count(world, bw)
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").text
    charts = page.split('data-testid="charts"')[1].split("</section>")[0]
    assert charts.count("<svg") == 4
    for title in ("各评议内容满意率", "全部回答的选项分布", "各单位参评率", "满意率最低的评议对象"):
        assert title in charts  # SVG text stays text: searchable, drawn with the page's CJK font
    assert "WenQuanYi" in charts or "Noto" in charts or "Droid" in charts


def test_subject_table_searches_sorts_and_pages(app, world, client):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 0, 3))
        vote(world, bw, bw.other_branch[:2], (0, 1))
        close_and_count(world, bw)
    ids = _ids(app, world, bw)
    login(client, world.a.admin)
    base = f"/t/alpha/campaigns/{bw.campaign_id}/results/subjects"
    with app.app_context(), tenant_context(world.a.id):
        result, _kinds = tally.stored_result(bw.campaign_id)
        subjects = {s.id: s.label for s in db.session.execute(select(Subject).where(
            Subject.campaign_id == bw.campaign_id)).scalars()}

    def order(html: str) -> list[int]:
        return [int(x) for x in re.findall(r'data-subject="(\d+)"', html)]

    ascending = order(client.get(f"{base}?sort=rate").text)
    assert sorted(ascending) == sorted(subjects)  # every subject once
    rated = [s for s in ascending if s in result.by_subject]
    rates = [result.by_subject[s].satisfied_share for s in rated]
    assert rates == sorted(rates) and rated == ascending[:len(rated)]  # unrated subjects last
    descending = order(client.get(f"{base}?sort=-rate").text)
    assert [result.by_subject[s].satisfied_share for s in descending[:len(rated)]] == sorted(rates, reverse=True)

    found = client.get(f"{base}?q={ids['branch']}").text
    assert set(order(found)) == {s for s in subjects if s in _subjects_in(app, world, bw, world.a.branch)}
    assert "共 0 个评议对象" in client.get(f"{base}?q=没有这个名字").text

    from pingyi.web.admin import result_views

    result_views.PAGE_SIZE, size = 2, result_views.PAGE_SIZE
    try:
        first, second = client.get(f"{base}?sort=label").text, client.get(f"{base}?sort=label&page=2").text
        assert len(order(first)) == 2 and not set(order(first)) & set(order(second))
        assert "第 1 / " in _text(first) and "下一页" in first
        assert client.get(f"{base}?page=999").status_code == 200  # clamps to the last page
    finally:
        result_views.PAGE_SIZE = size


def _subjects_in(app, world, bw, unit_id: int) -> set[int]:
    with app.app_context(), tenant_context(world.a.id):
        return set(db.session.execute(select(Subject.id).where(
            Subject.campaign_id == bw.campaign_id, Subject.unit_id == unit_id)).scalars())


def test_subject_page_items_categories_and_opinions(app, world, client):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 1, 3), comment="食堂饭菜要改进")
        vote(world, bw, bw.group[:1], (0,), comment="道路要修")
        close_and_count(world, bw)
    ids = _ids(app, world, bw)
    login(client, world.a.admin)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/results/subjects/{ids['unit_subject']}"
    app.config["MIN_CELL"] = 2
    page = _text(client.get(url).text)
    with app.app_context(), tenant_context(world.a.id):
        result, _kinds = tally.stored_result(bw.campaign_id)
    assert f"{tally.percent(result.by_subject[ids['unit_subject']].satisfied_share)} 满意率" in page
    for (subject, _item), f in result.by_subject_item.items():
        if subject == ids["unit_subject"]:
            assert f" {f.total} {tally.percent(f.satisfied_share)} " in page
    assert page.count("食堂饭菜要改进") == 3 and page.count("道路要修") == 1
    # 3 群众 ballots ≥ k = 2, but naming them would leave the one 全评 voter as the total minus them
    assert page.count("意见建议 · <2") == 4 and "意见建议 · 群众" not in page
    assert "群众 3 可由合计推算出不足 2 张票的类别，不单独显示" in page and "全评 <2" in page
    app.config["MIN_CELL"] = 1  # nothing suppressed
    page = _text(client.get(url).text)
    assert page.count("意见建议 · 群众") == 3 and page.count("意见建议 · 全评") == 1
    assert client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results/subjects/999999").status_code == 404


def test_trends_against_the_previous_campaign_on_the_same_forms(app, world, client):
    with app.app_context():
        first = build(world, name="上一轮评议")
        vote(world, first, first.own[:3], (0, 0, 3))  # 66.7%
        close_and_count(world, first)  # an open campaign is never compared with
        second = build(world, like=first, name="本轮评议")
        vote(world, second, second.own[:3], (0, 0, 0))  # 100.0%
        close_and_count(world, second)
        other = build(world, name="另一套表")  # new forms: nothing to compare with
        vote(world, other, other.own[:1], (0,))
        close_and_count(world, other)
    ids = _ids(app, world, second)
    login(client, world.a.admin)
    page = _text(client.get(f"/t/alpha/campaigns/{second.campaign_id}/results").text)
    assert "趋势箭头对比上一次使用相同评议表的活动：上一轮评议" in page
    assert "100.0% 0.0% ↑ +33.3" in page  # each item: 66.7% → 100.0%
    row = _text(client.get(f"/t/alpha/campaigns/{second.campaign_id}/results/subjects?q={ids['branch']}").text)
    assert "↑ +33.3" in row
    detail = _text(client.get(
        f"/t/alpha/campaigns/{second.campaign_id}/results/subjects/{ids['unit_subject']}").text)
    assert "↑ +33.3 对比：上一轮评议" in detail
    assert "对比上次" not in client.get(f"/t/alpha/campaigns/{other.campaign_id}/results").text
    assert "对比上次" not in client.get(f"/t/alpha/campaigns/{first.campaign_id}/results").text  # none before it


def _opinions_workbook(app, world, client, campaign_id: int) -> openpyxl.Workbook:
    r = client.post(f"/t/alpha/campaigns/{campaign_id}/reports", data={"kind": "opinions", "format": "xlsx"})
    assert r.status_code == 302 and "/jobs/" in r.location
    job_id = int(r.location.rstrip("/").split("/")[-1])
    assert "已完成" in client.get(r.location).text
    with app.app_context(), tenant_context(world.a.id):
        file_id = db.session.execute(select(JobFile.id).where(JobFile.job_id == job_id)).scalar_one()
    return openpyxl.load_workbook(io.BytesIO(client.get(f"/t/alpha/jobs/{job_id}/files/{file_id}").data))


@pytest.mark.parametrize("k", [5, 3, 1])
def test_opinions_workbook_groups_by_subject_and_suppresses_categories(app, world, client, k):
    app.config["MIN_CELL"] = k
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 1, 3), comment="希望多开展培训")
        vote(world, bw, bw.group[:1], (0,), comment="班中餐要改进")
        close_and_count(world, bw)  # result reports are refused while open
    ids = _ids(app, world, bw)
    login(client, world.a.admin)
    wb = _opinions_workbook(app, world, client, bw.campaign_id)
    assert wb.sheetnames[0] == "按对象统计" and any(n.endswith("意见汇总表") for n in wb.sheetnames)
    rows = [r for n in wb.sheetnames[1:] for r in wb[n].iter_rows(min_row=4, values_only=True) if r[4]]
    with app.app_context(), tenant_context(world.a.id):
        labels = {s.id: s.label for s in db.session.execute(select(Subject)).scalars()}
    branch_subject = labels[ids["unit_subject"]]
    mine = [r for r in rows if r[1] == branch_subject]
    assert sorted(r[4] for r in mine) == sorted(["班中餐要改进"] + ["希望多开展培训"] * 3)
    # 3 群众 ballots: named only when nothing is suppressed, else the total minus them would be
    # the one 全评 voter's opinion
    assert {r[5] for r in mine if r[4] == "希望多开展培训"} == ({"群众"} if k == 1 else {f"<{k}"})
    assert {r[5] for r in mine if r[4] == "班中餐要改进"} == ({"全评"} if k == 1 else {f"<{k}"})
    counts = {r[0]: r for r in wb["按对象统计"].iter_rows(min_row=4, values_only=True)}
    assert counts[branch_subject][2] == 4
    assert counts[branch_subject][3:5] == ((3, 1) if k == 1 else (f"<{k}", f"<{k}"))


def test_opinions_report_from_the_command_line(app, world, tmp_path):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:1], (0,), comment="好")
        close_and_count(world, bw)
    out = tmp_path / "意见汇总表.xlsx"
    r = app.test_cli_runner().invoke(main, ["report", "--tenant", "alpha", "--campaign", str(bw.campaign_id),
                                            "--kind", "opinions", "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    texts = [c for n in openpyxl.load_workbook(out).sheetnames[1:]
             for row in openpyxl.load_workbook(out)[n].iter_rows(values_only=True) for c in row]
    assert texts.count("好") == 2  # the branch and its member, each with one opinion
    r = app.test_cli_runner().invoke(main, ["report", "--tenant", "alpha", "--kind", "opinions", "--format", "xlsx",
                                            "--out", str(tmp_path / "x.xlsx")])
    assert r.exit_code == 1 and "需要指定评议活动" in r.output and not (tmp_path / "x.xlsx").exists()
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.get(Campaign, bw.campaign_id) is not None
        assert cp.categories(db.session.get(Campaign, bw.campaign_id))
