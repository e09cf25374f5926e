"""Live tallies and roll-ups on stored data: incremental runs equal a full recount, a ballot
cast during a run is counted exactly once, subtree figures computed by hand, oversight reads
only published totals, and the debounced job on a real RQ worker."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from fractions import Fraction as F

import pytest
from sqlalchemy import select, text

from pingyi.extensions import db
from pingyi.models import (
    Answer,
    Ballot,
    Campaign,
    Comment,
    Scale,
    ScaleChoice,
    Subject,
    TallyBallots,
    TallyItem,
    TallyRun,
    TallySubject,
    Tenant,
)
from pingyi.results import live, live_view, rollup, tally
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import ballots, mixer
from tests import servers
from tests.ballot_world import build, close_and_count, full_answers, vote

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _kept(campaign_id: int):
    """What the tally keeps beside the cells: subjects' sums, ballots per cell and per category,
    answers per item × category × choice."""
    subjects = sorted((*r[:4], round(r[4], 12)) for r in db.session.execute(select(
        TallySubject.subject_id, TallySubject.total, TallySubject.satisfied, TallySubject.lowest, TallySubject.rate)
        .where(TallySubject.campaign_id == campaign_id)).all())
    cells = sorted(tuple(r) for r in db.session.execute(select(
        TallyBallots.subject_id, TallyBallots.category_id, TallyBallots.unit_id, TallyBallots.ballots)
        .where(TallyBallots.campaign_id == campaign_id)).all())
    run = db.session.execute(select(TallyRun).where(TallyRun.campaign_id == campaign_id)).scalar_one()
    items = sorted(tuple(r) for r in db.session.execute(select(
        TallyItem.item_id, TallyItem.category_id, TallyItem.choice_id, TallyItem.count)
        .where(TallyItem.campaign_id == campaign_id)).all())
    return subjects, cells, {int(k): n for k, n in run.category_ballots.items()}, items


def _kept_by_hand(campaign_id: int):
    """The same, from the answers, comments and ballots themselves, in Python."""
    result, _kinds = tally.tally_campaign(campaign_id)
    subjects = sorted((s, f.total, f.satisfied, f.lowest, round(f.satisfied / f.total, 12))
                      for s, f in result.by_subject.items())
    unit_of = dict(db.session.execute(select(Ballot.id, Ballot.unit_id).where(Ballot.campaign_id == campaign_id)).all())
    rows = {*db.session.execute(select(Answer.subject_id, Answer.category_id, Answer.ballot_id)
                                .where(Answer.campaign_id == campaign_id)).all(),
            *db.session.execute(select(Comment.subject_id, Comment.category_id, Comment.ballot_id)
                                .where(Comment.campaign_id == campaign_id)).all()}
    cells = Counter((s, k, unit_of[b]) for s, k, b in rows)
    per_category = Counter(k for k, _b in {(k, b) for _s, k, b in rows})
    items = Counter()
    for _subject, item, choice, category, n in tally.count_rows(campaign_id):
        items[(item, category, choice)] += n
    return (subjects, sorted((*key, n) for key, n in cells.items()), dict(per_category),
            sorted((*key, n) for key, n in items.items()))


def _snapshot(campaign_id: int):
    run = db.session.execute(select(TallyRun).where(TallyRun.campaign_id == campaign_id)).scalar_one()
    totals = (run.ballots, run.answers, *(getattr(run, n) for n in rollup.Figures.COUNTS))
    return sorted(tally.stored_rows(campaign_id)), rollup.stored_subtrees(campaign_id), totals, _kept(campaign_id)


def test_incremental_runs_equal_a_full_recount(app, world, monkeypatch, unbatched):
    monkeypatch.setattr(live, "update_now", lambda *_args: None)  # batches by hand here
    rng = random.Random(5)
    with app.app_context():
        bw = build(world)
        links = bw.own + bw.group + bw.other_branch
        for i, batch in enumerate((links[:1], links[1:4], [], links[4:])):
            vote(world, bw, batch, [rng.randrange(4) for _ in batch], comment="意见" if i % 2 else "")
            with tenant_context(world.a.id):
                mixer.mix(bw.campaign_id)
                tally.update(bw.campaign_id)
                db.session.commit()
                incremental = _snapshot(bw.campaign_id)
                assert incremental[0] == sorted(tally.count_rows(bw.campaign_id))  # every ballot, once
                assert incremental[3] == _kept_by_hand(bw.campaign_id)
                # the run looked only at the subjects it changed: a look at all finds nothing more due
                assert live_view.refresh(bw.campaign_id, 10_000) == 0
                tally.recount(bw.campaign_id)
                assert _snapshot(bw.campaign_id) == incremental
                db.session.rollback()  # keep the incremental state for the next batch
        assert incremental[2][0] == len(links)
        with tenant_context(world.a.id):
            assert db.session.execute(select(TallyRun.full).where(TallyRun.campaign_id == bw.campaign_id)) \
                .scalar_one() is False


def test_a_ballot_cast_during_a_recount_is_counted_exactly_once(app, world, database, monkeypatch, unbatched):
    """PostgreSQL: the ballot is cast and mixed (k = 1) between the recount's claim and its
    count and is left to the next run. SQLite: it cannot be cast at all until the recount ends
    (one writer)."""
    monkeypatch.setattr(live, "update_now", lambda *_args: None)
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
        with tenant_context(world.a.id):
            mixer.mix(bw.campaign_id)
            state = ballots.resolve(bw.own[2].secret)
            subjects = ballots.subjects_for(state.token, state.category)
            late = ballots.parse(full_answers(world, bw, bw.own[2].secret, 1), subjects, ballots.forms_of(subjects))
    outcome = {}

    def cast_elsewhere():
        with app.app_context(), tenant_context(world.a.id):
            if database[0] == "sqlite":
                db.session.execute(text("PRAGMA busy_timeout=1000"))  # give up on the lock after 1 s
            try:
                ballots.cast(bw.own[2].secret, late)
                outcome["cast"] = mixer.mix(bw.campaign_id) == 1
            except Exception as exc:  # SQLite: database is locked
                outcome["error"] = str(exc)

    claim = tally._claim

    def claim_then_race(campaign_id):
        n = claim(campaign_id)
        t = threading.Thread(target=cast_elsewhere)
        t.start()
        t.join(timeout=30)
        return n

    monkeypatch.setattr(tally, "_claim", claim_then_race)
    with app.app_context(), tenant_context(world.a.id):
        run = tally.recount(bw.campaign_id)
        db.session.commit()
        if database[0] == "postgresql":
            assert outcome == {"cast": True}
            assert run.ballots == 2  # the late ballot waits for the next run …
            monkeypatch.setattr(tally, "_claim", claim)
            run = tally.update(bw.campaign_id)
            db.session.commit()
            assert run.ballots == 3  # … and is counted once
        else:
            assert "locked" in outcome["error"]
            assert run.ballots == 2
        assert sorted(tally.stored_rows(bw.campaign_id)) == sorted(tally.count_rows(bw.campaign_id))


def _choice(form_id: int, position: int) -> int:
    return db.session.execute(select(ScaleChoice.id).join(Scale, Scale.id == ScaleChoice.scale_id).where(
        Scale.form_id == form_id, ScaleChoice.position == position)).scalar_one()


def test_roll_up_through_the_unit_tree(app, world):
    """Hand count. Org form: 5 rating items, member form: 3. An own-unit ballot rates its branch
    and its one member (8 answers); a 全评 ballot rates both branches and both members (16).
    Four ballots (< k) wait in the box until the campaign closes."""
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))  # 满意, 不满意 about 采煤一队
        vote(world, bw, bw.other_branch[:1], (1,))  # 比较满意 about 机关
        vote(world, bw, bw.group[:1], (2,))  # 不太满意 about all four subjects
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            subtrees = rollup.stored_subtrees(bw.campaign_id)
            org_form, member_form = (db.session.execute(select(Subject.form_id).where(
                Subject.campaign_id == bw.campaign_id, Subject.kind == k)).scalars().first() for k in ("unit", "person"))
            c = {(f, p): _choice(f, p) for f in (org_form, member_form) for p in range(4)}
    branch = subtrees[world.a.branch]
    assert (branch.subjects, branch.rated, branch.issued, branch.used) == (2, 2, 5, 2)
    assert (branch.valid, branch.satisfied, branch.lowest) == (24, 8, 8)
    assert branch.by_choice == {c[(org_form, 0)]: 5, c[(member_form, 0)]: 3, c[(org_form, 3)]: 5,
                                c[(member_form, 3)]: 3, c[(org_form, 2)]: 5, c[(member_form, 2)]: 3}
    assert subtrees[world.a.committee] == branch  # the committee's subtree is that branch
    other = subtrees[world.a.other_branch]
    assert (other.subjects, other.rated, other.issued, other.used, other.valid, other.satisfied, other.lowest) == \
        (2, 2, 2, 1, 16, 8, 0)
    root = subtrees[world.a.root]
    assert (root.subjects, root.rated, root.issued, root.used, root.valid, root.satisfied, root.lowest) == \
        (4, 4, 9, 4, 40, 16, 8)
    assert (root.coverage, root.turnout, root.satisfied_share) == (1, F(4, 9), F(2, 5))
    assert sum(root.by_choice.values()) == root.valid


def test_live_tally_in_process_follows_the_mixer(app, world):
    """No Redis: after each ballot's commit the mixer runs and, once k ballots wait in the box,
    moves them and the increment counts them; fewer wait until the next batch or the close."""
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:4], (0, 3, 1, 2))
        with tenant_context(world.a.id):
            assert db.session.execute(select(TallyRun)).first() is None and mixer.waiting(bw.campaign_id) == 4
        vote(world, bw, bw.own[4:5], (0,))  # the k-th
        with tenant_context(world.a.id):
            first = _snapshot(bw.campaign_id)
            assert first[2][0] == 5 and first[0] == sorted(tally.count_rows(bw.campaign_id))
            assert mixer.waiting(bw.campaign_id) == 0
        vote(world, bw, bw.group[:2], (3, 1))
        with tenant_context(world.a.id):
            assert _snapshot(bw.campaign_id) == first and mixer.waiting(bw.campaign_id) == 2
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            assert _snapshot(bw.campaign_id)[2][0] == 7 and mixer.waiting(bw.campaign_id) == 0


def test_a_failing_live_tally_never_loses_the_ballot(app, world, monkeypatch):
    def broken(campaign_id):
        raise RuntimeError("tally down")

    monkeypatch.setattr(tally, "update", broken)
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0,) * 5)
        with tenant_context(world.a.id):
            assert tally.count_rows(bw.campaign_id)  # moved out of the box; counted by the next run
            assert db.session.execute(select(TallyRun)).first() is None
        monkeypatch.setattr(mixer, "mix", broken)
        vote(world, bw, bw.group[:1], (3,))
        with tenant_context(world.a.id):
            assert mixer.waiting(bw.campaign_id) == 1  # the mixer failed: the ballot stays in the box


def test_live_tallies_are_debounced_into_one_job_on_a_real_worker(rq_app, world, database):
    from rq.registry import ScheduledJobRegistry

    from pingyi.queue import get_queue, redis_connection

    app = rq_app
    app.config["LIVE_TALLY_DELAY"] = 0.5
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0, 1, 3, 2, 0))
        queue = get_queue("tally")
        assert ScheduledJobRegistry(queue=queue).count == 1  # k ballots, one job
        key = live.pending_key(world.a.id, bw.campaign_id)
        assert redis_connection().exists(key)
        with tenant_context(world.a.id):
            assert db.session.execute(select(TallyRun)).first() is None  # not counted here
    time.sleep(0.6)
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL,
           "PINGYI_RQ_PREFIX": app.config["RQ_PREFIX"], "SECRET_KEY": "test"}
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "worker", "--burst", "--queues", "tally"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with app.app_context():
        assert not redis_connection().exists(key)  # the next ballot schedules the next run
        with tenant_context(world.a.id):
            rows, _subtrees, totals, _kept_now = _snapshot(bw.campaign_id)
            assert totals[0] == 5 and rows == sorted(tally.count_rows(bw.campaign_id))
            assert mixer.waiting(bw.campaign_id) == 0  # the worker's job mixed them
        vote(world, bw, bw.group[:1], (2,))
        assert ScheduledJobRegistry(queue=get_queue("tally")).count == 1


@pytest.mark.parametrize("n", [0, 1])
def test_update_without_new_ballots_changes_nothing_but_the_version(app, world, n):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:n], (0,) * n)
        with tenant_context(world.a.id):
            tally.update(bw.campaign_id)
            db.session.commit()
            before = _snapshot(bw.campaign_id)
            run = tally.update(bw.campaign_id)
            db.session.commit()
            assert _snapshot(bw.campaign_id) == before and run.full is False


def test_deleting_a_campaign_deletes_its_counts(app, world):
    """tally_counts has no foreign keys (a cold tally writes millions of cells); a trigger on
    campaigns removes them, also when the whole tenant goes."""
    from sqlalchemy import delete, func

    from pingyi.models import TallyCount

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0, 3, 0, 3, 0))
        vote(world, bw, bw.group[:1], (1,))  # one more waits in the box
        with tenant_context(world.a.id):
            assert db.session.execute(select(func.count()).select_from(TallyCount)).scalar() > 0
            db.session.execute(delete(Campaign).where(Campaign.id == bw.campaign_id))
            db.session.commit()
        with unscoped():
            assert db.session.execute(text("SELECT COUNT(*) FROM tally_counts")).scalar() == 0
            assert db.session.execute(text("SELECT COUNT(*) FROM ballot_box")).scalar() == 0


def test_bench_tally_prints_one_json_line_and_cleans_up(app):
    """A small run of `pingyi bench tally`: the generator's counts are what the tally stored
    (the bench asserts it), the figures are all there, and the scratch tenant is gone."""
    import json

    from pingyi.cli import main

    r = app.test_cli_runner().invoke(main, ["bench", "tally", "--answers", "3000", "--repeat", "1"])
    assert r.exit_code == 0, r.output
    figures = json.loads(r.output.strip().splitlines()[-1])
    assert figures["answers"] >= 3000 and figures["ballots"] > 0 and figures["branches"] >= 1
    assert {"tally_s", "rollup_s", "raw_groupby_s", "ratio", "cold_tally_s", "cold_ratio", "subject_page_s",
            "subject_table_all_s", "results_page_s"} <= set(figures)
    assert figures["ratio"] > 0 and figures["raw_groupby_s"] > 0
    with app.app_context(), unscoped():
        assert db.session.execute(text("SELECT COUNT(*) FROM answers")).scalar() == 0
        assert db.session.execute(select(Tenant).where(Tenant.slug.like("bench-%"))).first() is None


def test_bench_generator_matches_the_seed_at_its_scale():
    from bench.tally import seed_pattern, shape

    assert len(seed_pattern()) == 349
    assert sum(m for m, _b in seed_pattern()) == 4720 and sum(b for _m, b in seed_pattern()) == 4378
    big = shape(1_000_000)
    assert sum(b * (5 + 3 * m) for m, b in big) >= 1_000_000 > sum(b * (5 + 3 * m) for m, b in big[:-1])
