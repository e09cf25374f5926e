"""回头看: the next campaign shows what became of the last one's items next to each subject's new
result and its change in points; the oversight committee sees, per subordinate's published
campaign, the items, the overdue ones and the share finished by their deadline."""

from __future__ import annotations

from datetime import timedelta

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, utcnow
from pingyi.oversight.subordinates import LedgerFigures, ledger_figures
from pingyi.rectification import followthrough, ledger
from pingyi.tenancy import tenant_context
from tests.ballot_world import BallotWorld, build, close_and_count, vote
from tests.factories import login
from tests.rectification.ledger_world import actors


def test_the_next_campaign_follows_through_and_oversight_counts_on_time(counted, unbatched):
    world, c = counted
    now = utcnow()
    admin = actors(world.a).admin
    outcome, listed = next((o, rows) for o, rows in ledger.verdicts(c) if len(rows) >= 2)
    deadline = ledger.local_today(now, c.timezone) + timedelta(days=10)
    fixed, waiting = (ledger.from_verdict(c, sid, outcome, admin, deadline, now=now) for sid, _label in listed[:2])
    ledger.transition(fixed, "in_progress", admin, now=now + timedelta(days=1))
    ledger.transition(fixed, "done", admin, note="已整改", now=now + timedelta(days=5))
    db.session.commit()
    later = now + timedelta(days=20)  # past the deadline: ``waiting`` is overdue
    assert ledger_figures(c.id, now + timedelta(days=6)) == LedgerFigures(2, 0, 1, 1)  # waiting: not yet due
    figures = ledger_figures(c.id, later)
    assert (figures.items, figures.overdue, figures.on_time, figures.due) == (2, 1, 1, 2)
    assert figures.on_time_share == 0.5

    # the next round on the same forms: everyone 满意 now
    bw = build(world, like=BallotWorld(c.id, [], [], []), name="第二轮评议")
    vote(world, bw, bw.own, [0] * len(bw.own))
    close_and_count(world, bw)
    with tenant_context(world.a.id):
        second = db.session.get(Campaign, bw.campaign_id)
        prev, rows = followthrough.follow_up(second, later)
        assert prev.id == c.id
        by_label = {r.subject.label: r for r in rows}
        assert set(by_label) == {label for _sid, label in listed[:2]}
        states = sorted((e.state, e.overdue) for r in rows for e in r.items)
        assert states == [("done", False), ("open", True)]
        assert all(r.subject.trend is not None and r.subject.trend.direction == "up" for r in rows)

    client = unbatched.test_client()
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").text
    assert page.count('data-testid="follow-up"') == 1 and "已完成" in page
    assert "回头看" not in page.split("</title>")[0]
    assert all(label in page for _sid, label in listed[:2])

    with tenant_context(world.a.id):
        cp.transition(db.session.get(Campaign, c.id), "publish")
        db.session.commit()
    client.get("/logout")
    login(client, world.county_admin)
    row = client.get("/t/county/oversight/").text
    assert "2 项" in row and "按期完成 100.0%" in row  # today: only the finished item is due
    # the roll-up through the unit tree counts each subtree's items (the root: both)
    rollup = client.get(f"/t/county/oversight/alpha/campaigns/{c.id}").text
    assert f'<tr data-unit="{world.a.root}">' in rollup
    root_row = rollup.split(f'<tr data-unit="{world.a.root}">')[1].split("</tr>")[0]
    assert '<td data-testid="unit-ledger">2</td>' in root_row
