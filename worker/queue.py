"""Enqueue a job on RQ when ``REDIS_URL`` is set, else run it right here, in-process.

Jobs take ids (never ORM objects or token secrets) and use RQ's JSON serializer.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

QUEUES = ("tally", "reports", "bulk", "default")


def redis_connection(url: str | None = None):
    from redis import Redis

    return Redis.from_url(url or current_app.config["REDIS_URL"])


def get_queue(name: str, connection=None):
    """A named queue; ``RQ_PREFIX`` (PINGYI_RQ_PREFIX) namespaces queue names, e.g. per test run."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    if name not in QUEUES:
        raise ValueError(f"unknown queue {name}")
    return Queue(current_app.config.get("RQ_PREFIX", "") + name, connection=connection or redis_connection(),
                 serializer=JSONSerializer)


def enqueue(queue: str, func: str, *args: Any, timeout: int = 600, **kwargs: Any):
    """``func`` is a dotted path (``worker.jobs.tally``); returns an RQ job or the in-process result."""
    if not current_app.config.get("REDIS_URL"):
        import importlib

        module, _, name = func.rpartition(".")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    return get_queue(queue).enqueue(func, *args, job_timeout=timeout, **kwargs)
