"""The sealed ballot box and the mixer, tested as an attacker with database access would: after
ballots cast over HTTP in a known order, nothing stored (no transaction id, no physical order,
no time) ties a ballot to the slip that cast it; batches hold at least k ballots while voting
goes on; nothing is lost or moved twice."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, inspect, select, text

from pingyi.campaigns import lifecycle as cp
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Ballot, BallotToken, BoxedBallot, Campaign
from pingyi.results import live
from pingyi.security import seal
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import ballots, mixer
from tests.ballot_world import build, close_and_count, full_answers, vote
from tests.factories import login
from tests.secrecy import bytes_left, in_physical_order, sharing_xmin, spearman, transactions_on_pages

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

CAST = 200  # |Spearman ρ| of a random order: σ ≈ 1/√199 ≈ 0.07, so 0.3 is > 4σ
BALLOT_SIDE = ("ballots", "answers", "comments", "tally_inbox", "ballot_box")


def _count(model) -> int:
    with unscoped():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _cast_over_http(app, world) -> tuple[int, list[str]]:
    """CAST ballots through the ballot page, one slip after another, a comment on each; the
    campaign closed by its admin's page. Returns the campaign and the receipts in casting order.
    Voting changed nothing on the links but ``used``."""
    with app.app_context():
        bw = build(world, links=CAST)
        forms = [full_answers(world, bw, link.secret, choice_index=i % 4, comment=f"意见{i}")
                 for i, link in enumerate(bw.own)]
        before = _tokens(bw.campaign_id)
    voter, receipts = app.test_client(), []
    for link, data in zip(bw.own, forms, strict=True):
        r = voter.post(f"/b/{link.secret}", data=data)
        assert r.status_code == 200, r.text[:300]
        receipts.append(re.search(r'data-testid="receipt">([^<]+)<', r.text).group(1))
    admin = app.test_client()
    login(admin, world.a.admin)
    assert admin.post(f"/t/alpha/campaigns/{bw.campaign_id}", data={"action": "close"}).status_code == 302
    with app.app_context():
        after = _tokens(bw.campaign_id)
    assert {k: v[:-1] for k, v in after.items()} == {k: v[:-1] for k, v in before.items()}  # only `used` moved
    assert sum(v[-1] for v in after.values()) == CAST and not any(v[-1] for v in before.values())
    return bw.campaign_id, receipts


def _tokens(cid: int) -> dict[int, tuple]:
    """Every column of the campaign's links, ``used`` last."""
    cols = [c for c in BallotToken.__table__.columns if c.name != "used"] + [BallotToken.__table__.c.used]
    with unscoped():
        return {r[0]: tuple(r) for r in db.session.execute(select(*cols).where(BallotToken.campaign_id == cid))}


def _cast_index(receipts: list[str]) -> dict[str, int]:
    """receipt hash → position in the casting order (the attacker's ground truth, from the voters)."""
    from pingyi.voting import tokens

    return {ballots.receipt_hash(tokens.normalize_code(r)): i for i, r in enumerate(receipts)}


def test_nothing_stored_ties_a_ballot_to_its_slip(app, world, database):
    cid, receipts = _cast_over_http(app, world)
    postgres = database[0] == "postgresql"
    with app.app_context():
        assert (_count(BoxedBallot), _count(Ballot)) == (0, CAST)  # everything counted, nothing left in the box
        when = _cast_index(receipts)
        with unscoped():
            ballot_rows = in_physical_order("ballots", "id, receipt_hash")
            by_id = {bid: when[receipt] for bid, receipt in ballot_rows}
            assert len(by_id) == CAST
            rho = {"ballots": spearman(range(CAST), [by_id[bid] for bid, _r in ballot_rows]),
                   "ids": spearman([bid for bid, _r in ballot_rows], [by_id[b] for b, _r in ballot_rows])}
            for table in ("answers", "comments"):
                rows = [bid for (bid,) in in_physical_order(table, "ballot_id")]
                assert set(rows) == set(by_id)
                rho[table] = spearman(range(len(rows)), [by_id[bid] for bid in rows])
        assert all(abs(r) < 0.3 for r in rho.values()), rho  # not by place, not by id

        # no time on a ballot, in the box or on a link's use; a link's times are its issuing's
        insp = inspect(db.engine)
        for table in ("ballots", "answers", "comments", "ballot_box"):
            kinds = [str(c["type"]).upper() for c in insp.get_columns(table)]
            assert not [k for k in kinds if "DATE" in k or "TIME" in k], (table, kinds)
        token_times = {c["name"] for c in insp.get_columns("ballot_tokens")
                       if "DATE" in str(c["type"]).upper() or "TIME" in str(c["type"]).upper()}
        assert token_times == {"issued_at", "revoked_at"}  # set by the admin; voting changes neither

        if postgres:
            _no_shared_transaction(cid)


def _no_shared_transaction(cid: int) -> None:
    """PostgreSQL: no live row on the ballot side shares a transaction with a link, and no row
    of the ballot tables, live or dead (read off the heap pages themselves, as a superuser
    could), was written or deleted by a transaction that redeemed a link."""
    with unscoped():
        assert {t: sharing_xmin(t, "ballot_tokens") for t in BALLOT_SIDE} == dict.fromkeys(BALLOT_SIDE, 0)
        redeeming = set(db.session.execute(text(
            "SELECT xmin::text FROM ballot_tokens WHERE campaign_id = :c AND used"), {"c": cid}).scalars())
        assert len(redeeming) == CAST  # one transaction per slip
        # the box's dead rows may keep a redeeming transaction's id until VACUUM gets to them
        # (a concurrent transaction holds it back), but what they hold is sealed:
        # test_no_byte_of_the_box_matches_a_ballot. No other table was ever written by one.
        tables = [t for t in BALLOT_SIDE if t != "ballot_box"]
        touched = {t: len(transactions_on_pages(t) & redeeming) for t in tables}
        assert touched == dict.fromkeys(tables, 0), touched
        db.session.commit()


def test_batches_hold_at_least_k_while_open_and_the_rest_moves_at_the_close(app, world):
    """k = 5: after each of 12 ballots the tables hold 0, 5 or 10 of them, the box the others;
    every moved ballot has a new id; closing moves the last 2."""
    with app.app_context():
        bw = build(world, links=12)
        seen, box_ids = [], set()
        for i in range(12):
            with unscoped():
                box_ids |= set(db.session.execute(select(BoxedBallot.id)).scalars())
            vote(world, bw, bw.own[i:i + 1], (i % 4,))
            with unscoped():
                box_ids |= set(db.session.execute(select(BoxedBallot.id)).scalars())
            seen.append((_count(Ballot), _count(BoxedBallot)))
        assert [b for b, _w in seen] == [0] * 4 + [5] * 5 + [10] * 3
        assert all(b + w == i + 1 for i, (b, w) in enumerate(seen))
        close_and_count(world, bw)
        assert (_count(Ballot), _count(BoxedBallot)) == (12, 0)
        with unscoped():
            assert not set(db.session.execute(select(Ballot.id)).scalars()) & box_ids


def test_concurrent_mixers_move_each_ballot_once(app, world, monkeypatch):
    monkeypatch.setattr(live, "update_now", lambda *_args: None)  # the mixers below, nothing else
    with app.app_context():
        bw = build(world, links=10)
        vote(world, bw, bw.own, [0] * 10)
        assert _count(BoxedBallot) == 10
    moved, errors, barrier = [], [], threading.Barrier(4)

    def mixer_thread():
        with app.app_context(), tenant_context(world.a.id):
            try:
                barrier.wait(10)
                moved.append(mixer.mix(bw.campaign_id))
            except Exception as exc:  # SQLite: the losers may find the database locked
                errors.append(str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=mixer_thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(moved) == 10 and sorted(moved)[-1] == 10, (moved, errors)  # one batch took them all
    assert all("locked" in e for e in errors), errors
    with app.app_context():
        assert (_count(Ballot), _count(BoxedBallot)) == (10, 0)


def test_a_ballot_boxed_after_the_close_is_sealed_in(app, world):
    """A submit racing the close can commit its box row after the close committed: the closing
    job (which waits for ballots in flight, ``mixer.settle``) takes it in before sealing; until
    then the campaign cannot be published with a ballot outside the count."""
    from pingyi.results import tally
    from pingyi.verification import check

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
        with tenant_context(world.a.id):
            cp.transition(db.session.get(Campaign, bw.campaign_id), "close")
            db.session.commit()
            late = {"category_id": cp.categories(db.session.get(Campaign, bw.campaign_id))[0].id,
                    "unit_id": world.a.branch}
            db.session.execute(BoxedBallot.__table__.insert(), [{
                "id": "f" * 32, "tenant_id": world.a.id, "campaign_id": bw.campaign_id, "receipt_hash": "e" * 64,
                "sealed": seal({**late, "paper": False, "receipt_hash": "d" * 64, "receipt": "LATE00000001",
                               "answers": [], "comments": []},
                               ballots.BOX_SEAL)}])
            db.session.commit()
            with pytest.raises(DomainError, match="密封票箱"):  # not published with a ballot outside the count
                cp.transition(db.session.get(Campaign, bw.campaign_id), "publish")
            db.session.rollback()
            tally.after_transition(db.session.get(Campaign, bw.campaign_id))  # the closing job
            live.drain()
            assert (mixer.waiting(bw.campaign_id), _count(Ballot)) == (0, 3)
            c = db.session.get(Campaign, bw.campaign_id)
            assert c.seal_digest and check.database(c).ok
            cp.transition(c, "publish")
            db.session.commit()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # SQLite: one writer, nothing in flight
def test_the_closing_job_waits_for_a_ballot_in_flight(app, world):
    """PostgreSQL: a box row whose transaction is still open when the closing job starts (a
    submit that began before the close) is waited for and sealed in, not left behind."""
    from pingyi.results import tally

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            category = cp.categories(c)[0].id
            cp.transition(c, "close")
            db.session.commit()
        in_flight = db.engine.connect()
        tx = in_flight.begin()
        in_flight.execute(BoxedBallot.__table__.insert(), [{
            "id": "f" * 32, "tenant_id": world.a.id, "campaign_id": bw.campaign_id, "receipt_hash": "e" * 64,
            "sealed": seal({"category_id": category, "unit_id": world.a.branch, "paper": False,
                            "receipt_hash": "d" * 64, "receipt": "LATE00000000", "answers": [], "comments": []},
                           ballots.BOX_SEAL)}])
        done = threading.Event()

        def closing():
            with app.app_context(), tenant_context(world.a.id):
                tally.after_transition(db.session.get(Campaign, bw.campaign_id))
                live.drain()
                done.set()

        job = threading.Thread(target=closing)
        job.start()
        assert not done.wait(2), "the closing job must wait for the ballot in flight"
        tx.commit()
        in_flight.close()
        job.join(60)
        assert done.is_set()
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            assert (mixer.waiting(c.id), _count(Ballot), bool(c.seal_digest)) == (0, 3, True)


def test_links_are_redeemed_only_while_open(app, world):
    with app.app_context():
        bw = build(world)
        with tenant_context(world.a.id):  # closed, and reopened before the closing job sealed it
            cp.transition(db.session.get(Campaign, bw.campaign_id), "close")
            db.session.commit()
            cp.transition(db.session.get(Campaign, bw.campaign_id), "reopen")
            db.session.commit()
        vote(world, bw, bw.own[:1], (0,))  # reopened: cast and boxed
        assert _count(BoxedBallot) == 1
        with tenant_context(world.a.id):
            cp.transition(db.session.get(Campaign, bw.campaign_id), "close")
            db.session.commit()
            from pingyi.voting import tokens

            digest = tokens.credential_hash(bw.own[1].secret)
            assert tokens.redeem(*digest) is None  # closed: the link stays unused, nothing boxed
            db.session.rollback()
        assert _count(BoxedBallot) == 1


def _in_json(marker: str) -> str:
    """How an opinion would end inside a boxed ballot's JSON were it stored in the clear: on
    SQLite, where the whole file is searched, the bare text is in the comments table too."""
    return f'"{marker}"]]'


def test_no_byte_of_the_box_matches_a_ballot(app, world):
    """The box's rows leave bytes behind (a deleted row stays on its page until overwritten
    and in the WAL, whatever VACUUM does), so what they hold is sealed: not one opinion in the
    clear, not the ballot's receipt hash, while a ballot waits and after the mixer moved it."""
    from pingyi.voting import tokens

    with app.app_context():
        first = build(world, links=5)
        second = build(world, like=first, name="第二轮")
        vote(world, second, second.own[:1], (0,), comment="still-waiting-0")
        receipts = []
        for i, link in enumerate(first.own):
            state = ballots.resolve(link.secret)
            subjects = ballots.subjects_for(state.token, state.category)
            receipts.append(ballots.cast(link.secret, ballots.parse(
                full_answers(world, first, link.secret, i % 4, comment=f"mixed-secret-{i}"), subjects,
                ballots.forms_of(subjects))))
        live.drain()
        with unscoped():
            assert (mixer.waiting(first.campaign_id), mixer.waiting(second.campaign_id)) == (0, 1)
            markers = [f"mixed-secret-{i}" for i in range(5)] + ["still-waiting-0"]
            needle = (lambda m: m) if db.engine.dialect.name == "postgresql" else _in_json  # per table / whole file
            assert {m: bytes_left("ballot_box", needle(m)) for m in markers} == dict.fromkeys(markers, 0)
            assert bytes_left("comments", "mixed-secret-0") >= 1  # the search finds bytes that are there
            if db.engine.dialect.name == "postgresql":  # SQLite: the file holds them, in the ballots table
                hashes = [ballots.receipt_hash(tokens.normalize_code(r)) for r in receipts]
                assert {h: bytes_left("ballot_box", h) for h in hashes} == dict.fromkeys(hashes, 0)
            box_hash = db.session.execute(select(BoxedBallot.receipt_hash)).scalar_one()
            assert box_hash not in set(db.session.execute(select(Ballot.receipt_hash)).scalars())
            db.session.commit()


def test_a_changed_secret_key_keeps_boxed_ballots_until_the_old_key_is_back(app, world):
    """Sealed with the old SECRET_KEY: opened with it as a fallback; without it the mixer and
    the closing job fail aloud and the ballots stay in the box, none lost."""
    from pingyi.models import Job

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:4], (0, 1, 2, 3))
        old = app.config["SECRET_KEY"]
        app.config.update(SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=[])
        vote(world, bw, bw.own[4:5], (0,))  # the k-th: the mixer cannot open the first four
        with tenant_context(world.a.id):
            assert (mixer.waiting(bw.campaign_id), _count(Ballot)) == (5, 0)
            cp.transition(db.session.get(Campaign, bw.campaign_id), "close")
            db.session.commit()
        close_job(world.a.id, bw.campaign_id)
        with tenant_context(world.a.id):
            job = db.session.execute(select(Job).where(Job.kind == "tally")).scalar_one()
            assert job.state == "failed" and "SECRET_KEY_FALLBACKS" in job.error
            assert mixer.waiting(bw.campaign_id) == 5
        app.config["SECRET_KEY_FALLBACKS"] = [old]
        close_job(world.a.id, bw.campaign_id)
        with tenant_context(world.a.id):
            assert (mixer.waiting(bw.campaign_id), _count(Ballot)) == (0, 5)


def close_job(tenant_id: int, campaign_id: int) -> None:
    from pingyi.results import tally

    with tenant_context(tenant_id):
        tally.after_transition(db.session.get(Campaign, campaign_id))


def test_no_typed_paper_form_is_kept_in_the_clear(app, world):
    """Paper entries name a link and hold what was typed until two typists agree; what was
    typed is sealed, so neither a waiting entry nor a deleted one leaves it in the clear."""
    from pingyi.models import PaperEntry, User
    from pingyi.voting import paper

    with app.app_context():
        bw = build(world)
        with unscoped():
            admin, unit_admin = (db.session.execute(select(User.id).where(User.email == e)).scalar_one()
                                 for e in (world.a.admin, world.a.unit_admin))
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            forms = []
            for i, link in enumerate(bw.own[:2]):
                state = ballots.resolve(link.secret)
                subjects = ballots.subjects_for(state.token, state.category)
                forms.append(ballots.parse(full_answers(world, bw, link.secret, comment=f"paper-secret-{i}"),
                                           subjects, ballots.forms_of(subjects)))
            assert paper.enter(c, bw.own[1].short_code, forms[1], admin).status == "pending"  # waits
            assert paper.enter(c, bw.own[0].short_code, forms[0], admin).status == "pending"
            assert paper.enter(c, bw.own[0].short_code, forms[0], unit_admin).status == "counted"
            db.session.commit()
            for i in range(2):  # counted (its ballot in the box) or waiting: no typed opinion in the clear
                assert bytes_left("paper_entries", f"paper-secret-{i}") == 0
            assert paper.typed(db.session.execute(select(PaperEntry)).scalar_one()) == forms[1].payload()
            db.session.commit()
