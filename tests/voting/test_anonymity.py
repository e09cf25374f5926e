"""Nothing stored links a ballot to the link that cast it: proven from the live schema and
from the data after real ballots were cast."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from pingyi.extensions import db
from pingyi.models import AuditEvent, Ballot, BallotToken, BoxedBallot
from pingyi.tenancy import unscoped
from pingyi.voting import ballots
from tests.ballot_world import build, close_and_count, full_answers

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

BALLOT_TABLES = ("ballots", "answers", "comments", "ballot_box")
TOKENISH = {"token", "secret", "short", "serial", "batch", "ip", "agent", "referrer", "user", "session", "created",
            "updated", "time", "at", "timestamp", "seq"}


def test_schema_has_no_path_from_ballots_to_tokens(app):
    with app.app_context():
        insp = inspect(db.engine)
        for table in BALLOT_TABLES:
            for fk in insp.get_foreign_keys(table):
                assert fk["referred_table"] != "ballot_tokens", (table, fk)
            for col in insp.get_columns(table):
                name = col["name"]
                assert not set(name.split("_")) & TOKENISH, f"{table}.{name} could tie a ballot to a voter"
                if name == "id" or (table != "ballots" and name == "ballot_id"):
                    assert "INT" not in str(col["type"]).upper(), f"{table}.{name} must not be a sequence"
                assert col.get("autoincrement") is not True or "INT" not in str(col["type"]).upper()
                kind = str(col["type"]).upper()  # no time of any grain on a ballot or in the box
                assert "DATE" not in kind and "TIME" not in kind, (table, col)
        for fk in insp.get_foreign_keys("ballot_tokens"):
            assert fk["referred_table"] not in BALLOT_TABLES
        ballot_cols = {c["name"] for c in insp.get_columns("ballots")}
        assert ballot_cols == {"id", "tenant_id", "campaign_id", "category_id", "unit_id", "receipt_hash", "paper"}
        token_cols = {c["name"]: str(c["type"]).upper() for c in insp.get_columns("ballot_tokens")}
        assert "used_at" not in token_cols and token_cols["used"] == "BOOLEAN"  # used or not: no time
        if db.engine.dialect.name == "postgresql":
            seqs = db.session.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_name = ANY(:t) "
                "AND column_default LIKE 'nextval%'"), {"t": list(BALLOT_TABLES)}).all()
            assert seqs == []


def test_data_after_voting_carries_no_link(app, world):
    with app.app_context():
        bw = build(world, links=8)
        for link in bw.own:  # cast in issue order
            state = ballots.resolve(link.secret)
            subjects = ballots.subjects_for(state.token, state.category)
            sub = ballots.parse(full_answers(world, bw, link.secret, comment="意见"), subjects,
                                ballots.forms_of(subjects))
            ballots.cast(link.secret, sub)
        close_and_count(world, bw)
        with unscoped():
            tokens = db.session.execute(select(BallotToken).where(BallotToken.used.is_(True))
                                        .order_by(BallotToken.serial)).scalars().all()
            assert len(tokens) == 8 and db.session.execute(select(BoxedBallot)).first() is None
            rows = db.session.execute(select(Ballot)).scalars().all()
            token_values = {str(v) for t in tokens for v in (t.id, t.secret_hash, t.short_hash, t.serial)}
            for b in rows:
                values = {str(getattr(b, c.key)) for c in Ballot.__table__.columns}
                assert not (values & token_values - {str(b.unit_id), str(b.category_id), str(b.campaign_id),
                                                     str(b.tenant_id)})
                assert len(b.id) == 32 and int(b.id, 16) >= 0
            # ids are random: ordering ballots by id does not replay the order they were cast in
            ids = [b.id for b in rows]
            assert len(set(ids)) == 8 and sorted(ids) != ids  # 1 in 40 320 to be sorted by chance
            # casting leaves no audit trail (an audit row would carry an exact time)
            kinds = set(db.session.execute(select(AuditEvent.object_type)).scalars())
            assert not kinds & {"ballots", "answers", "comments"}
            assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "update",
                                                               AuditEvent.object_type == "ballot_tokens")).first() is None
