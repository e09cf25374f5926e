"""The database goes away during a vote (a PostgreSQL cluster of the test's own, stopped and
started again): the ballot page answers a 503 in Chinese that says the link still works,
nothing is half-written, and once the database is back the same link casts its ballot."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import Ballot, BallotToken, BoxedBallot
from pingyi.results import live
from pingyi.tenancy import tenant_context
from tests import servers
from tests.ballot_world import build, full_answers
from tests.conftest import _migrate, make_app
from tests.factories import build_world


@pytest.fixture
def cluster():
    pg = servers.PostgresServer()
    pg.start()
    with psycopg.connect(pg.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE pingyi")
    _migrate(pg.url("pingyi"))
    yield pg
    pg.close()


def test_a_vote_during_a_database_outage_gets_a_503_and_the_link_still_works(cluster):
    app = make_app(("postgresql", cluster.url("pingyi")))
    with app.app_context():
        world = build_world()
        bw = build(world, links=3)
        link, other = bw.own[0].secret, bw.own[1].secret
        body = full_answers(world, bw, link, 1)
    client = app.test_client()
    assert client.get(f"/b/{link}").status_code == 200  # the pool holds connections to the old server
    cluster.stop()
    for r in (client.post(f"/b/{link}", data=body), client.get(f"/b/{other}"), client.post(f"/b/{link}", data=body)):
        assert r.status_code == 503, r.text[:500]
        assert "系统繁忙，请稍后再试，您的测评码仍然有效" in r.text and "Traceback" not in r.text
    cluster.start()
    r = client.post(f"/b/{link}", data=body)
    assert r.status_code == 200 and "回执码" in r.text
    assert client.post(f"/b/{link}", data=body).status_code == 409  # once, as ever
    with app.app_context():
        live.drain(app)
        with tenant_context(world.a.id):
            used = db.session.execute(select(func.count()).select_from(BallotToken).where(BallotToken.used)).scalar()
            stored = sum(db.session.execute(select(func.count()).select_from(m)).scalar() for m in (Ballot, BoxedBallot))
            assert (used, stored) == (1, 1)
        db.session.remove()
        db.engine.dispose()
