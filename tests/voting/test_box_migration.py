"""Migrations 0009 and 0010 on a database written the old way: each ballot in its link's transaction, in
voting order, with the hour on both sides. Afterwards the times are gone, every ballot, answer,
comment and inbox row is still there, and nothing ties a ballot to its link any more."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from pingyi import create_app
from pingyi.extensions import db
from pingyi.models import utcnow
from tests.factories import build_world
from tests.secrecy import in_physical_order, sharing_xmin, spearman, transactions_on_pages

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

N = 150  # |Spearman ρ| of a random order: σ ≈ 0.08


def _cast_the_old_way(world) -> list[str]:
    """As revision 0008's code cast them: the link's update and the ballot's rows in one
    transaction, one ballot after another. Returns the ballot ids in voting order."""
    now = utcnow()  # the campaign and its category as revision 0008's tables hold them (not today's models)
    campaign_id = db.session.execute(text(
        "INSERT INTO campaigns (name, description, opens_at, closes_at, timezone, state, weighting, publication_scope, "
        "tenant_id, created_at) VALUES ('旧评议', '', :a, :b, 'Asia/Shanghai', 'draft', false, 'tenant', :t, :a) "
        "RETURNING id"), {"a": now - timedelta(hours=2), "b": now + timedelta(days=1), "t": world.a.id}).scalar_one()
    category_id = db.session.execute(text(
        "INSERT INTO evaluator_categories (campaign_id, name, weight, scope, position, tenant_id) "
        "VALUES (:c, '群众', '1', 'own_unit', 0, :t) RETURNING id"), {"c": campaign_id, "t": world.a.id}).scalar_one()
    db.session.commit()
    common = {"t": world.a.id, "c": campaign_id, "k": category_id, "u": world.a.branch}
    hour, order = utcnow().replace(minute=0, second=0, microsecond=0), []
    for i in range(N):
        bid = secrets.token_hex(16)
        order.append(bid)
        db.session.execute(text(
            "INSERT INTO ballot_tokens (tenant_id, campaign_id, category_id, unit_id, secret_hash, serial, issued_at, "
            "used_at) VALUES (:t, :c, :k, :u, :h, :i, :hour, :hour)"), {**common, "h": secrets.token_hex(32), "i": i,
                                                                       "hour": hour})
        db.session.execute(text(
            "INSERT INTO ballots (id, tenant_id, campaign_id, category_id, unit_id, submitted_hour, receipt_hash, paper) "
            "VALUES (:b, :t, :c, :k, :u, :hour, :r, false)"), {**common, "b": bid, "hour": hour, "r": secrets.token_hex(32)})
        db.session.execute(text(
            "INSERT INTO answers (ballot_id, subject_id, item_id, tenant_id, campaign_id, category_id, choice_id) "
            "VALUES (:b, 1, :item, :t, :c, :k, :choice)"),
            [{**common, "b": bid, "item": item, "choice": (i + item) % 4} for item in range(1, 4)])
        db.session.execute(text(
            "INSERT INTO comments (ballot_id, subject_id, item_id, tenant_id, campaign_id, category_id, text) "
            "VALUES (:b, 1, 9, :t, :c, :k, :x)"), {**common, "b": bid, "x": f"意见{i}"})
        db.session.commit()
    # the first half was counted already (their inbox rows gone); the rest waits for the next tally
    db.session.execute(text("DELETE FROM tally_inbox WHERE ballot_id = :b"), [{"b": b} for b in order[:N // 2]])
    db.session.commit()
    return order


def _contents() -> dict:
    q = {"ballots": "SELECT id, category_id, unit_id, receipt_hash, paper FROM ballots",
         "answers": "SELECT ballot_id, subject_id, item_id, choice_id FROM answers",
         "comments": "SELECT ballot_id, text FROM comments",
         "inbox": "SELECT ballot_id, claimed FROM tally_inbox"}
    return {k: sorted(tuple(r) for r in db.session.execute(text(sql))) for k, sql in q.items()}


def test_migrations_0009_0010_drop_the_times_and_unties_ballots_already_stored(fresh_db):
    app = create_app({"DATABASE_URL": fresh_db, "TESTING": True,
                      "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}})
    with app.app_context():
        upgrade(revision="0008")
        voted = {bid: i for i, bid in enumerate(_cast_the_old_way(build_world()))}
        before = _contents()
        assert len(before["inbox"]) == N - N // 2
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            assert sharing_xmin("ballots", "ballot_tokens") == N  # the old tie, one ballot per link
            redeeming = set(db.session.execute(text("SELECT xmin::text FROM ballot_tokens")).scalars())
        assert spearman(range(N), [voted[b] for (b,) in in_physical_order("ballots", "id")]) > 0.99
        db.session.commit()

        upgrade(revision="0010")
        assert _contents() == before  # nothing lost, nothing to be counted twice
        insp = inspect(db.engine)
        assert "submitted_hour" not in {c["name"] for c in insp.get_columns("ballots")}
        assert "used_at" not in {c["name"] for c in insp.get_columns("ballot_tokens")}
        assert db.session.execute(text("SELECT COUNT(*) FROM ballot_tokens WHERE used")).scalar_one() == N
        for table, column in (("ballots", "id"), ("answers", "ballot_id"), ("comments", "ballot_id")):
            rows = [voted[b] for (b,) in in_physical_order(table, column)]
            assert abs(spearman(range(len(rows)), rows)) < 0.3, table
        if postgres:
            tied = {t: sharing_xmin(t, "ballot_tokens") for t in ("ballots", "answers", "comments", "tally_inbox")}
            assert set(tied.values()) == {0}, tied
            for table in ("ballots", "answers", "comments"):  # the old row versions were vacuumed away
                assert not transactions_on_pages(table) & redeeming, table
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
