"""Casting ballots: link states, what a link may rate, validation, single use, receipts."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Answer, Ballot, BallotToken, BoxedBallot, Campaign, Comment, utcnow
from pingyi.tenancy import current_tenant_id, set_tenant, tenant_context, unscoped
from pingyi.voting import ballots, tokens
from tests import clock
from tests.ballot_world import build, close_and_count, full_answers

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _count(model) -> int:
    with unscoped():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_statuses(ctx, world):
    bw = build(world)
    assert ballots.resolve("x" * 22).status == "unknown"
    assert ballots.resolve("not-a-link").status == "unknown"
    assert ballots.resolve(bw.own[0].secret).status == "ok"
    assert ballots.resolve(tokens.format_code(bw.own[0].short_code).lower()).status == "ok"
    assert ballots.resolve(bw.own[0].secret, clock.far_future()).status == "ended"
    early = utcnow() - timedelta(days=1)
    assert ballots.resolve(bw.own[0].secret, early).status == "not_started"
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        tokens.revoke(c, short_code=bw.own[1].short_code)
        db.session.commit()
    assert ballots.resolve(bw.own[1].secret).status == "revoked"
    sub = ballots.parse(full_answers(world, bw, bw.own[0].secret), *_subjects(bw.own[0].secret))
    ballots.cast(bw.own[0].secret, sub)
    assert ballots.resolve(bw.own[0].secret).status == "used"
    with tenant_context(world.a.id):
        cp.transition(db.session.get(type(c), bw.campaign_id), "close")
        db.session.commit()
    assert ballots.resolve(bw.own[2].secret).status == "ended"


def _subjects(link):
    state = ballots.resolve(link)
    subjects = ballots.subjects_for(state.token, state.category)
    return subjects, ballots.forms_of(subjects)


def test_own_unit_and_group_scopes(ctx, world):
    bw = build(world)
    own, _ = _subjects(bw.own[0].secret)
    assert [s.label for s in own] == ["采煤一队党支部", "王伟（采煤一队党支部）"]
    group, _ = _subjects(bw.group[0].secret)
    assert {s.label for s in group} == {"采煤一队党支部", "机关党支部", "王伟（采煤一队党支部）", "李娜（机关党支部）"}


def test_parse_enforces_required_choices_and_lengths(ctx, world):
    bw = build(world)
    subjects, forms = _subjects(bw.own[0].secret)
    data = full_answers(world, bw, bw.own[0].secret, comment="多听群众意见")
    assert not ballots.parse(data, subjects, forms).errors
    missing = dict(data)
    first = next(k for k in data if k.startswith("a_"))
    del missing[first]
    assert ballots.parse(missing, subjects, forms).errors == {first: "请选择"}
    bad = {**data, first: "999999"}
    assert ballots.parse(bad, subjects, forms).errors == {first: "选项无效"}
    long = {**data, next(k for k in data if k.startswith("c_")): "字" * 501}
    assert list(ballots.parse(long, subjects, forms).errors.values()) == ["不能超过 500 字"]
    other_item = {**data, "a_999_999": "1"}  # fields for subjects the link may not rate are ignored
    assert len(ballots.parse(other_item, subjects, forms).answers) == len(ballots.parse(data, subjects, forms).answers)


def test_cast_boxes_the_ballot_with_a_checkable_receipt_and_closing_counts_it(ctx, world):
    bw = build(world)
    subjects, forms = _subjects(bw.own[0].secret)
    sub = ballots.parse(full_answers(world, bw, bw.own[0].secret, comment="建议多开会"), subjects, forms)
    receipt = ballots.cast(bw.own[0].secret, sub)
    assert len(tokens.normalize_code(receipt)) == 12
    assert (_count(BoxedBallot), _count(Ballot), _count(Answer)) == (1, 0, 0)  # sealed: one ballot < k
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        assert ballots.check_receipt(c, tokens.format_code(receipt).lower()) == "waiting"
    close_and_count(world, bw)
    assert (_count(BoxedBallot), _count(Ballot), _count(Answer), _count(Comment)) == (0, 1, 5 + 3, 2)
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        assert ballots.check_receipt(c, tokens.format_code(receipt).lower()) == "counted"
        assert ballots.check_receipt(c, tokens.new_short_code()) is None
        assert ballots.check_receipt(c, "nonsense") is None
        ballot = db.session.execute(select(Ballot)).scalar_one()
        assert receipt not in ballot.receipt_hash


def test_second_submit_is_refused_and_stores_nothing(ctx, world):
    bw = build(world)
    subjects, forms = _subjects(bw.own[0].secret)
    sub = ballots.parse(full_answers(world, bw, bw.own[0].secret), subjects, forms)
    ballots.cast(bw.own[0].secret, sub)
    with pytest.raises(ballots.AlreadyUsed):
        ballots.cast(bw.own[0].secret, sub)
    with pytest.raises(ballots.AlreadyUsed):
        ballots.cast(bw.own[0].short_code, sub)  # the short code is the same link
    assert _count(BoxedBallot) == 1
    close_and_count(world, bw)
    assert _count(Ballot) == 1 and _count(Answer) == 8


def test_fifty_concurrent_submits_make_exactly_one_ballot(app, world):
    with app.app_context():
        bw = build(world)
        link = bw.own[0].secret
        subjects, forms = _subjects(link)
        payload = full_answers(world, bw, link)
    results, errors = [], []
    barrier = threading.Barrier(50)

    def submit():
        with app.app_context():
            try:
                state = ballots.resolve(link)
                subs = ballots.subjects_for(state.token, state.category)
                fs = ballots.forms_of(subs)
                sub = ballots.parse(payload, subs, fs)
                tenant = current_tenant_id()
                db.session.close()  # give the pooled connection back: all 50 must reach the barrier
                set_tenant(tenant)
                barrier.wait(30)
                results.append(ballots.cast(link, sub))
            except ballots.AlreadyUsed:
                results.append(None)
            except Exception as exc:  # anything else is a failure of the test
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert len(results) == 50 and sum(r is not None for r in results) == 1
    with app.app_context():
        assert _count(BoxedBallot) == 1
        close_and_count(world, bw)
        assert _count(Ballot) == 1 and _count(Answer) == len(ballots.parse(payload, subjects, forms).answers)
        with unscoped():
            used = db.session.execute(select(func.count()).select_from(BallotToken)
                                      .where(BallotToken.used.is_(True))).scalar_one()
        assert used == 1
