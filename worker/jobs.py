"""RQ entry points. Their dotted paths (``worker.jobs.run``, ``worker.jobs.live_tally``,
``worker.jobs.rectification_overdue``) are
stored with every queued job, so they stay put across releases; each opens an app context (the
worker forks from a process that has one; a bare RQ worker has none) and calls the domain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import has_app_context

_app = None


def _in_app(fn: Callable[..., Any], *args: Any) -> Any:
    global _app
    if has_app_context():
        return fn(*args)
    if _app is None:
        from pingyi import create_app

        _app = create_app()
    with _app.app_context():
        return fn(*args)


def run(job_id: int) -> None:
    """One attempt at a job row (``pingyi.jobs.run``: state, retries, the kind's work)."""
    from pingyi import jobs

    _in_app(jobs.run, job_id)


def live_tally(tenant_id: int, campaign_id: int) -> None:
    """Debounced incremental tally of an open campaign (scheduled by ``pingyi.results.live``)."""
    from pingyi.results import live

    _in_app(live.run_job, tenant_id, campaign_id)


def rectification_overdue() -> None:
    """The daily overdue check of every tenant's ledger (queued by the worker's maintenance)."""
    from pingyi.rectification import overdue

    _in_app(overdue.run_daily)
