"""The reaper: job rows that RQ will never finish are re-queued or failed, so no page waits on
a job forever.

A row is "queued" or "running" while RQ owns it. RQ itself retries a job whose work-horse died
(the worker notices) or whose worker died (its registry cleanup notices once the heartbeat
expires). What RQ cannot fix is a row whose RQ job is gone (Redis lost it, or enqueueing failed
after the row's commit), failed or stopped while the row never heard of it, or marked started
with no execution behind it. ``reconcile`` finds those rows through the RQ id derived from the
row (``pingyi.queue.rq_job_id``) and re-queues them while the row has attempts left, else fails
them with an error the job page shows. Rows the command line runs in its own process carry a
Redis mark instead of an RQ job (``pingyi.queue.running_here``) and are left alone. The worker
runs it once a maintenance round (``worker.main``); it is a plain function so tests call it.
"""

from __future__ import annotations

import os
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from rq.job import JobStatus
from sqlalchemy import select

from pingyi import jobs
from pingyi.audit import acting_as
from pingyi.extensions import db
from pingyi.models import Job, utcnow
from pingyi.queue import fetch_rq_job, redis_connection, rq_job_alive, rq_job_id, running_here_key
from pingyi.tenancy import tenant_context, unscoped

if TYPE_CHECKING:
    from redis import Redis
    from rq.job import Job as RQJob

INTERRUPTED = "工作进程中断"


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def reconcile(connection: Redis | None = None, now: datetime | None = None,
              grace: int | None = None) -> dict[str, list[int]]:
    """Re-queue (attempts left) or fail (none left) every queued/running job row whose RQ job
    will never run. Rows touched less than ``grace`` seconds ago (``JOB_REAPER_GRACE``) are left
    alone: their RQ job may be about to be enqueued. One reaper at a time (a Redis lock), so two
    workers never queue a row twice. It commits row by row: call it with no pending changes.
    Returns the ids it re-queued and failed."""
    conn = connection or redis_connection()
    now = _utc(now or utcnow())
    grace = current_app.config.get("JOB_REAPER_GRACE", 60) if grace is None else grace
    out: dict[str, list[int]] = {"requeued": [], "failed": []}
    lock = conn.lock(f"{current_app.config.get('RQ_PREFIX', '')}pingyi:reaper-lock", timeout=300)
    if not lock.acquire(blocking=False):
        return out
    try:
        with unscoped():
            rows = db.session.execute(select(Job.id, Job.tenant_id, Job.state, Job.attempts, Job.created_at,
                                             Job.started_at).where(Job.state.in_(("queued", "running")))
                                      .order_by(Job.id)).all()
        db.session.rollback()
        for job_id, tenant_id, state, attempts, created_at, started_at in rows:
            touched = max(_utc(created_at), _utc(started_at or created_at))
            if now - touched < timedelta(seconds=grace):
                continue
            try:
                rq_id = rq_job_id(tenant_id, job_id)
                if conn.exists(running_here_key(rq_id)):
                    continue  # run in-process by the command line, not by RQ
                rq_job = fetch_rq_job(rq_id, conn)
                if rq_job is not None and rq_job_alive(rq_job):
                    continue
                stopped = rq_job is not None and rq_job.get_status(refresh=False) in (JobStatus.STOPPED,
                                                                                     JobStatus.CANCELED)
                with tenant_context(tenant_id), acting_as(None, "worker"):
                    job = db.session.get(Job, job_id, populate_existing=True)
                    if job is None or (job.state, job.attempts) != (state, attempts):
                        db.session.rollback()
                        continue  # it moved on while we looked at Redis
                    if not stopped and job.attempts < jobs.max_attempts():
                        job.state = "queued"
                        if job.attempts:
                            job.error = INTERRUPTED
                        db.session.commit()
                        jobs.requeue(job)
                        out["requeued"].append(job_id)
                    else:
                        job.state, job.finished_at = "failed", utcnow()
                        job.error = ("任务已在队列中被停止" if stopped
                                     else f"{INTERRUPTED}，已尝试 {job.attempts} 次，不再自动重试")
                        db.session.commit()
                        out["failed"].append(job_id)
            except Exception:  # one bad row must not stop the others
                db.session.rollback()
                current_app.logger.exception("reaper: job %s not reconciled", job_id)
                continue
            current_app.logger.warning("reaper: job %s (%s, %s attempts) %s", job_id, state, attempts,
                                       "re-queued" if job_id in out["requeued"] else "failed")
    finally:
        with suppress(Exception):  # it expires
            lock.release()
    return out


def record_interrupted(rq_job: RQJob, ret_val: int | None) -> None:
    """The worker saw a work-horse die mid-job (killed, out of memory, past its timeout): say so
    on the row at once, "queued" when RQ is about to retry it, else "failed" — rather than
    "running" until the retry starts or the reaper comes by."""
    if rq_job.func_name != jobs.RQ_ENTRY or not rq_job.args:
        return
    how = f"信号 {os.WTERMSIG(ret_val)}" if ret_val and os.WIFSIGNALED(ret_val) else f"退出码 {ret_val}"
    with unscoped():
        job = db.session.get(Job, int(rq_job.args[0]), populate_existing=True)
    if job is None or job.state != "running" or rq_job.id != rq_job_id(job.tenant_id, job.id):
        return
    with tenant_context(job.tenant_id), acting_as(None, "worker"):
        if rq_job.should_retry:
            job.state, job.error = "queued", f"{INTERRUPTED}（{how}）"
        else:
            job.state, job.finished_at = "failed", utcnow()
            job.error = f"{INTERRUPTED}（{how}），已尝试 {job.attempts} 次，不再自动重试"
        db.session.commit()
