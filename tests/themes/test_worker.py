"""The grouping on the production path: with Redis the page's job is queued on ``reports`` and a
real `pingyi worker --burst` runs it (PostgreSQL only: a worker process costs seconds)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, Job, ThemeCount
from pingyi.tenancy import tenant_context
from pingyi.themes import job
from tests import servers
from tests.themes.world import voted


def test_a_real_worker_groups_the_opinions(app, unbatched, rq_app, world, database):
    if database[0] != "postgresql":
        pytest.skip("the production path (PostgreSQL) only")
    bw = voted(app, world)  # voted and sealed in-process; the grouping goes through Redis
    with rq_app.app_context(), tenant_context(world.a.id):
        j = job.submit(db.session.get(Campaign, bw.campaign_id))
        job_id = j.id
        assert j.state == "queued"
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL,
           "PINGYI_RQ_PREFIX": rq_app.config["RQ_PREFIX"], "SECRET_KEY": "test"}
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "worker", "--burst", "--queues", "reports"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with app.app_context(), tenant_context(world.a.id):
        j = db.session.get(Job, job_id)
        assert j.state == "done", j.error
        assert j.result["themes"] == 4
        found = db.session.execute(select(ThemeCount.ballots).where(
            ThemeCount.theme == "活动形式单一", ThemeCount.unit_id.is_(None))).scalar_one()
        assert found == 6
