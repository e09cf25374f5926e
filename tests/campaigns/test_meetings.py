"""A campaign's timetable and meeting records: set and refused as people type them, recorded
by unit admins within their subtree, and counted — only as recorded — by the summary report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import meetings, timetable
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, CampaignPhase, Meeting, Unit, utcnow
from pingyi.reports import summary
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _today(c: Campaign):
    return cp.local(utcnow(), c.timezone).date()


def _meetings() -> int:
    return db.session.execute(select(func.count()).select_from(Meeting)).scalar_one()


def test_phases_keep_the_seeds_order_and_refuse_bad_dates(ctx, world):
    bw = build(world)
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        d = _today(c)
        got = timetable.set_phases(c, {"review": (d + timedelta(40), d + timedelta(50)),
                                       "publicity": (str(d - timedelta(7)), str(d - timedelta(1))),
                                       "appraisal": (d, d + timedelta(3)), "rectification": ("", "")})
        db.session.commit()
        assert [p.kind for p in got] == ["publicity", "appraisal", "review"]  # blank: no phase
        assert timetable.current(c, d).kind == "appraisal" and timetable.current(c, d + timedelta(20)) is None
        bad = [({"appraisal": (d, d - timedelta(1))}, "结束日期不能早于开始日期"),
               ({"publicity": (d, d), "appraisal": (d - timedelta(1), d)}, "不能早于“宣传发动”开始"),
               ({"appraisal": ("2025/13/01", d)}, "格式不正确"), ({"party": (d, d)}, "未知的阶段")]
        for dates, message in bad:
            with pytest.raises(DomainError, match=message):
                timetable.set_phases(c, dates)
            db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(CampaignPhase)).scalar_one() == 3


def test_meetings_are_recorded_within_the_subtree_and_bad_input_stores_nothing(ctx, world):
    bw = build(world)
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        branch, other = db.session.get(Unit, world.a.branch), db.session.get(Unit, world.a.other_branch)
        within, today = db.session.get(Unit, world.a.committee).path, _today(c)
        meetings.record(c, branch, "appraisal", today, "31", "支部全体党员和群众代表", within, today)
        db.session.commit()
        bad = [(dict(unit=other), "本单位范围内"), (dict(kind="party"), "会议类型"),
               (dict(held_on=today + timedelta(1)), "不能晚于今天"), (dict(held_on="昨天"), "格式不正确"),
               (dict(held_on=today - timedelta(800)), "评议开始前一年"), (dict(attendance="三十"), "整数"),
               (dict(attendance=-1), "0 到 100000"), (dict(note="长" * 501), "500")]
        for change, message in bad:
            args = dict(unit=branch, kind="forum", held_on=today, attendance=5, note="") | change
            with pytest.raises(DomainError, match=message):
                meetings.record(c, args["unit"], args["kind"], args["held_on"], args["attendance"], args["note"],
                                within, today)
            db.session.rollback()
        assert _meetings() == 1
        counted = meetings.counts(c)
        assert (counted.meetings, counted.attendance, counted.by_kind) == (1, 31, {"appraisal": 1})
        assert meetings.counts(c, within).meetings == 1 and meetings.counts(c, other.path).meetings == 0
    with tenant_context(world.b.id):  # another tenant sees none of them
        assert _meetings() == 0


def test_the_summary_counts_recorded_meetings_only(app, world):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 1))
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            assert "会议" not in {p.key: p.generated for p in summary.paragraphs(c)}["scope"]
            today = _today(c)
            for unit, kind, people in ((world.a.branch, "appraisal", 30), (world.a.other_branch, "forum", 12),
                                       (world.a.branch, "forum", 9)):
                meetings.record(c, db.session.get(Unit, unit), kind, today, people, today=today)
            db.session.commit()
            scope = {p.key: p.generated for p in summary.paragraphs(c)}["scope"]
    assert "共召开各类评议会议3次（民主评议会1次、座谈会2次），参会51人次；" in scope


def test_unit_admin_records_a_meeting_on_the_page(app, world, client):
    with app.app_context():
        bw = build(world)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/meetings"
    login(client, world.a.unit_admin)
    page = client.get(url)
    assert page.status_code == 200 and "尚无会议记录" in page.text and 'data-testid="phases"' not in page.text
    with app.app_context(), tenant_context(world.a.id):
        today = _today(db.session.get(Campaign, bw.campaign_id)).isoformat()
    r = client.post(url, data={"op": "meeting", "unit_id": world.a.branch, "kind": "appraisal", "held_on": today,
                               "attendance": "28", "note": ""}, follow_redirects=True)
    assert "已记录" in r.text and "共 1 次，参会 28 人次" in r.text
    refused = client.post(url, data={"op": "meeting", "unit_id": world.a.branch, "kind": "forum", "held_on": today,
                                     "attendance": "abc", "note": "座谈"}, follow_redirects=True)
    assert "参会人数应为整数" in refused.text and 'value="座谈"' in refused.text  # what was typed stays
    assert client.post(url, data={"op": "meeting", "unit_id": world.a.other_branch, "kind": "forum",
                                  "held_on": today, "attendance": "3"}).status_code == 404  # outside the subtree
    assert client.post(url, data={"op": "phases", "kind": ["appraisal"], "starts_on": [today],
                                  "ends_on": [today]}).status_code == 403  # the timetable is the admin's
    with app.app_context(), tenant_context(world.a.id):
        assert _meetings() == 1
    client.get("/logout")
    login(client, world.a.admin)
    r = client.post(url, data={"op": "phases", "kind": ["publicity", "appraisal"], "starts_on": ["", today],
                               "ends_on": ["", today]}, follow_redirects=True)
    assert "已保存" in r.text and f'value="{today}"' in r.text
