"""Tally math against hand-computed answers and a naive recount; the SQL count stays in its
tenant even when another tenant's rows carry the same campaign id."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pingyi.campaigns import rules
from pingyi.extensions import db
from pingyi.models import Answer
from pingyi.results import live
from pingyi.results.tally import (
    ChoiceInfo,
    percent,
    summarize,
    tally_campaign,
    verdicts,
    weighted_satisfaction,
)
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import ballots
from tests.ballot_world import build, close_and_count, full_answers, vote

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

# one four-level scale: 1 满意, 2 比较满意 (both satisfied), 3 不太满意, 4 不满意 (the lowest)
CHOICES = {1: ChoiceInfo(True, False), 2: ChoiceInfo(True, False), 3: ChoiceInfo(False, False),
           4: ChoiceInfo(False, True)}
A, B = 7, 8  # categories


def test_hand_computed_figures():
    rows = [(10, 100, 1, A, 6), (10, 100, 2, B, 2), (10, 100, 4, A, 2),
            (10, 101, 3, A, 5), (10, 101, 1, B, 5),
            (11, 100, 4, A, 3), (11, 100, 1, A, 1),
            (10, 100, 99, A, 4)]  # an unknown choice (not a rating) is ignored
    r = summarize(rows, CHOICES)
    cell = r.by_subject_item[(10, 100)]
    assert (cell.total, cell.satisfied, cell.lowest) == (10, 8, 2)
    assert (cell.satisfied_share, cell.lowest_share, cell.not_satisfied_share) == (F(4, 5), F(1, 5), F(1, 5))
    assert r.by_subject[10].satisfied_share == F(13, 20)  # (8 + 5) / 20 answers over both items
    assert r.by_item[100].satisfied_share == F(9, 14)  # item 100 across subjects 10 and 11
    assert r.by_subject_category[(10, A)].satisfied_share == F(6, 13)
    assert r.by_category[B].satisfied_share == F(1)
    assert r.by_subject[11].lowest_share == F(3, 4)
    assert r.by_subject_item[(10, 100)].by_choice == {1: 6, 2: 2, 4: 2}


def test_display_rounding_is_one_decimal_half_up():
    assert percent(F(987, 1000)) == "98.7%"
    assert percent(F(9875, 10000)) == "98.8%"  # half up, not to even
    assert percent(F(2, 3)) == "66.7%" and percent(F(1)) == "100.0%" and percent(None) == "—"


def test_weighted_satisfaction():
    r = summarize([(10, 100, 1, A, 6), (10, 100, 4, A, 2), (10, 100, 2, B, 2)], CHOICES)
    assert weighted_satisfaction(r, 10, {A: F(3, 5), B: F(2, 5)}) == F(3, 5) * F(3, 4) + F(2, 5) * 1
    assert weighted_satisfaction(r, 10, {A: F(3, 5), 9: F(2, 5)}) == F(3, 4)  # category 9 rated nothing
    assert weighted_satisfaction(r, 99, {A: F(1)}) is None


def test_verdicts_follow_the_seed_rules():
    specs = rules.PRESETS["seed001-3"]["rules"] + rules.PRESETS["seed003"]["rules"]
    rows = [(1, 100, 1, A, 5), (1, 100, 4, A, 5),  # 50% satisfied, 50% 不满意
            (2, 100, 1, A, 9), (2, 100, 4, A, 1),  # 90% satisfied
            (3, 100, 4, A, 7), (3, 100, 1, A, 3)]  # 70% 不满意
    out = verdicts(summarize(rows, CHOICES), specs, {1: "unit", 2: "unit", 3: "unit", 4: "unit"},
                   turnout={2: F(3, 4), 4: F(1, 2)})
    labels = {s: [r.outcome for r in hits] for s, hits in out.items()}
    assert labels == {1: ["限期整改，本年度不得评先评优", "党支部书记年度考核为基本称职"],
                      2: ["参评率不足80%"],
                      3: ["限期整改，本年度不得评先评优", "党支部书记年度考核为不称职"],
                      4: ["参评率不足80%"]}


answers = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.sampled_from([1, 2, 3, 4]),
                             st.sampled_from([A, B])), max_size=300)


@settings(max_examples=200, deadline=None)
@given(answers, st.integers(0, 300))
def test_summarize_equals_a_naive_recount_in_any_batching(raw, cut):
    """Counting per ballot, or in two batches summed (as an incremental tally would), gives the
    same figures as recounting every answer one by one."""
    def as_rows(items):
        return [(s, i, c, k, n) for (s, i, c, k), n in Counter(items).items()]

    full = summarize(as_rows(raw), CHOICES)
    batched = summarize(as_rows(raw[:cut]) + as_rows(raw[cut:]), CHOICES)
    for s in {a[0] for a in raw}:
        mine = [a for a in raw if a[0] == s]
        satisfied = sum(1 for a in mine if a[2] in (1, 2))
        assert full.by_subject[s].total == batched.by_subject[s].total == len(mine)
        assert full.by_subject[s].satisfied_share == batched.by_subject[s].satisfied_share == F(satisfied, len(mine))
        assert full.by_subject[s].lowest == sum(1 for a in mine if a[2] == 4)


def test_tally_of_real_ballots_stays_in_its_tenant(app, world, unbatched):
    with app.app_context():
        bw = build(world)
        cast = 0
        for link, choice in zip(bw.own[:3], (0, 1, 3), strict=True):
            state = ballots.resolve(link.secret)
            subjects = ballots.subjects_for(state.token, state.category)
            sub = ballots.parse(full_answers(world, bw, link.secret, choice), subjects, ballots.forms_of(subjects))
            ballots.cast(link.secret, sub)
            cast += 1
        live.drain()  # the in-process live tally mixes the boxed ballots (k = 1)
        with unscoped():
            a = db.session.execute(select(Answer).limit(1)).scalar_one()
            subject_id, item_id, category_id, choice_id = a.subject_id, a.item_id, a.category_id, a.choice_id
            # tenant B's rows under the same numeric campaign id must not be counted for A
            db.session.execute(Answer.__table__.insert(), [{
                "ballot_id": f"{i:032x}", "tenant_id": world.b.id, "campaign_id": bw.campaign_id,
                "category_id": category_id, "subject_id": subject_id, "item_id": item_id,
                "choice_id": choice_id} for i in range(50)])
            db.session.commit()
        with tenant_context(world.a.id):
            result, kinds = tally_campaign(bw.campaign_id)
            n_items = db.session.execute(select(func.count(func.distinct(Answer.item_id)))).scalar()
            from pingyi.results import tally

            run = tally.recount(bw.campaign_id)  # the stored path (SQL diff, roll-up) ignores them too
            db.session.commit()
            stored, _kinds = tally.stored_result(bw.campaign_id)
            assert stored.by_subject_item[(subject_id, item_id)].total == cast and run.ballots == cast
    cell = result.by_subject_item[(subject_id, item_id)]
    assert cell.total == cast  # one answer per ballot for this subject and item, B's 50 rows ignored
    assert cell.satisfied_share == F(2, 3)  # 满意, 比较满意, 不满意
    assert cell.lowest_share == F(1, 3)
    assert kinds[subject_id] in ("unit", "person") and n_items >= 5


def test_recount_is_idempotent_and_a_failed_run_keeps_the_previous_tally(app, world, monkeypatch, unbatched):
    import pytest

    from pingyi.models import TallyCount, TallyRun
    from pingyi.results import rollup, tally

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
        with tenant_context(world.a.id):
            run = tally.recount(bw.campaign_id)
            db.session.commit()
            first = sorted(tally.stored_rows(bw.campaign_id))
            assert run.ballots == 2 and run.answers == sum(r[4] for r in first)
            version = run.version  # live tallies already ran after each ballot
            tally.recount(bw.campaign_id)
            db.session.commit()
            assert sorted(tally.stored_rows(bw.campaign_id)) == first  # same rows, next version
            assert db.session.get(TallyRun, bw.campaign_id).version == version + 1
        vote(world, bw, bw.own[2:3], (1,))

        def dies(*args, **kwargs):
            raise RuntimeError("worker killed")

        with tenant_context(world.a.id):
            before = sorted(tally.stored_rows(bw.campaign_id))  # the live tally counted the third ballot
            assert before != first
            monkeypatch.setattr(rollup, "insert_rows", dies)  # dies after replacing the counts
            with pytest.raises(RuntimeError):
                tally.recount(bw.campaign_id)
            db.session.rollback()
            assert sorted(tally.stored_rows(bw.campaign_id)) == before  # the previous tally is intact
            monkeypatch.undo()
            tally.recount(bw.campaign_id)
            db.session.commit()
            result, _ = tally.stored_result(bw.campaign_id)
            live, _ = tally.tally_campaign(bw.campaign_id)
            assert {k: v.total for k, v in result.by_subject.items()} == \
                {k: v.total for k, v in live.by_subject.items()}  # stored == a fresh full count
            assert db.session.get(TallyRun, bw.campaign_id).ballots == 3
            assert db.session.execute(select(func.count()).select_from(TallyCount)).scalar() > 0


def test_tally_command(app, world):
    from pingyi.cli import main

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:4], (0, 0, 1, 3))
    r = app.test_cli_runner().invoke(main, ["tally", "--tenant", "alpha", "--campaign", str(bw.campaign_id),
                                            "--wait"])
    assert r.exit_code == 0, r.output
    assert "评议进行中，未开启实时结果" in r.output and "满意率" not in r.output  # open: turnout only
    with app.app_context():
        close_and_count(world, bw)
    r = app.test_cli_runner().invoke(main, ["tally", "--tenant", "alpha", "--campaign", str(bw.campaign_id),
                                            "--wait"])
    assert re.search(r"第 \d+ 次统计，4 张票", r.output), r.output
    assert "兑现创先争优公开承诺情况满意率 75.0%（4 个回答）" in r.output
    r = app.test_cli_runner().invoke(main, ["tally", "--tenant", "beta", "--campaign", str(bw.campaign_id)])
    assert r.exit_code == 1
