"""What an open campaign may show (``results.live_view``): turnout only unless live results are
on; then each subject × item from a snapshot that appears at k ballots and moves only in steps
of k, summed into subjects, items across subjects and units; full figures once closed; a unit
admin's view summed over their subtree only. Ballots go through the real cast path (with its
live tally), on SQLite and PostgreSQL."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, Subject, Unit
from pingyi.reports import registry
from pingyi.results import dashboard as rs
from pingyi.results import live_view as lv
from pingyi.results import tally
from pingyi.tenancy import tenant_context
from pingyi.voting import mixer
from tests.ballot_world import build, close_and_count, vote

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

K = 5  # the default MIN_CELL


def _subject(world, bw, unit_id: int, kind: str = "unit") -> int:
    with tenant_context(world.a.id):
        return db.session.execute(select(Subject.id).where(
            Subject.campaign_id == bw.campaign_id, Subject.kind == kind, Subject.unit_id == unit_id)).scalar_one()


def _live(world, bw, by: str = "subject", within: str | None = None) -> dict:
    """Figures as an open campaign with live results shows them (the snapshot)."""
    with tenant_context(world.a.id):
        _kinds, infos = tally.subject_facts(bw.campaign_id)
        return lv.figures(bw.campaign_id, by, infos, lv.View(lv.LIVE, within))


def _set_live(world, bw, on: bool) -> Campaign:
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        lv.set_live_results(c, on)
        db.session.commit()
        return c


def test_a_subject_shows_from_k_ballots_and_moves_in_steps_of_k(app, world):
    with app.app_context():
        bw = build(world, links=12)
        _set_live(world, bw, True)
        branch = _subject(world, bw, world.a.branch)
        seen = []
        for i, link in enumerate(bw.own[:11]):
            vote(world, bw, [link], [0 if i < K else 3])  # 5 × 满意, then 不满意
            f = _live(world, bw).get(branch)
            seen.append(None if f is None else (f.total, f.satisfied_share))
        items = 5  # the org form's rating items, each answered by every ballot
        assert seen[:K - 1] == [None] * (K - 1)  # nothing until k ballots
        assert seen[K - 1:2 * K - 1] == [(K * items, F(1))] * K  # shown at k, unchanged for k − 1 more
        assert seen[2 * K - 1:] == [(2 * K * items, F(1, 2))] * 2  # moved at 2k, not at 2k + 1
        with tenant_context(world.a.id):
            stored = tally.stored_figures(bw.campaign_id, "subject", tally.subject_facts(bw.campaign_id)[1])
        assert stored[branch].total == 10 * items  # the tally counted every ballot the mixer moved …
        with tenant_context(world.a.id):
            assert mixer.waiting(bw.campaign_id) == 1  # … the 11th waits in the box for the next k


def test_each_subject_steps_on_its_own_ballots(app, world):
    """A batch of k ballots may hold one ballot about a subject: that subject stays hidden, and
    the figures across subjects (items, units, totals) sum the shown subjects only."""
    with app.app_context():
        bw = build(world, links=6)
        c = _set_live(world, bw, True)
        vote(world, bw, bw.own[:K - 1] + bw.group[:1], [0] * (K - 1) + [3])  # 4 群众 + 1 全评
        branch, other = _subject(world, bw, world.a.branch), _subject(world, bw, world.a.other_branch)
        shown = _live(world, bw)
        assert branch in shown and shown[branch].total == K * 5 and shown[branch].lowest == 5  # the 全评 ballot's
        assert other not in shown  # one ballot about 机关党支部: hidden, though it came in a batch of k
        with tenant_context(world.a.id):
            r = rs.campaign_results(db.session.get(Campaign, c.id), None)
            assert r.view == lv.LIVE and r.categories == []  # no breakdown by category while open
            # each item across subjects: 采煤一队 (or 王伟) alone, 5 ballots; 机关党支部 and 李娜 left out
            assert r.items and all(it.figures.total == K for it in r.items)
            units = {u.unit.id: u for u in r.units}
            assert units[world.a.other_branch].figures.valid == 0  # its one ballot is not in any sum
            assert units[world.a.other_branch].figures.rated == 0 and units[world.a.branch].figures.rated == 2
            assert units[world.a.root].figures.valid == r.total.valid == sum(f.total for f in shown.values())
            assert all(not u.distribution for u in r.units)  # no per-unit choice figures while open
            assert not any(s.id == other for _o, _sev, rows in r.verdicts for s in rows)


def test_live_results_off_shows_turnout_only(app, world):
    with app.app_context():
        bw = build(world, links=12)
        vote(world, bw, bw.own[:10], [3] * 10)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            assert lv.mode(c) == lv.TURNOUT
            r = rs.campaign_results(c, None)
            assert (r.view, r.items, r.verdicts, r.categories, r.lowest_subjects, r.distribution) == \
                (lv.TURNOUT, [], [], [], [], [])
            assert (r.total.used, r.total.valid, r.total.rated, r.total.satisfied) == (10, 0, 0, 0)
            assert all((u.figures.valid, u.figures.rated, u.distribution) == (0, 0, []) for u in r.units)
            assert all(ln.figures.total == 0 for ln in rs.subject_lines(c))
            s = db.session.get(Subject, _subject(world, bw, world.a.branch))
            d = rs.subject_detail(c, s)
            assert d.figures.total == 0 and all(i.figures.total == 0 for i in d.items)
            assert (d.categories, d.opinions) == ([], [])
            with pytest.raises(DomainError, match="评议进行中"):
                registry.check(c, "tally", "xlsx")
        # the snapshot is kept all along: turning live results on shows what k-steps allow, at once
        _set_live(world, bw, True)
        assert _live(world, bw)[_subject(world, bw, world.a.branch)].total == 10 * 5


def test_closed_campaigns_show_the_full_tally(app, world):
    with app.app_context():
        bw = build(world, links=6)
        _set_live(world, bw, True)
        vote(world, bw, bw.own[:3] + bw.group[:1], (0, 1, 3, 2), comment="意见")
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            result, _kinds = tally.stored_result(c.id)
            r = rs.campaign_results(c, None)
            assert r.view == lv.FULL and r.categories  # categories (suppressed below k) are back
            assert {it.id: it.figures.total for it in r.items} == {i: f.total for i, f in result.by_item.items()}
            s = db.session.get(Subject, _subject(world, bw, world.a.branch))
            d = rs.subject_detail(c, s)
            assert d.figures.total == result.by_subject[s.id].total == 4 * 5 and d.opinions
            registry.check(c, "tally", "xlsx")  # reports again


def test_a_unit_admin_sees_their_subtree_only(app, world):
    with app.app_context():
        bw = build(world, links=6)
        vote(world, bw, bw.own[:3], (0, 0, 3))
        vote(world, bw, bw.group[:2], (3, 3))  # rate every subject, 机关党支部 and 李娜 too
        vote(world, bw, bw.other_branch[:2], (1, 1))
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            committee = db.session.get(Unit, world.a.committee)  # the unit admin's: 一矿党委 → 采煤一队党支部
            inside = set(db.session.execute(select(Subject.id).where(
                Subject.campaign_id == c.id, Subject.unit_id == world.a.branch)).scalars())
            result, _kinds = tally.stored_result(c.id)
            r = rs.campaign_results(c, None, committee.path)
            assert {u.unit.id for u in r.units} == {world.a.committee, world.a.branch}
            assert r.categories == []  # the campaign-wide category table is not theirs
            for it in r.items:  # each item across the subtree's subjects only
                assert it.figures.total == sum(f.total for (s, i), f in result.by_subject_item.items()
                                               if i == it.id and s in inside)
            everywhere = rs.campaign_results(c, None)
            assert sum(it.figures.total for it in r.items) < sum(it.figures.total for it in everywhere.items)
            assert r.total.valid == sum(result.by_subject[s].total for s in inside)
            assert r.ballots == 3  # links used in the subtree (the 全评 links belong to the root)
            assert {s.id for _o, _sev, rows in r.verdicts for s in rows} <= inside
            assert {s.id for s in r.lowest_subjects} == inside
            assert {ln.id for ln in rs.subject_lines(c, within=committee.path)} == inside
