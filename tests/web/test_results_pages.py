"""The results page reads the stored tally: item rates, subjects by verdict, subtree roll-ups;
closing a campaign recounts it in full; a recount is a job only admins may start."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Job, TallyRun
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close, close_and_count, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_results_list_verdicts_and_roll_ups(app, world, client):
    with app.app_context():
        bw = build(world)
        with tenant_context(world.a.id):
            cp.add_preset(db.session.get(Campaign, bw.campaign_id), "seed001-3")
            db.session.commit()
        vote(world, bw, bw.own[:3], (3, 3, 0))  # 采煤一队: 不满意 2/3
        vote(world, bw, bw.other_branch[:1], (0,))
        close_and_count(world, bw)  # while open the page shows turnout only (tests/web/test_live_results_pages.py)
    login(client, world.a.admin)
    page = _text(client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").text)
    assert "4 收回评议票" in page
    # 2 of 3 own-unit ballots chose 不满意 for every item about 采煤一队 and 王伟: 33.3% satisfied
    assert "限期整改，本年度不得评先评优（2）" in page
    assert "党支部书记年度考核为基本称职（1）" in page  # > 1/3 but not > 2/3 不满意; units only
    assert "党支部书记年度考核为不称职" not in page
    assert re.search(r"采煤一队党支部 \d+ 33\.3% 66\.7%", page)
    assert "公司党委 100.0% 4/4 44.4% 4/9 32 50.0% 满意 16 · 不满意 16" in page  # the whole tree
    assert "采煤一队党支部" not in page.split("按组织汇总")[1]  # depth ≤ 1 unless asked
    everything = _text(client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results?depth=all").text)
    assert "采煤一队党支部 100.0% 2/2 60.0% 3/5 24 33.3% 满意 8 · 不满意 16" in everything


def test_closing_recounts_in_full_and_only_admins_start_a_recount(app, world, client):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0, 1, 0, 1, 0))  # k ballots: mixed and counted live
        vote(world, bw, bw.group[:1], (3,))  # waits in the box
    login(client, world.a.viewer)
    assert client.post(f"/t/alpha/campaigns/{bw.campaign_id}/tally").status_code == 403
    assert "尚未统计" not in client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").text  # live tally
    client.post("/logout")
    login(client, world.a.admin)
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}", data={"action": "close"})
    assert r.status_code == 302
    with app.app_context(), tenant_context(world.a.id):
        run = db.session.execute(select(TallyRun)).scalar_one()
        assert (run.full, run.ballots) == (True, 6)  # the closing job emptied the box (in-process here)
        job = db.session.execute(select(Job).where(Job.kind == "tally")).scalar_one()
        assert job.state == "done" and job.result["ballots"] == 6 and job.params["seal"] is True
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/tally")
    assert r.status_code == 302 and "/jobs/" in r.location
    page = _text(client.get(r.location).text)
    assert "已完成" in page and "6 张票" in page


def test_results_before_any_tally(app, world, client):
    with app.app_context():
        bw = build(world)
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").text
    assert "尚未统计" in page and "立即统计" in page


def test_oversight_page_shows_published_totals(app, world, client):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
    login(client, world.county_admin)
    assert "下级单位尚未公布评议结果" in client.get("/t/county/oversight/").text
    with app.app_context():
        close(world.a.id, bw.campaign_id, publish=True)
    page = _text(client.get("/t/county/oversight/").text)
    # state, live turnout, publication time, then the stored totals (tests/test_oversight.py has more)
    assert re.search(r"甲公司 测试评议 已公布 22\.2% 2/9 \S+ \S+ 50\.0% 16 50\.0%", page), page
