"""``pingyi worker``: plugged into the app's command line through the ``pingyi.commands``
entry point, so the app package never imports the worker."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from pingyi.queue import QUEUES


@click.command("worker")
@click.option("--queues", default=",".join(QUEUES), show_default=True)
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@with_appcontext
def worker_cmd(queues, burst) -> None:
    """Start an RQ worker on REDIS_URL (with the scheduler, for retries and the reaper)."""
    from .main import run_worker

    run_worker(queues.split(","), burst=burst)
