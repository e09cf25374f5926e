"""RQ access for the app: the Redis connection, the named queues, enqueueing, and the RQ ids
derived from job rows (``pingyi.jobs`` decides whether a job goes to RQ or runs in-process).

Jobs take ids (never ORM objects or token secrets) and use RQ's JSON serializer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    from redis import Redis
    from rq import Retry
    from rq.job import Job as RQJob

QUEUES = ("tally", "reports", "bulk", "default")


_clients: dict[tuple[str, float | None, int], Redis] = {}


def redis_connection(url: str | None = None, timeout: float | None = None):
    """A Redis client for ``url`` (default ``REDIS_URL``), one per process and setting, so
    requests reuse its connection pool instead of connecting anew. ``timeout`` bounds connecting
    and every command (the voter's path); the worker's blocking reads need none."""
    from redis import Redis

    url = url or current_app.config["REDIS_URL"]
    key = (url, timeout, os.getpid())
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return client


def get_queue(name: str, connection=None):
    """A named queue; ``RQ_PREFIX`` (PINGYI_RQ_PREFIX) namespaces queue names, e.g. per test run."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    if name not in QUEUES:
        raise ValueError(f"unknown queue {name}")
    return Queue(current_app.config.get("RQ_PREFIX", "") + name, connection=connection or redis_connection(),
                 serializer=JSONSerializer)


def enqueue(queue: str, func: str, *args: Any, timeout: int = 600, job_id: str | None = None,
            retry: Retry | None = None, **kwargs: Any):
    """Queue ``func`` (the dotted path of an RQ entry point, ``worker.jobs.run``, imported by the
    worker, never here) on a named queue; returns the RQ job.

    With a ``job_id`` an RQ job of that id that is still waiting or running is kept (queueing it
    twice would run it twice); a finished or failed one is replaced. ``retry`` is an RQ ``Retry``."""
    q = get_queue(queue)
    if job_id is not None:
        existing = fetch_rq_job(job_id, q.connection)
        if existing is not None:
            if rq_job_alive(existing):
                return existing
            existing.delete()
    return q.enqueue(func, *args, job_timeout=timeout, job_id=job_id, retry=retry, **kwargs)


def rq_job_id(tenant_id: int, job_id: int) -> str:
    """The RQ id of a job row's RQ job, derived from the row so the reaper can find it. RQ keeps
    one id across its retries; ``RQ_PREFIX`` keeps test runs apart (RQ ids allow ``[A-Za-z0-9_-]``)."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", current_app.config.get("RQ_PREFIX", ""))
    return f"{prefix}pingyi-job-{tenant_id}-{job_id}"


def running_here_key(rq_id: str) -> str:
    """The Redis key marking a job row as run outside RQ (see ``running_here``)."""
    return f"pingyi:in-process:{rq_id}"


@contextmanager
def running_here(tenant_id: int, job_id: int, ttl: int) -> Iterator[None]:
    """Mark a job row as run in this process (``--wait`` on the command line), so the reaper
    leaves it alone although RQ has no job for it. The mark expires after ``ttl`` seconds, so a
    killed run is reaped in the end. Without Redis (or when it is down) there is no reaper to tell."""
    conn, key = None, None
    if current_app.config.get("REDIS_URL"):
        try:
            conn, key = redis_connection(), running_here_key(rq_job_id(tenant_id, job_id))
            conn.set(key, os.getpid(), ex=ttl)
        except Exception:
            current_app.logger.warning("could not mark job %s as running here", job_id, exc_info=True)
            conn = None
    try:
        yield
    finally:
        if conn is not None:
            with suppress(Exception):  # else it expires
                conn.delete(key)


def fetch_rq_job(rq_id: str, connection: Redis | None = None) -> RQJob | None:
    """The RQ job of that id, or ``None`` when Redis no longer has it."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    try:
        return Job.fetch(rq_id, connection=connection or redis_connection(), serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def rq_job_alive(rq_job: RQJob) -> bool:
    """Will RQ still run (or finish running) this job? Queued, scheduled (a retry's backoff),
    deferred, or started with its execution still registered. A started job whose worker died
    stays registered until its heartbeat expires; RQ's registry cleanup then retries or fails it."""
    from rq.job import JobStatus

    status = rq_job.get_status(refresh=False)
    if status == JobStatus.STARTED:
        return rq_job.id in rq_job.started_job_registry
    return status in (JobStatus.CREATED, JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED,
                      JobStatus.RATE_LIMITED, JobStatus.READY_TO_ENQUEUE)
