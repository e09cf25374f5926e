"""The daily overdue check on the production path: a real `pingyi worker --burst` queues it in
its first maintenance round (once a day: a second worker that day does not) and runs it, as
it runs the on-demand job."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, Job, RectificationItem, utcnow
from pingyi.rectification import ledger, overdue
from pingyi.tenancy import tenant_context
from tests import servers
from tests.rectification.ledger_world import actors, closed_campaign, draft


def _burst(app, database) -> None:
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL,
           "PINGYI_RQ_PREFIX": app.config["RQ_PREFIX"], "SECRET_KEY": "test"}
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "worker", "--burst", "--queues", "default"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


# the production path (PostgreSQL) only: a worker process costs seconds
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_real_worker_marks_overdue_items_once_a_day(rq_app, world, database):
    from worker.main import schedule_daily_overdue

    app = rq_app
    with app.app_context():
        cid = closed_campaign(world.a)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, cid)
            late = ledger.create_item(c, draft(world.a), actors(world.a).admin, "feedback", "1")
            late.deadline = ledger.local_today(utcnow(), c.timezone) - timedelta(days=1)  # as if long due
            ledger.create_item(c, draft(world.a), actors(world.a).admin, "feedback", "2")
            db.session.commit()
            job_id = overdue.check_now(cid).id  # the on-demand check of tenant A, queued on RQ
            assert db.session.get(Job, job_id).state == "queued"
        b_cid = closed_campaign(world.b)
        with tenant_context(world.b.id):  # only the daily check (every tenant) marks B's item
            c = db.session.get(Campaign, b_cid)
            late_b = ledger.create_item(c, draft(world.b), actors(world.b).admin, "feedback", "1")
            late_b.deadline = ledger.local_today(utcnow(), c.timezone) - timedelta(days=2)
            db.session.commit()
            b_item = late_b.id
    _burst(app, database)
    with app.app_context(), tenant_context(world.a.id):
        flags = db.session.execute(select(RectificationItem.overdue).order_by(RectificationItem.id)).scalars().all()
        assert flags == [True, False]
        assert db.session.get(Job, job_id).state == "done"
    with app.app_context():
        with tenant_context(world.b.id):
            assert db.session.get(RectificationItem, b_item).overdue is True
        from pingyi.queue import redis_connection

        assert schedule_daily_overdue(redis_connection(), utcnow()) is False  # today's check is queued already
