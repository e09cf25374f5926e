"""Links issued and used are counted in one place (``tokens.link_counts``): every page and
figure that shows them agrees with a count made by hand; revoked links count as neither."""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction

import pytest

from pingyi import jobs
from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import Campaign, EvaluatorCategory, Unit, utcnow
from pingyi.org import orgtree
from pingyi.results import turnout
from pingyi.tenancy import tenant_context
from pingyi.voting import issuing, tokens
from pingyi.voting.tokens import Links, link_counts
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _campaign(world, name: str) -> Campaign:
    now = utcnow()
    c = cp.create_campaign(name, now - timedelta(hours=1), now + timedelta(days=3))
    cp.add_subjects_bulk(c, "unit", db.session.get(Unit, world.a.root), q.copy_template("seed002-org"), ["branch"])
    return c


def _world_with_links(world) -> tuple[int, int, int]:
    """Campaign 1: branch × 群众 4 links (2 used, 1 revoked), branch × 党员 2 (1 used),
    other_branch × 群众 2 (both revoked). Campaign 2: branch × 群众 3 (1 used)."""
    with tenant_context(world.a.id):
        c = _campaign(world, "一")
        crowd, members = cp.set_categories(c, [{"name": "群众"}, {"name": "党员"}])
        branch, other = db.session.get(Unit, world.a.branch), db.session.get(Unit, world.a.other_branch)
        a = tokens.issue_links(c, crowd, branch, 4)
        b = tokens.issue_links(c, members, branch, 2)
        tokens.issue_links(c, crowd, other, 2)
        c2 = _campaign(world, "二")
        (crowd2,) = cp.set_categories(c2, [{"name": "群众"}])
        d = tokens.issue_links(c2, crowd2, branch, 3)
        for campaign in (c, c2):
            cp.transition(campaign, "open")  # links are redeemed only while open
        for link in (a[0], a[1], b[0], d[0]):
            assert tokens.redeem("short_hash", tokens.short_hash(link.short_code))
        tokens.revoke(c, short_code=a[3].short_code)
        tokens.revoke(c, unit=other)
        db.session.commit()
        return c.id, c2.id, crowd.id


def test_counts_by_every_grouping_equal_a_count_by_hand(app, world):
    with app.app_context():
        cid, cid2, crowd = _world_with_links(world)
        with tenant_context(world.a.id):
            assert link_counts(cid) == {(): Links(5, 3)}  # 8 issued, 3 revoked; 3 used
            assert link_counts([cid, cid2], ("campaign",)) == {(cid,): Links(5, 3), (cid2,): Links(3, 1)}
            by_unit = link_counts(cid, ("unit",))
            assert by_unit == {(world.a.branch,): Links(5, 3), (world.a.other_branch,): Links(0, 0)}
            by_pair = link_counts(cid, ("unit", "category"))
            assert by_pair[(world.a.branch, crowd)] == Links(3, 2)
            assert Links(3, 2).rate == Fraction(2, 3) and Links().rate is None
            c = db.session.get(Campaign, cid)
            assert tokens.issued_count(c) == 5
            # turnout shows the same figures: the revoked unit with none issued and no rate
            t = turnout.turnout(c)
            assert (t["total"].issued, t["total"].used) == (5, 3)
            rows = {r.id: (r.issued, r.used, r.rate) for r in t["units"]}
            assert rows[world.a.other_branch] == (0, 0, None)
            # the links page's table lists live links only, in tree order
            table = issuing.issued_table(c)
            assert [(r.unit.id, r.category.name, r.links) for r in table] == [
                (world.a.branch, "群众", Links(3, 2)), (world.a.branch, "党员", Links(2, 1))]
        with tenant_context(world.b.id):  # another tenant's count of the same ids is empty
            assert link_counts(cid) == {(): Links(0, 0)}


def test_links_page_table_and_its_jobs_survive_other_campaigns_jobs(app, world):
    """The recent-jobs list filters by campaign before its limit: twelve newer jobs of another
    campaign do not push this campaign's job out."""
    with app.app_context():
        cid, cid2, _crowd = _world_with_links(world)
        with tenant_context(world.a.id):
            mine = jobs.create("issue_links", {"campaign_id": cid})
            for _ in range(12):
                jobs.create("issue_links", {"campaign_id": cid2})
            db.session.commit()
            mine_id = mine.id
            assert [j.id for j in jobs.recent("issue_links", cid)] == [mine_id]
            assert len(jobs.recent("issue_links", cid2)) == 10
    client = app.test_client()
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{cid}/links").text
    assert f"/t/alpha/jobs/{mine_id}" in page
    assert len(re.findall(r"/t/alpha/jobs/\d+\"", page)) == 1
    cells = re.findall(r"<tr><td>([^<]+) <small[^>]*>([^<]+)</small></td><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td></tr>",
                       page)
    assert cells == [("采煤一队党支部", "一矿党委", "群众", "3", "2"), ("采煤一队党支部", "一矿党委", "党员", "2", "1")]


def test_links_page_tells_apart_units_that_share_a_name(app, world):
    """Branches of different mines share names (供应一队党支部 under five committees): each
    keeps its own row and counts, named with its parent; the parents cost no query each."""
    from sqlalchemy import event

    with app.app_context(), tenant_context(world.a.id):
        cid, _cid2, crowd = _world_with_links(world)
        c = db.session.get(Campaign, cid)
        twin = orgtree.create_unit("采煤一队党支部", db.session.get(Unit, world.a.other_branch), "branch")
        tokens.issue_links(c, db.session.get(EvaluatorCategory, crowd), twin, 7)
        db.session.commit()
        db.session.expunge_all()
        seen: list[str] = []
        listen = (db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        event.listen(*listen)
        try:
            table = issuing.issued_table(db.session.get(Campaign, cid))
            named = [(r.unit.name, r.parent_name, r.category.name, r.links.issued) for r in table]
        finally:
            event.remove(*listen)
        assert ("采煤一队党支部", "一矿党委", "群众", 3) in named and ("采煤一队党支部", "机关党支部", "群众", 7) in named
        assert len(seen) == 4  # the campaign, the counts, the units with their parents, the categories
    client = app.test_client()
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{cid}/links").text
    assert re.search(r"采煤一队党支部 <small[^>]*>机关党支部</small></td><td>群众</td><td>7</td>", page)
