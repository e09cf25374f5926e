"""Job rows: the state of worker jobs as the pages see it (queued → running → done/failed,
progress, error, files), and the one function that runs a row (``run``).

Jobs take ids, never objects; ``submit`` queues them on RQ when ``REDIS_URL`` is set and runs
them in-process otherwise. The domain packages declare their kinds with ``@handles(...)`` (the
function that does the work, its queue and timeout), so this ground-floor module never imports
them; the RQ entry point ``worker.jobs.run`` only opens an app context and calls ``run``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, select, update

from pingyi.audit import acting_as
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Job, JobFile, User, utcnow
from pingyi.queue import enqueue, rq_job_id, running_here
from pingyi.tenancy import require_tenant_id, tenant_context, unscoped

RQ_ENTRY = "worker.jobs.run"  # a stable path: queued jobs survive a deploy
# The MIME type of a file given to a job (an uploaded import), not made by it: a retry keeps
# it, and the pages never offer it for download.
INPUT = "application/vnd.pingyi.job-input"


@dataclass(frozen=True)
class Kind:
    work: Callable[[Job], None]
    queue: str
    timeout: int


_KINDS: dict[str, Kind] = {}


def handles(name: str, queue: str, timeout: int = 1800) -> Callable:
    """Declare a job kind: the decorated function does one attempt's work on the job row, on
    ``queue`` (one of ``pingyi.queue.QUEUES``), within ``timeout`` seconds."""
    def register(work: Callable[[Job], None]) -> Callable[[Job], None]:
        _KINDS[name] = Kind(work, queue, timeout)
        return work
    return register


def kind_of(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None


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
    job_id, k = job.id, kind_of(job.kind)
    if current_app.config.get("REDIS_URL") and not run_here:
        enqueue(k.queue, RQ_ENTRY, job_id, timeout=k.timeout, job_id=rq_job_id(job.tenant_id, job_id),
                retry=retry_policy(job.attempts))
    else:
        # With Redis the reaper would take a row running here (no RQ job) for a lost one.
        with running_here(job.tenant_id, job_id, 2 * k.timeout):
            try:
                run(job_id)
            except Exception:  # recorded on the job row; the page shows it
                current_app.logger.exception("job %s failed", job_id)
    return db.session.get(Job, job_id)


def run(job_id: int) -> None:
    """One attempt at a job row, in its tenant, as its creator. A failure RQ will retry leaves
    the row "queued" with its error (the page says a retry follows); only a failure with no
    retry left makes it "failed"; the error is re-raised either way (a job that swallowed it
    would count as done). A retry starts clean: files an interrupted attempt committed are
    dropped. A row already "done" is not run again (its worker died after the commit, before
    RQ recorded the success)."""
    from rq import get_current_job

    with unscoped():
        job = db.session.get(Job, job_id)
    if job is None:
        raise LookupError(f"no job {job_id}")
    if job.state == "done":
        current_app.logger.warning("job %s is already done; not running it again", job_id)
        return
    user = db.session.get(User, job.created_by) if job.created_by else None
    with tenant_context(job.tenant_id), acting_as(user.id if user else None, user.email if user else "worker"):
        if job.attempts:
            db.session.execute(delete(JobFile).where(JobFile.job_id == job_id, JobFile.mime != INPUT))
        job.state, job.started_at, job.finished_at = "running", utcnow(), None
        job.attempts, job.error = job.attempts + 1, ""
        db.session.commit()
        try:
            kind_of(job.kind).work(job)
            job.state, job.finished_at = "done", utcnow()
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            job = db.session.get(Job, job_id)
            rq_job = get_current_job()  # None in-process; RQ retries when retries are left
            retrying = rq_job is not None and rq_job.should_retry
            job.state, job.finished_at = ("queued", None) if retrying else ("failed", utcnow())
            job.error = (str(exc) or type(exc).__name__)[:2000]
            current_app.logger.error("job %s failed (attempt %s%s)", job_id, job.attempts,
                                     ", will retry" if retrying else "", exc_info=True)
            db.session.commit()
            raise


def recent(kind: str, campaign_id: int, limit: int = 10) -> list[Job]:
    """The newest jobs of one kind for one campaign (filtered before the limit, so a busy
    tenant's other campaigns cannot push them out)."""
    return list(db.session.execute(
        select(Job).where(Job.kind == kind, Job.params["campaign_id"].as_integer() == campaign_id)
        .order_by(Job.id.desc()).limit(limit)).scalars())


def progress(job: Job, done: int, total: int | None = None) -> None:
    """Record progress and commit (jobs commit in chunks, so this also saves the work so far)."""
    job.done = done
    if total is not None:
        job.total = total
    db.session.commit()


def add_file(job: Job, name: str, mime: str, data: bytes, once: bool = False) -> JobFile:
    """Keep a file with its job, in the database; refused beyond JOB_FILE_MAX_MB (the job fails
    with the reason rather than filling the database)."""
    most = current_app.config["JOB_FILE_MAX_MB"] * 1024 * 1024
    if len(data) > most:
        raise DomainError(_("文件“%(name)s”超过 %(n)d MB，请分批生成", name=name, n=most // (1024 * 1024)))
    f = JobFile(tenant_id=job.tenant_id, job_id=job.id, name=name, mime=mime, size=len(data), data=data, once=once)
    db.session.add(f)
    db.session.flush()
    return f


def add_input(job: Job, name: str, data: bytes) -> JobFile:
    """Keep a file the job works on with its row (so a worker on another host can read it)."""
    return add_file(job, name, INPUT, data)


def files_of(job: Job) -> list[JobFile]:
    """The files a job produced, in order (not its input: no page offers that)."""
    return list(db.session.execute(select(JobFile).where(JobFile.job_id == job.id, JobFile.mime != INPUT)
                                   .order_by(JobFile.id)).scalars())


def input_of(job: Job) -> JobFile | None:
    return db.session.execute(select(JobFile).where(JobFile.job_id == job.id, JobFile.mime == INPUT)
                              .order_by(JobFile.id)).scalars().first()


def expire_files(now: datetime) -> int:
    """Drop the bytes of every tenant's job files older than JOB_FILE_KEEP_DAYS that nobody
    downloaded (a link list nobody collected is a secret left lying about; reports can be made
    again); the rows stay, so the job's page says the file expired. A job still queued or
    running keeps its input. Returns how many files were dropped."""
    cutoff = now - timedelta(days=current_app.config["JOB_FILE_KEEP_DAYS"])
    busy = select(Job.id).where(Job.state.in_(("queued", "running")))
    with unscoped():
        done = db.session.execute(update(JobFile).where(
            JobFile.data.is_not(None), JobFile.created_at < cutoff,
            ~and_(JobFile.mime == INPUT, JobFile.job_id.in_(busy))).values(data=None)
            .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return done


def take_file(f: JobFile) -> bytes | None:
    """The file's bytes; a download-once file is emptied as it is handed out."""
    data = f.data
    if data is not None and f.once:
        f.data = None
        f.downloaded_at = utcnow()
        db.session.commit()
    return data
