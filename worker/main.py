"""Worker entry: `pingyi worker` (it needs the app: configuration, database, the reaper)."""

from __future__ import annotations

from flask import current_app, has_app_context
from rq import Queue, Worker
from rq.job import Job

from pingyi.extensions import db
from pingyi.queue import get_queue, redis_connection

from . import reaper


class PingyiWorker(Worker):
    """RQ's forking worker plus the reaper. Each maintenance round (``maintenance_interval``) RQ
    cleans every queue's registries, which retries or fails the jobs of workers that died; then
    ``reaper.reconcile`` fixes the job rows RQ cannot. A dying work-horse is recorded on its row
    at once."""

    heartbeat_grace = 60

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # RQ allows a fixed 60 s past the next heartbeat before a job counts as abandoned; the
        # grace is configurable so tests (and impatient deployments) find dead workers sooner.
        return super().get_heartbeat_ttl(job, working_time) - 60 + self.heartbeat_grace

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            reaper.reconcile(self.connection)
        except Exception:  # the worker must keep working
            self.log.exception("Worker %s: reaper failed", self.name)
        finally:
            _release_session()

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        try:
            reaper.record_interrupted(job, ret_val)
        except Exception:
            self.log.exception("Worker %s: could not record the interrupted job %s", self.name, job.id)
        finally:
            _release_session()

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # The forked horse must not use the parent's pooled connections (the reaper uses them):
        # drop them without closing, as SQLAlchemy advises after a fork.
        if has_app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


def _release_session() -> None:
    """The main process holds no session between its rare database visits (horses fork from it)."""
    if has_app_context():
        db.session.remove()


def run_worker(queues: list[str], burst: bool = False) -> None:
    """Work the named queues with the scheduler (retry backoff) and the reaper about once per
    ``WORKER_MAINTENANCE_INTERVAL``: RQ runs maintenance between blocking dequeues, which wait
    ``worker_ttl - 15`` seconds, so the worker TTL follows the interval."""
    from rq.serializers import JSONSerializer

    if not current_app.config.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is not set: jobs run in-process, no worker is needed")
    conn = redis_connection()
    # The SQLAlchemy pool must not be shared with forked work-horses.
    db.engine.dispose()
    cfg = current_app.config
    interval = max(1, int(cfg.get("WORKER_MAINTENANCE_INTERVAL", 60)))
    worker = PingyiWorker([get_queue(q, conn) for q in queues], connection=conn, serializer=JSONSerializer,
                          maintenance_interval=interval, worker_ttl=interval + 15,
                          job_monitoring_interval=max(1, int(cfg.get("WORKER_JOB_MONITORING_INTERVAL", 30))))
    worker.heartbeat_grace = max(1, int(cfg.get("WORKER_HEARTBEAT_GRACE", 60)))
    worker.work(with_scheduler=True, burst=burst)
