"""Worker entry: `pingyi worker` (it needs the app: configuration, database, the reaper)."""

from __future__ import annotations

import time
from datetime import datetime

from flask import current_app, has_app_context
from rq import Queue, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job
from rq.scheduler import RQScheduler

from pingyi import jobs
from pingyi.extensions import db
from pingyi.models import utcnow
from pingyi.queue import enqueue, get_queue, redis_connection
from pingyi.rectification.ledger import local_today
from pingyi.results import live

from . import reaper


class PingyiScheduler(RQScheduler):
    """RQ's scheduler (it moves retries and the debounced live tallies onto their queues when
    due) with a lock that outlives a killed scheduler by ``lock_ttl`` seconds, not RQ's 61: the
    next worker's maintenance round takes it over within seconds. The scheduler refreshes it
    every ``interval`` (1 s)."""

    lock_ttl = 10

    def _shorten(self) -> None:
        for name in self.acquired_locks:
            self.connection.expire(self.get_locking_key(name), self.lock_ttl)

    def acquire_locks(self, auto_start: bool = False):
        got = super().acquire_locks(auto_start)
        self._shorten()
        return got

    def heartbeat(self) -> None:
        super().heartbeat()
        self._shorten()


class PingyiWorker(Worker):
    """RQ's forking worker plus the reaper and the live tallies' catch-up. Each maintenance round
    (``maintenance_interval``, a few seconds) RQ takes over a dead scheduler's lock once it
    expired and cleans every queue's registries, which retries or fails the jobs of workers that
    died; ``live.catch_up`` schedules the live tallies Redis lost; about once per
    ``reaper_interval`` ``reaper.reconcile`` fixes the job rows RQ cannot and ``jobs.expire_files``
    drops the files nobody downloaded in time; once a day
    ``schedule_daily_overdue`` queues the ledger's overdue check. A dying work-horse is
    recorded on its row at once."""

    heartbeat_grace = 60
    reaper_interval = 60.0
    _reaped_at = 0.0

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # RQ allows a fixed 60 s past the next heartbeat before a job counts as abandoned; the
        # grace is configurable so tests (and impatient deployments) find dead workers sooner.
        return super().get_heartbeat_ttl(job, working_time) - 60 + self.heartbeat_grace

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            live.catch_up(self.connection)
        except Exception:  # the worker must keep working
            self.log.exception("Worker %s: live tally catch-up failed", self.name)
        finally:
            _release_session()
        try:
            schedule_daily_overdue(self.connection, utcnow())
        except Exception:
            self.log.exception("Worker %s: could not queue the daily overdue check", self.name)
        if time.monotonic() - self._reaped_at < self.reaper_interval:
            return
        self._reaped_at = time.monotonic()
        try:
            reaper.reconcile(self.connection)
            jobs.expire_files(utcnow())
        except Exception:
            self.log.exception("Worker %s: reaper failed", self.name)
        finally:
            _release_session()

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT, log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """RQ's own, with ``PingyiScheduler`` (RQ names its class inside this method)."""
        self.scheduler = PingyiScheduler(self.queues, connection=self.connection,
                                         logging_level=logging_level if logging_level is not None else self.log.level,
                                         date_format=date_format, log_format=log_format, serializer=self.serializer)
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()

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


OVERDUE_ZONE = "Asia/Shanghai"  # the day turns for the ledger's deadlines at midnight there


def schedule_daily_overdue(conn, now: datetime) -> bool:
    """Queue the ledger's overdue check (``worker.jobs.rectification_overdue``) once a day: the
    first maintenance round of any worker that day sets the day's Redis key, the others find it
    set. A worker started late in the day runs the day's check at once."""
    day = local_today(now, OVERDUE_ZONE).isoformat()
    key = f"{current_app.config.get('RQ_PREFIX', '')}pingyi:rectification-overdue:{day}"
    if not conn.set(key, "1", nx=True, ex=2 * 86400):
        return False
    enqueue("default", "worker.jobs.rectification_overdue", timeout=600)
    return True


def _release_session() -> None:
    """The main process holds no session between its rare database visits (horses fork from it)."""
    if has_app_context():
        db.session.remove()


def run_worker(queues: list[str], burst: bool = False) -> None:
    """Work the named queues with the scheduler (retry backoff, live tallies), maintenance every
    ``WORKER_MAINTENANCE_INTERVAL`` seconds and the reaper every ``JOB_REAPER_INTERVAL``: RQ runs
    maintenance between blocking dequeues, which wait ``worker_ttl - 15`` seconds, so the worker
    TTL follows the interval."""
    from rq.serializers import JSONSerializer

    if not current_app.config.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is not set: jobs run in-process, no worker is needed")
    conn = redis_connection()
    # The SQLAlchemy pool must not be shared with forked work-horses.
    db.engine.dispose()
    cfg = current_app.config
    interval = max(1, int(cfg.get("WORKER_MAINTENANCE_INTERVAL", 5)))
    worker = PingyiWorker([get_queue(q, conn) for q in queues], connection=conn, serializer=JSONSerializer,
                          maintenance_interval=interval, worker_ttl=interval + 15,
                          job_monitoring_interval=max(1, int(cfg.get("WORKER_JOB_MONITORING_INTERVAL", 5))))
    worker.heartbeat_grace = max(1, int(cfg.get("WORKER_HEARTBEAT_GRACE", 10)))
    worker.reaper_interval = max(interval, int(cfg.get("JOB_REAPER_INTERVAL", 60)))
    worker.work(with_scheduler=True, burst=burst)
