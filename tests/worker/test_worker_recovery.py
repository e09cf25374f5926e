"""Worker jobs survive failures: a failed attempt is retried with backoff by a real `pingyi worker`
(the row says so meanwhile), a work-horse or a whole worker killed mid-job leaves the earlier
results intact and the retry completes, and the reaper re-queues or fails job rows RQ lost.

Intervals are shrunk through the config, so the file stays under a minute: the retry backoff in
the enqueuing app (RQ stores it on the job), heartbeats and the reaper's round in the workers'
environment."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from pingyi import jobs
from pingyi.extensions import db
from pingyi.models import BallotToken, Campaign, Job, JobFile, Unit, utcnow
from pingyi.tenancy import tenant_context
from tests import clock, servers
from tests.factories import login

FAST = {"PINGYI_WORKER_MAINTENANCE_INTERVAL": "1", "PINGYI_WORKER_JOB_MONITORING_INTERVAL": "1",
        "PINGYI_WORKER_HEARTBEAT_GRACE": "2", "PINGYI_JOB_REAPER_GRACE": "2",
        "PINGYI_JOB_REAPER_INTERVAL": "1"}


@pytest.fixture
def workers(rq_app, database, tmp_path):
    """Start `pingyi worker` subprocesses (each its own process group); all are killed afterwards."""
    started: list[subprocess.Popen] = []

    def start(queue: str, **env: str) -> subprocess.Popen:
        log = (tmp_path / f"worker{len(started)}.log").open("w")
        full = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL,
                "PINGYI_RQ_PREFIX": rq_app.config["RQ_PREFIX"], "SECRET_KEY": "test", "PYTHONUNBUFFERED": "1",
                "PINGYI_JOB_RETRY_INTERVALS": ",".join(map(str, rq_app.config["JOB_RETRY_INTERVALS"])),
                **FAST, **env}
        p = subprocess.Popen([sys.executable, "-m", "pingyi.cli", "worker", "--queues", queue], env=full,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        p.log_path = log.name
        started.append(p)
        return p

    yield start
    for p in started:
        horse = horse_pid(p.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)  # the worker and its scheduler
        if horse is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(horse, signal.SIGKILL)
        p.wait(timeout=10)


def horse_pid(worker_pid: int) -> int | None:
    """The work-horse: the worker's child in a process group of its own (RQ calls setpgrp in it;
    the scheduler, the other child, stays in the worker's group)."""
    try:
        children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children").read_text().split()
    except OSError:
        return None
    for pid in map(int, children):
        try:
            if os.getpgid(pid) == pid:
                return pid
        except ProcessLookupError:
            continue
    return None


def row(app, tenant_id: int, job_id: int) -> Job:
    """The job row as the database has it now (detached; read in a fresh session)."""
    with app.app_context(), tenant_context(tenant_id):
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def wait_for(what, timeout: float, worker: subprocess.Popen | None = None, step: float = 0.05):
    """Poll ``what()`` until truthy; fail with the worker's log when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    log = Path(worker.log_path).read_text()[-3000:] if worker is not None else ""
    pytest.fail(f"timed out after {timeout}s\n{log}")


def test_a_failed_attempt_is_retried_with_backoff_and_shown(rq_app, world, workers):
    """A tally of a campaign that does not exist yet fails; the page says a retry follows; the
    campaign appears; RQ's retry (after the backoff, through the scheduler) succeeds."""
    from pingyi.campaigns import lifecycle as cp

    app, tid = rq_app, world.a.id
    missing = 900_000 + secrets.randbelow(99_999)
    app.config["JOB_RETRY_INTERVALS"] = [3]  # time enough to look at the page and create the campaign
    with app.app_context(), tenant_context(tid):
        job_id = jobs.submit("tally", {"campaign_id": missing}, total=1).id
    w = workers("tally")
    first = wait_for(lambda: (j := row(app, tid, job_id)).state == "queued" and j.attempts == 1 and j.error and j,
                     30, w)
    with app.app_context(), tenant_context(tid):
        c = cp.create_campaign("稍后创建", clock.wall(-1), clock.wall(18, 18))
        c.id = missing
        db.session.commit()
    client = app.test_client()
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/jobs/{job_id}").text
    assert "排队中" in page and f"第 1 次尝试失败：{escape(first.error)}，将自动重试" in page
    done = wait_for(lambda: (j := row(app, tid, job_id)).state in ("done", "failed") and j, 30, w)
    assert (done.state, done.attempts, done.error, done.result["version"]) == ("done", 2, "", 1), done.error
    with app.app_context(), tenant_context(tid):
        assert db.session.get(Campaign, missing) is not None


def _slow_issue(app, world) -> tuple[int, int, set]:
    """An earlier batch (issued here, in-process) and a queued batch of 5000 links (~2 s of work,
    committed in chunks: links first, then the files). Returns (job id, campaign id, earlier tokens)."""
    from pingyi.campaigns import lifecycle as cp
    from pingyi.org import orgtree
    from pingyi.voting import issuing

    servers.require("font")
    with app.app_context(), tenant_context(world.a.id):
        root = db.session.get(Unit, world.a.root)
        for i in range(3):
            orgtree.create_unit(f"恢复测试支部{i}", root, "branch")
        c = cp.create_campaign("中断恢复", clock.wall(-1), clock.wall(18, 18))
        k = cp.set_categories(c, [{"name": "群众"}])[0]
        db.session.commit()
        earlier = issuing.submit_issue(c, k, root, ["branch"], 2, "http://h", run_here=True)
        assert earlier.state == "done"
        before = _tokens(earlier.id)
        job = issuing.submit_issue(c, k, root, ["branch"], 1000, "http://h")
        assert job.state == "queued"
        return job.id, c.id, before


def _tokens(batch_id: int) -> set:
    return set(db.session.execute(select(BallotToken.id, BallotToken.unit_id, BallotToken.serial, BallotToken.used)
                                  .where(BallotToken.batch_id == batch_id)).all())


def _assert_completed_once(app, tenant_id: int, job_id: int, earlier_id: int, earlier: set) -> None:
    """The retry finished the batch exactly once, and the earlier batch is untouched."""
    with app.app_context(), tenant_context(tenant_id):
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts, job.result["links"]) == ("done", 2, 5000), job.error
        assert _tokens(earlier_id) == earlier
        count, low, high = db.session.execute(select(func.count(), func.min(BallotToken.serial),
                                                     func.max(BallotToken.serial))
                                              .where(BallotToken.batch_id == job_id)).one()
        assert (count, low, high) == (5000, 3, 1002)  # the killed attempt's links were replaced, not added to
        names = sorted(f.name.rsplit(".", 1)[1] for f in db.session.execute(
            select(JobFile).where(JobFile.job_id == job_id)).scalars())
        assert names == ["csv", "pdf", "xlsx"]


def _earlier_batch(app, tenant_id: int, job_id: int) -> int:
    with app.app_context(), tenant_context(tenant_id):
        return db.session.execute(select(Job.id).where(Job.kind == "issue_links", Job.id != job_id)).scalar_one()


def test_killed_work_horse_is_retried_and_completes(rq_app, world, workers):
    """SIGKILL the work-horse after the links are committed: the worker records the interruption
    on the row ("queued", retry pending), RQ retries after the backoff, the retry completes."""
    app, tid = rq_app, world.a.id
    app.config["JOB_RETRY_INTERVALS"] = [1]
    job_id, _cid, earlier = _slow_issue(app, world)
    w = workers("bulk")
    wait_for(lambda: (j := row(app, tid, job_id)).state == "running" and j.done > 0, 60, w)
    horse = horse_pid(w.pid)
    assert horse is not None
    os.kill(horse, signal.SIGKILL)
    seen = wait_for(lambda: (j := row(app, tid, job_id)).state != "running" and j, 10, w, step=0.02)
    assert (seen.state, seen.attempts, seen.error) == ("queued", 1, "工作进程中断（信号 9）")
    wait_for(lambda: row(app, tid, job_id).state in ("done", "failed"), 60, w)
    _assert_completed_once(app, tid, job_id, _earlier_batch(app, tid, job_id), earlier)


def test_killed_worker_is_replaced_and_the_job_completes(rq_app, world, workers):
    """SIGKILL the whole worker (main process, scheduler, work-horse) mid-job: nothing records
    anything. A new worker's maintenance finds the job abandoned once its heartbeat expires, RQ
    re-queues it, and it completes. (An immediate retry: a dead worker's scheduler lock keeps the
    new worker from scheduling backoffs for up to a minute.)"""
    app, tid = rq_app, world.a.id
    app.config["JOB_RETRY_INTERVALS"] = [0]
    job_id, _cid, earlier = _slow_issue(app, world)
    a = workers("bulk")
    wait_for(lambda: (j := row(app, tid, job_id)).state == "running" and j.done > 0, 60, a)
    horse = horse_pid(a.pid)
    assert horse is not None
    os.killpg(a.pid, signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    a.wait(timeout=10)
    stuck = row(app, tid, job_id)
    assert (stuck.state, stuck.attempts) == ("running", 1)
    b = workers("bulk")
    wait_for(lambda: row(app, tid, job_id).state in ("done", "failed"), 60, b)
    _assert_completed_once(app, tid, job_id, _earlier_batch(app, tid, job_id), earlier)


def test_reaper_requeues_lost_jobs_and_fails_exhausted_ones(rq_app, world):
    """``reconcile`` without a worker: rows whose RQ job is gone or failed are re-queued while
    attempts are left, else failed with an error; young rows and live RQ jobs are left alone."""
    from rq.job import JobStatus

    from pingyi.queue import fetch_rq_job, get_queue, rq_job_id, running_here
    from worker.reaper import reconcile

    app, tid = rq_app, world.a.id
    long_ago = utcnow() - timedelta(hours=1)
    with app.app_context(), tenant_context(tid):
        assert jobs.max_attempts() == 4

        def stuck(state: str, attempts: int, started=long_ago) -> int:
            job = jobs.create("tally", {"campaign_id": 1}, total=1)
            job.state, job.attempts, job.started_at, job.created_at = state, attempts, started, long_ago
            db.session.commit()
            return job.id

        lost = stuck("running", 1)  # its worker and Redis's record of it are gone
        never = stuck("queued", 0)  # committed, but enqueueing never happened
        exhausted = stuck("running", 4)
        young = stuck("running", 1, started=utcnow())
        alive = jobs.submit("tally", {"campaign_id": 1}, total=1).id  # queued on RQ, no worker yet
        db.session.get(Job, alive).created_at = long_ago
        gave_up = stuck("running", 2)
        jobs.requeue(db.session.get(Job, gave_up))  # then RQ failed it (say its last retry was killed)
        failed = fetch_rq_job(rq_job_id(tid, gave_up))
        get_queue("tally").remove(failed.id)
        failed.set_status(JobStatus.FAILED)
        db.session.get(Job, gave_up).state = "running"
        here = stuck("running", 1)  # `pingyi tally --wait` runs it in its own process, without RQ
        db.session.commit()

        with running_here(tid, here, 60):
            assert reconcile() == {"requeued": [lost, never, gave_up], "failed": [exhausted]}
            assert reconcile() == {"requeued": [], "failed": []}  # the re-queued ones are alive now
        assert reconcile() == {"requeued": [here], "failed": []}  # its mark gone (expired: that run died)
        states = {j.id: (j.state, j.error) for j in db.session.execute(select(Job)).scalars()}
        assert states[lost] == ("queued", "工作进程中断")
        assert states[never] == ("queued", "")
        assert states[exhausted] == ("failed", "工作进程中断，已尝试 4 次，不再自动重试")
        assert states[young] == ("running", "") and states[alive] == ("queued", "")
        queued = get_queue("tally").job_ids
        for job_id, retries_left in ((lost, 2), (never, 3), (gave_up, 1), (here, 2)):
            rq_job = fetch_rq_job(rq_job_id(tid, job_id))
            assert rq_job.id in queued and rq_job.get_status() == JobStatus.QUEUED
            assert rq_job.retries_left == retries_left  # the row's attempts left, not a fresh budget
            assert rq_job.args == [job_id]


def test_retry_policy_follows_the_config(rq_app):
    with rq_app.app_context():
        rq_app.config.update(JOB_RETRY_MAX=3, JOB_RETRY_INTERVALS=[10, 60, 300])
        first = jobs.retry_policy(0)
        assert (first.max, first.intervals) == (3, [10, 60, 300])
        assert jobs.retry_policy(2).max == 1
        assert jobs.retry_policy(3) is None and jobs.retry_policy(7) is None


def test_several_workers_per_queue_run_one_scheduler_per_queue(rq_app, workers):
    """Hosts may start `pingyi worker` per queue, several per queue: each queue's scheduler (it
    moves retries and debounced live tallies onto the queue) runs in exactly one of them, and
    keeps running there across maintenance rounds; the workers all work."""
    from rq import Worker
    from rq.scheduler import RQScheduler

    from pingyi.queue import redis_connection

    prefix = rq_app.config["RQ_PREFIX"]
    started = [workers("tally"), workers("tally"), workers("bulk,reports,default"), workers("bulk")]
    names = [prefix + q for q in ("tally", "reports", "bulk", "default")]
    with rq_app.app_context():
        redis = redis_connection()

        def owners() -> dict[str, bytes | None]:
            return {name: redis.get(RQScheduler.get_locking_key(name)) for name in names}

        wait_for(lambda: all(owners().values()) and len(Worker.all(connection=redis)) >= 4, 30, started[0])
        first = owners()
        time.sleep(3)  # three maintenance rounds: nobody else takes a lock that is held
        assert owners() == first
        served = {w.name: {q.name for q in w.queues} for w in Worker.all(connection=redis)}
    logs = [Path(p.log_path).read_text() for p in started]
    for queue in names:  # one worker's scheduler acquired each queue's lock, once
        assert sum(log.count(f"Acquired scheduler lock for {queue}\n") for log in logs) == 1, queue
    assert sum({prefix + "tally"} == qs for qs in served.values()) == 2  # both tally workers work
