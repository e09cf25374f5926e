"""Behind Debian's pgbouncer in transaction mode (issue 18 item 4): a client's transactions may
each run on another server connection, so nothing may rest on session state. The app's paths
that touch PostgreSQL the most — links issued (COPY), ballots cast from several threads (single
statements in autocommit), the mixer and the live tally (advisory transaction locks, SET LOCAL),
closing (temporary tables, a full recount with its unlogged scratch table), report jobs — run
through it with PINGYI_DB_PGBOUNCER=1, and count what a direct connection counts."""

from __future__ import annotations

import io
import threading

import psycopg
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, JobFile, TallyRun
from pingyi.reports import registry as reports
from pingyi.results import live, rollup, tally
from pingyi.tenancy import tenant_context
from tests import ballot_world, servers
from tests.conftest import make_app

postgresql_only = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


@pytest.fixture
def bouncer():
    b = servers.PgBouncer(pool_size=3)
    try:
        b.start()
        yield b
    finally:
        b.close()


def _dbname(database) -> str:
    return database[1].rsplit("/", 1)[1]


@postgresql_only
def test_psycopgs_prepared_statements_break_behind_transaction_pooling(database, bouncer):
    """Why the setting exists: psycopg prepares a statement on the server after its 5th run on
    a connection; behind transaction pooling a second client lands on that server connection
    and its own first prepared statement clashes. With ``prepare_threshold=None`` (what
    PINGYI_DB_PGBOUNCER sets) nothing is prepared and both run."""
    url = bouncer.url(_dbname(database))

    def run(threshold) -> None:
        for _ in range(2):
            with psycopg.connect(url, autocommit=True, prepare_threshold=threshold) as conn:
                for i in range(8):
                    conn.execute("SELECT %s::int + 1", (i,))

    with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
        run(5)  # psycopg's default
    run(None)


def test_the_setting_turns_prepared_statements_off():
    from pingyi.config import load_config

    url = "postgresql://u@127.0.0.1:6432/pingyi"
    assert "connect_args" not in load_config("/tmp", {"DATABASE_URL": url})["SQLALCHEMY_ENGINE_OPTIONS"]
    options = load_config("/tmp", {"DATABASE_URL": url, "DB_PGBOUNCER": True})["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"prepare_threshold": None}


def _snapshot(campaign_id: int):
    run = db.session.execute(select(TallyRun).where(TallyRun.campaign_id == campaign_id)).scalar_one()
    totals = (run.ballots, run.answers, *(getattr(run, n) for n in rollup.Figures.COUNTS))
    return sorted(tally.stored_rows(campaign_id)), rollup.stored_subtrees(campaign_id), totals


def _cells(data: bytes) -> list:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return [(ws.title, [tuple(row) for row in ws.iter_rows(values_only=True)]) for ws in book.worksheets]


@postgresql_only
def test_ballots_tallies_and_reports_through_pgbouncer_equal_a_direct_connection(app, world, database, bouncer):
    pooled = make_app(("postgresql", bouncer.url(_dbname(database))), DB_PGBOUNCER=True)
    try:
        with pooled.app_context():
            bw = ballot_world.build(world, links=24)  # the links go in by COPY, through pgbouncer
            links = bw.own + bw.group + bw.other_branch
            bodies = [ballot_world.full_answers(world, bw, link.secret, i % 4, comment=f"意见{i % 3}")
                      for i, link in enumerate(links)]
            db.session.remove()
        # 4 threads, 4 pooled connections, 3 server connections: every statement runs again and
        # again on each connection (psycopg would have prepared it) and transactions hop between
        # server connections
        statuses: list[int] = []

        def cast(part: list[int]) -> None:
            client = pooled.test_client()
            statuses.extend(client.post(f"/b/{links[i].secret}", data=bodies[i]).status_code for i in part)

        threads = [threading.Thread(target=cast, args=(list(range(n, len(links), 4)),)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * len(links)
        live.drain(pooled)  # the live tallies the ballots asked for, through pgbouncer
        cid = bw.campaign_id
        with pooled.app_context(), tenant_context(world.a.id):
            # the mixer moved whole batches, the live tally counted each of their ballots once
            live_rows = sorted(tally.stored_rows(cid))
            assert live_rows and live_rows == sorted(tally.count_rows(cid))
        with pooled.app_context():
            ballot_world.close(world.a.id, cid)  # reshuffle (temporary tables) + full recount + roll-up
            with tenant_context(world.a.id):
                closed = _snapshot(cid)
                c = db.session.get(Campaign, cid)
                pooled_files = {}
                for kind in ("tally", "opinions"):
                    job = reports.submit(c, kind, "xlsx", run_here=True)
                    assert job.state == "done", job.error
                    pooled_files[kind] = db.session.execute(select(JobFile.data).where(JobFile.job_id == job.id)) \
                        .scalar_one()
            db.session.remove()
            db.engine.dispose()
    finally:
        live.drain(pooled)
    rated = sum(1 for body in bodies for name in body if name.startswith("a"))
    assert closed[2][:2] == (len(links), rated)  # every ballot and every answer cast
    assert sum(row[-1] for row in closed[0]) == rated
    with app.app_context(), tenant_context(world.a.id):  # the same on a direct connection
        tally.recount(cid)
        db.session.commit()
        assert _snapshot(cid) == closed
        c = db.session.get(Campaign, cid)
        for kind, data in pooled_files.items():
            assert _cells(data) == _cells(reports.make(c, kind, "xlsx")[2])


@pytest.mark.parametrize("fresh_db", ["postgresql"], indirect=True)
def test_migrations_run_through_pgbouncer(fresh_db, bouncer):
    """deploy/pingyi-web.service runs ``pingyi db upgrade`` with the app's DATABASE_URL: through
    pgbouncer too, each migration a transaction of its own."""
    from flask_migrate import upgrade
    from sqlalchemy import inspect

    from pingyi import create_app

    app = create_app({"DATABASE_URL": bouncer.url(fresh_db.rsplit("/", 1)[1]), "DB_PGBOUNCER": True,
                      "TESTING": True})
    with app.app_context():
        upgrade()
        assert {"ballot_box", "tally_counts", "jobs"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
