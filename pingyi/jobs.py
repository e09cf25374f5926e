"""Job rows: the state of worker jobs as the pages see it (queued → running → done/failed,
progress, error, files). Jobs take ids, never objects; ``submit`` queues them on RQ when
``REDIS_URL`` is set and runs them in-process otherwise."""

from __future__ import annotations

from flask import current_app

from .extensions import db
from .models import Job, JobFile, utcnow
from .tenancy import require_tenant_id

QUEUE_OF = {"issue_links": "bulk", "tally": "tally", "report": "reports"}
TIMEOUT_OF = {"issue_links": 1800, "tally": 1800, "report": 1800}


def create(kind: str, params: dict, total: int = 0, user_id: int | None = None) -> Job:
    job = Job(tenant_id=require_tenant_id(), kind=kind, params=params, total=total, created_by=user_id)
    db.session.add(job)
    db.session.flush()
    return job


def submit(kind: str, params: dict, total: int = 0, user_id: int | None = None, run_here: bool = False) -> Job:
    """Create the job row, commit it, then queue (or run) it; returns the job row.
    ``run_here`` runs it in this process even with Redis (the command line waits for results)."""
    job = create(kind, params, total, user_id)
    db.session.commit()
    return requeue(job, run_here)


def max_attempts() -> int:
    """Runs a job row gets in all: the first and ``JOB_RETRY_MAX`` retries (the reaper's re-queues count too)."""
    return 1 + int(current_app.config.get("JOB_RETRY_MAX", 3))


def retry_policy(attempts: int):
    """An RQ ``Retry`` for the attempts a job row has left after ``attempts``, or ``None``.
    RQ picks interval ``len(intervals) - retries_left``, so a job re-queued after two attempts
    resumes the backoff where it stopped instead of starting over."""
    from rq import Retry

    left = max_attempts() - attempts - 1
    if left < 1:
        return None
    return Retry(max=left, interval=list(current_app.config.get("JOB_RETRY_INTERVALS") or [0]))


def requeue(job: Job, run_here: bool = False) -> Job:
    """Queue a (new or failed) job row on RQ, or run it here when there is no Redis.
    The RQ job's id comes from the row (the reaper finds it again); failures retry with backoff
    until the row has had ``max_attempts()`` runs, and an admin's retry always gets one more."""
    job_id, kind = job.id, job.kind
    if current_app.config.get("REDIS_URL") and not run_here:
        from worker.queue import enqueue, rq_job_id

        enqueue(QUEUE_OF.get(kind, "default"), "worker.jobs.run", job_id, timeout=TIMEOUT_OF.get(kind, 600),
                job_id=rq_job_id(job.tenant_id, job_id), retry=retry_policy(job.attempts))
    else:
        from worker.jobs import run
        from worker.queue import running_here

        # With Redis the reaper would take a row running here (no RQ job) for a lost one.
        with running_here(job.tenant_id, job_id, 2 * TIMEOUT_OF.get(kind, 600)):
            try:
                run(job_id)
            except Exception:  # recorded on the job row; the page shows it
                current_app.logger.exception("job %s failed", job_id)
    return db.session.get(Job, job_id)


def progress(job: Job, done: int, total: int | None = None) -> None:
    """Record progress and commit (jobs commit in chunks, so this also saves the work so far)."""
    job.done = done
    if total is not None:
        job.total = total
    db.session.commit()


def add_file(job: Job, name: str, mime: str, data: bytes, once: bool = False) -> JobFile:
    f = JobFile(tenant_id=job.tenant_id, job_id=job.id, name=name, mime=mime, size=len(data), data=data, once=once)
    db.session.add(f)
    db.session.flush()
    return f


def take_file(f: JobFile) -> bytes | None:
    """The file's bytes; a download-once file is emptied as it is handed out."""
    data = f.data
    if data is not None and f.once:
        f.data = None
        f.downloaded_at = utcnow()
        db.session.commit()
    return data
