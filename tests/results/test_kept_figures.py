"""The figures a closed campaign's results page reads from what the tally keeps: the verdicts
the database picks from each subject's kept sums are those ``rules.evaluate`` gives when every
subject is judged in Python (exact fractions, boundaries included), and the lowest subjects
come in the same order as a sort of every subject."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from sqlalchemy import delete, select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Subject, TallySubject, Unit
from pingyi.org import orgtree
from pingyi.results import dashboard as rs
from pingyi.results import live_view as lv
from pingyi.results import tally as tl
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote

pytestmark = pytest.mark.dates

# (answers, satisfied, lowest): exactly 60 %, 1/3, 2/3 and 1/2 among them, and either side of each
EDGES = [(5, 3, 0), (5, 2, 2), (3, 1, 1), (3, 2, 2), (6, 2, 3), (9, 6, 3), (9, 3, 6), (10, 5, 4), (4, 2, 2),
         (15, 9, 5), (15, 8, 6), (12, 7, 4), (12, 8, 5), (1, 0, 1), (1, 1, 0), (2, 1, 1), (30, 18, 10),
         (30, 17, 11), (7, 7, 0), (8, 0, 8)]


@pytest.fixture
def judged(app, world):
    """A closed campaign with the seeds' rules whose subjects' kept sums are set to ``EDGES``
    (and random ones), as if the tally had stored them."""
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
        close_and_count(world, bw)
        rng = random.Random(7)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            for preset in ("seed001-3", "seed001-5"):
                cp.add_preset(c, preset)
            models = {s.kind: s for s in db.session.execute(select(Subject).where(Subject.campaign_id == c.id)).scalars()}
            root = db.session.get(Unit, world.a.root)
            for i in range(3 * len(EDGES)):  # more subjects of both kinds (labels out of id order: ties sort by label)
                label = f"对象{(i * 7) % 61:02d}"
                unit = orgtree.create_unit(label, root, "branch")
                person = orgtree.create_person(label, unit) if i % 2 else None
                like = models["person" if person else "unit"]
                db.session.add(Subject(campaign_id=c.id, kind=like.kind, unit_id=unit.id,
                                       person_id=person.id if person else None, form_id=like.form_id, label=label,
                                       position=i))
            db.session.flush()
            subjects = db.session.execute(select(Subject.id, Subject.kind).where(Subject.campaign_id == c.id)
                                          .order_by(Subject.id)).all()
            db.session.execute(delete(TallySubject).where(TallySubject.campaign_id == c.id))
            sums = {}
            for i, (sid, _kind) in enumerate(subjects):
                total, sat, low = EDGES[i % len(EDGES)] if i < 2 * len(EDGES) else _random(rng)
                sums[sid] = tl.Figures(total, sat, low)
                db.session.add(TallySubject(campaign_id=c.id, subject_id=sid, total=total, satisfied=sat, lowest=low,
                                            rate=sat / total))
            db.session.commit()
            yield c.id, dict(subjects), sums


def _random(rng: random.Random) -> tuple[int, int, int]:
    total = rng.randint(1, 40)
    sat = rng.randint(0, total)
    return total, sat, rng.randint(0, total - sat)


def test_verdicts_picked_in_sql_are_those_every_subject_judged_in_python_gets(app, world, judged):
    campaign_id, kinds, sums = judged
    assert len(kinds) >= 2 * len(EDGES)  # every edge case is some subject's, of either kind
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        specs = [s for s in cp.rule_specs(c) if s.metric != "turnout"]
        expected = tl.verdicts(tl.TallyResult({}, sums, {}, {}, {}), specs, kinds)
        got = rs.by_verdict(c, lv.view_of(c))
        by_outcome: dict[str, set[int]] = {}
        for sid, rules in expected.items():
            for spec in rules:
                by_outcome.setdefault(spec.outcome, set()).add(sid)
        assert {outcome: {r.id for r in rows} for outcome, _sev, rows in got} == by_outcome
        assert sum(len(v) for v in by_outcome.values()) > 10  # the edges did hit, on both sides
        half = next(s for s, f in sums.items() if (f.total, f.satisfied) == (5, 3))
        assert half not in by_outcome["限期整改，本年度不得评先评优"]  # exactly 60 % is not "低于60%"


def test_lowest_subjects_are_the_bottom_of_every_subject_sorted(app, world, judged):
    campaign_id, _kinds, sums = judged
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        labels = dict(db.session.execute(select(Subject.id, Subject.label).where(Subject.campaign_id == c.id)).all())
        expected = sorted(sums, key=lambda s: (Fraction(sums[s].satisfied, sums[s].total), labels[s], s))[:10]
        got = rs.lowest_subjects(c, lv.view_of(c))
        assert [r.id for r in got] == expected
        assert [r.figures.satisfied_share for r in got] == [sums[s].satisfied_share for s in expected]
