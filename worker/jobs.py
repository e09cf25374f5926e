"""RQ job functions. Each takes a job row id, re-scopes to the job's tenant, records its
state on the row, and re-raises failures (a job that swallowed its error would count as done).
"""

from __future__ import annotations

import traceback

from flask import current_app, has_app_context

_app = None


def _app_context():
    global _app
    if has_app_context():
        return None
    if _app is None:
        from pingyi import create_app

        _app = create_app()
    return _app.app_context()


def run(job_id: int) -> None:
    ctx = _app_context()
    if ctx is not None:
        with ctx:
            _run(job_id)
    else:
        _run(job_id)


def _run(job_id: int) -> None:
    """One attempt. A failure RQ will retry leaves the row "queued" with its error (the page says
    a retry follows); only a failure with no retry left makes it "failed". A retry starts clean:
    files an interrupted attempt committed are dropped. A row already "done" is not run again
    (its worker died after the commit, before RQ recorded the success)."""
    from rq import get_current_job
    from sqlalchemy import delete

    from pingyi.audit import acting_as
    from pingyi.extensions import db
    from pingyi.models import Job, JobFile, User, utcnow
    from pingyi.tenancy import tenant_context, unscoped

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
            db.session.execute(delete(JobFile).where(JobFile.job_id == job_id))
        job.state, job.started_at, job.finished_at = "running", utcnow(), None
        job.attempts, job.error = job.attempts + 1, ""
        db.session.commit()
        try:
            KINDS[job.kind](job)
            job.state, job.finished_at = "done", utcnow()
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            job = db.session.get(Job, job_id)
            rq_job = get_current_job()  # None in-process; RQ retries when retries are left
            retrying = rq_job is not None and rq_job.should_retry
            job.state, job.finished_at = ("queued", None) if retrying else ("failed", utcnow())
            job.error = (str(exc) or type(exc).__name__)[:2000]
            current_app.logger.error("job %s failed (attempt %s%s): %s", job_id, job.attempts,
                                     ", will retry" if retrying else "", traceback.format_exc())
            db.session.commit()
            raise


def _issue_links(job) -> None:
    from pingyi.issuing import run_issue_job

    run_issue_job(job)


def _tally(job) -> None:
    from pingyi.tally import run_tally_job

    run_tally_job(job)


def _report(job) -> None:
    from pingyi.reports import run_report_job

    run_report_job(job)


KINDS = {"issue_links": _issue_links, "tally": _tally, "report": _report}


def live_tally(tenant_id: int, campaign_id: int) -> None:
    """Debounced incremental tally of an open campaign (scheduled by ``pingyi.live``)."""
    ctx = _app_context()
    from pingyi.live import run_job

    if ctx is None:
        run_job(tenant_id, campaign_id)
    else:
        with ctx:
            run_job(tenant_id, campaign_id)
