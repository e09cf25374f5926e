"""The production path: with REDIS_URL set, jobs go through RQ (JSON serializer) to a real
`pingyi worker` process against a real Redis, on queues of this test's own."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import BallotToken, Job, JobFile, Unit
from pingyi.tenancy import tenant_context
from tests import servers


def test_issue_job_runs_on_a_real_rq_worker(rq_app, world, database):
    from pingyi import campaigns as cp
    from pingyi import issuing

    servers.require("font")
    app = rq_app
    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("队列测试", "2026-12-01 09:00", "2026-12-20 18:00")
        k = cp.set_categories(c, [{"name": "群众"}])[0]
        db.session.commit()
        job = issuing.submit_issue(c, k, db.session.get(Unit, world.a.root), ["branch"], 6, "http://h")
        job_id = job.id
        assert job.state == "queued"  # queued on Redis, not run in this process
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL,
           "PINGYI_RQ_PREFIX": app.config["RQ_PREFIX"], "SECRET_KEY": "test"}
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "worker", "--burst", "--queues", "bulk"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    with app.app_context(), tenant_context(world.a.id):
        job = db.session.get(Job, job_id)
        assert (job.state, job.result["links"], job.attempts) == ("done", 12, 1), job.error
        names = sorted(f.name.rsplit(".", 1)[1] for f in db.session.execute(
            select(JobFile).where(JobFile.job_id == job_id)).scalars())
        assert names == ["csv", "pdf", "xlsx"]
        assert len(db.session.execute(select(BallotToken)).scalars().all()) == 12


def test_wait_runs_here_even_with_redis_configured(rq_app, world):
    """`pingyi tally --wait` must not hand its job to a worker that may not be running."""
    from pingyi import campaigns as cp
    from pingyi.cli import main

    with rq_app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("等待", "2026-12-01 09:00", "2026-12-20 18:00")
        db.session.commit()
        cid = c.id
    r = rq_app.test_cli_runner().invoke(main, ["tally", "--tenant", "alpha", "--campaign", str(cid), "--wait"])
    assert r.exit_code == 0 and "第 1 次统计，0 张票" in r.output, r.output
    r = rq_app.test_cli_runner().invoke(main, ["tally", "--tenant", "alpha", "--campaign", str(cid)])
    assert r.exit_code == 0 and "（queued）" in r.output
