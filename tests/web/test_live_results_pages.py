"""The results pages of an open campaign: turnout only unless the admin turns live results
on; then a subject's figures appear at k ballots and move only in steps of k, without
categories or opinions; full figures once closed. A unit admin's pages and report jobs stay
inside their subtree. Ballots go through the real cast path (and its live tally)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, Job, JobFile, Subject
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import bearer, login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

K = 5  # the default MIN_CELL


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _subjects(app, world, bw) -> dict[str, int]:
    with app.app_context(), tenant_context(world.a.id):
        return {s.label.split("（")[0]: s.id for s in db.session.execute(
            select(Subject).where(Subject.campaign_id == bw.campaign_id)).scalars()}


def _answers(page: str) -> list[str]:
    """The answers column of the dashboard's item table."""
    table = page.split('data-testid="items"')[1].split("</table>")[0]
    return re.findall(r"<td>[^<]*</td><td>(\d+)</td><td><b>", table)


def _rate(page: str) -> str | None:
    m = re.search(r'data-testid="subject-rate">([^<]*)<', page)
    return m.group(1) if m else None


FIGURES = ('data-testid="items"', 'data-testid="categories"', 'data-testid="satisfied"', 'data-testid="coverage"',
           'data-testid="verdict"', 'data-testid="subject-rate"', 'data-testid="subject-items"',
           'data-testid="subject-categories"', 'data-testid="opinion"', "满意率最低的评议对象", "全部回答的选项分布")


def test_live_results_off_show_turnout_and_no_figure(app, world, client):
    with app.app_context():
        bw = build(world, links=12)
    subjects = _subjects(app, world, bw)
    base = f"/t/alpha/campaigns/{bw.campaign_id}/results"
    login(client, world.a.admin)
    cast = 0
    for n in (1, 3, 10):
        with app.app_context():
            vote(world, bw, bw.own[cast:n], [3] * (n - cast), comment="食堂要改进")
        cast = n
        pages = [client.get(base).text, client.get(f"{base}/subjects").text,
                 client.get(f"{base}/subjects/{subjects['采煤一队党支部']}").text,
                 client.get(f"/p/alpha/{bw.campaign_id}").text]  # the admin's preview of the publication
        dashboard = _text(pages[0])
        if n >= K or "尚未统计" not in dashboard:  # (the mixer moves ballots k at a time)
            assert f"{n} / 16" in dashboard and "各单位参评率" in pages[0]  # turnout stays
            assert "评议进行中，本页只显示参评情况" in dashboard
        for page in pages:
            assert not [f for f in FIGURES if f in page], n
            assert "食堂要改进" not in page and "不满意" not in _text(page)  # every ballot chose 不满意
        assert "满意率" not in _text(pages[1])  # the subject table: names and units only
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports", data={"kind": "tally", "format": "xlsx"},
                    follow_redirects=True)
    assert "评议进行中，结束后才能导出结果报表" in r.text
    assert "导出统计表（Excel）" not in client.get(base).text
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.execute(select(Job).where(Job.kind == "report")).first() is None


def test_live_results_show_a_subject_from_k_ballots_in_steps_of_k(app, world, client):
    with app.app_context():
        bw = build(world, links=12)
    subject = f"/t/alpha/campaigns/{bw.campaign_id}/results/subjects/{_subjects(app, world, bw)['采煤一队党支部']}"
    login(client, world.a.viewer)
    assert client.post(f"/t/alpha/campaigns/{bw.campaign_id}/live-results",
                       data={"live_results": "1"}).status_code == 403
    client.post("/logout")
    login(client, world.a.admin)
    assert "评议进行中显示实时结果" in client.get(f"/t/alpha/campaigns/{bw.campaign_id}").text
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/live-results", data={"live_results": "1"},
                    follow_redirects=True)
    assert "已开启实时结果" in r.text
    rates = []
    for i, link in enumerate(bw.own[:11]):
        with app.app_context():
            vote(world, bw, [link], [0 if i < K else 3], comment="道路要修")
        page = client.get(subject).text
        rates.append(_rate(page))
        assert 'data-testid="subject-categories"' not in page and "道路要修" not in page  # never while open
    assert rates == ["—"] * (K - 1) + ["100.0%"] * K + ["50.0%"] * 2
    dashboard = _text(client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").text)
    assert "评议进行中的实时结果" in dashboard and 'data-testid="categories"' not in dashboard
    assert re.search(r"\d+ 收回评议票", dashboard) and "选项分布" not in dashboard.split("按组织汇总")[1]  # no unit choices

    with app.app_context():
        close_and_count(world, bw)
    page = client.get(subject).text
    assert _rate(page) == "45.5%"  # 5 of 11 satisfied: every ballot now
    assert 'data-testid="subject-categories"' in page and "道路要修" in page
    assert 'data-testid="categories"' in client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").text


def test_the_api_reads_and_sets_live_results(app, world, client):
    with app.app_context():
        bw = build(world)
    url = f"/api/v1/t/alpha/campaigns/{bw.campaign_id}"
    assert client.get(url, headers=bearer(world.a.api_key)).json["live_results"] is False
    r = client.patch(url, json={"live_results": True}, headers=bearer(world.a.api_key))
    assert r.status_code == 200 and r.json["live_results"] is True
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.get(Campaign, bw.campaign_id).live_results is True


def test_a_unit_admin_reads_only_their_subtree(app, world, client):
    with app.app_context():
        bw = build(world, links=6)
        vote(world, bw, bw.own[:3], (0, 0, 3))
        vote(world, bw, bw.group[:2], (3, 3))
        vote(world, bw, bw.other_branch[:2], (1, 1), comment="机关的意见")
        close_and_count(world, bw)
    subjects = _subjects(app, world, bw)
    base = f"/t/alpha/campaigns/{bw.campaign_id}"
    login(client, world.a.admin)
    r = client.post(f"{base}/reports", data={"kind": "tally", "format": "xlsx"})  # an admin's 统计表
    job_id = int(r.location.rstrip("/").rsplit("/", 1)[1])
    admin_page = client.get(f"{base}/results").text
    everyone = _text(admin_page)
    client.post("/logout")
    login(client, world.a.unit_admin)  # 一矿党委: 采煤一队党支部 and 王伟
    page = client.get(f"{base}/results?depth=all").text
    units = set(re.findall(r'data-unit="(\d+)"', page))
    assert units == {str(world.a.committee), str(world.a.branch)}
    assert 'data-testid="categories"' not in page and "机关党支部" not in page and "李娜" not in page
    mine = _text(page)
    assert "3 收回评议票" in mine and "3 / 6" in mine  # the subtree's links, not the campaign's 7 / 10
    assert "7 收回评议票" in everyone and "7 / 10" in everyone
    # each item across subjects, over the subtree: 采煤一队 (or 王伟) by 3 群众 + 2 全评 ballots; all: 9
    assert set(_answers(page)) == {"5"} and set(_answers(admin_page)) == {"9"}
    table = client.get(f"{base}/results/subjects").text
    assert set(re.findall(r'data-subject="(\d+)"', table)) == {str(subjects["采煤一队党支部"]), str(subjects["王伟"])}
    assert client.get(f"{base}/results/subjects/{subjects['机关党支部']}").status_code == 404
    assert client.get(f"{base}/summary").status_code == 403
    assert client.post(f"{base}/reports", data={"kind": "tally", "format": "xlsx"}).status_code == 403
    with app.app_context(), tenant_context(world.a.id):
        file_id = db.session.execute(select(JobFile.id).where(JobFile.job_id == job_id)).scalar_one()
    assert client.get(f"/t/alpha/jobs/{job_id}/files/{file_id}").status_code == 403


def test_a_unit_admin_watches_their_subtree_s_turnout(app, world, client):
    with app.app_context():
        bw = build(world, links=6)
        vote(world, bw, bw.own[:3] + bw.group[:1] + bw.other_branch[:2], (0,) * 6)
    login(client, world.a.unit_admin)
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/turnout").text
    assert set(re.findall(r'data-unit="(\d+)"', page)) == {str(world.a.branch)}  # not 机关党支部, nor the root's 全评 links
    assert re.search(r'data-testid="total-issued">6<', page) and re.search(r'data-testid="total-used">3<', page)
    client.post("/logout")
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/turnout").text
    assert re.search(r'data-testid="total-issued">10<', page) and re.search(r'data-testid="total-used">6<', page)
