"""Worker entry: ``pingyi worker`` or ``rq worker -c worker.settings`` both land here."""

from __future__ import annotations

from flask import current_app

from .queue import get_queue, redis_connection


def run_worker(queues: list[str], burst: bool = False) -> None:
    from rq import Worker
    from rq.serializers import JSONSerializer

    if not current_app.config.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is not set: jobs run in-process, no worker is needed")
    conn = redis_connection()
    # The SQLAlchemy pool must not be shared with forked work-horses.
    from pingyi.extensions import db

    db.engine.dispose()
    worker = Worker([get_queue(q, conn) for q in queues], connection=conn, serializer=JSONSerializer)
    worker.work(with_scheduler=True, burst=burst)
