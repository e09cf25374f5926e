"""The parts of the service and whether each is up, as data (``/healthz`` renders it).

Required: the database always; Redis and the RQ scheduler only with ``REDIS_URL`` (without it
jobs run in-process, and Redis is "not configured", not down). A part that cannot be asked
because another is down (the queues when Redis is down) is "unknown", so the answer names the
cause. Redis is asked with short time-outs and no retries: a Redis that is down or unreachable
costs this answer at most about a second. The output holds no address, URL or tenant data.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from typing import Any

from flask import current_app
from sqlalchemy import text

from pingyi.extensions import db
from pingyi.queue import QUEUES

OK, DOWN, UNKNOWN, NOT_CONFIGURED = "ok", "down", "unknown", "not configured"
REDIS_TIMEOUT = 0.5  # seconds, for connecting and for each command

_clients: dict[tuple[str, int], Any] = {}


def redis_client(url: str):
    """A Redis client for health checks: short time-outs, no retries (redis-py retries a
    failed command by default, which would multiply the time-out), one per process."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    key = (url, os.getpid())
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
                                                retry=Retry(NoBackoff(), 0))
    return client


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _failure(exc: Exception) -> str:
    return type(exc).__name__  # never the message: it may name hosts, users or databases


def database() -> dict:
    """One ``SELECT 1`` through the app's own pool (the connections the pages use)."""
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        return {"status": OK, "ms": _ms(started)}
    except Exception as exc:
        return {"status": DOWN, "error": _failure(exc), "ms": _ms(started)}
    finally:
        with suppress(Exception):
            db.session.rollback()


def queue_names() -> dict[str, str]:
    """Each queue's name in Redis (``RQ_PREFIX`` namespaces them) by its name in the app."""
    prefix = current_app.config.get("RQ_PREFIX", "")
    return {name: prefix + name for name in QUEUES}


def redis_parts() -> dict[str, dict]:
    """``redis``, ``queues`` (jobs waiting per queue) and ``scheduler`` (does a scheduler hold
    each queue's lock?), read in one round trip after the ping."""
    if not current_app.config.get("REDIS_URL"):
        return {"redis": {"status": NOT_CONFIGURED}, "queues": {"status": NOT_CONFIGURED},
                "scheduler": {"status": NOT_CONFIGURED}}
    conn = redis_client(current_app.config["REDIS_URL"])
    started = time.perf_counter()
    try:
        conn.ping()
        redis = {"status": OK, "ms": _ms(started)}
    except Exception as exc:
        return {"redis": {"status": DOWN, "error": _failure(exc), "ms": _ms(started)},
                "queues": {"status": UNKNOWN}, "scheduler": {"status": UNKNOWN}}
    from rq import Queue
    from rq.scheduler import RQScheduler

    names = queue_names()
    try:
        pipe = conn.pipeline(transaction=False)
        for full in names.values():
            pipe.llen(Queue.redis_queue_namespace_prefix + full)
        # RQ's scheduler holds one lock per queue it schedules (worker.main.PingyiScheduler
        # refreshes it every second; it expires 10 s after the scheduler died)
        for full in names.values():
            pipe.exists(RQScheduler.get_locking_key(full))
        answers = pipe.execute()
    except Exception as exc:
        redis = {"status": DOWN, "error": _failure(exc), "ms": _ms(started)}
        return {"redis": redis, "queues": {"status": UNKNOWN}, "scheduler": {"status": UNKNOWN}}
    depth = dict(zip(names, (int(n) for n in answers[:len(names)]), strict=True))
    held = dict(zip(names, (bool(n) for n in answers[len(names):]), strict=True))
    scheduler: dict[str, Any] = {"status": OK if all(held.values()) else DOWN, "queues": held}
    if not all(held.values()):
        scheduler["error"] = "no scheduler holds the lock of " + ", ".join(q for q, h in held.items() if not h)
    return {"redis": redis, "queues": {"status": OK, "depth": depth}, "scheduler": scheduler}


def check() -> dict:
    """Every part's state; ``status`` is "down" when a required part is, ``down`` names them."""
    parts = {"database": database(), **redis_parts()}
    down = [name for name, part in parts.items() if part["status"] == DOWN]
    return {"status": DOWN if down else OK, "down": down, "parts": parts}
