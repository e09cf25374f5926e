"""Live tallies while a campaign is open: every cast ballot asks for an incremental tally of
its campaign.

With Redis the request is debounced: the first ballot sets a per-campaign key (``SET NX``) and
schedules one job ``LIVE_TALLY_DELAY`` seconds later; ballots meanwhile find the key and add
nothing. The job deletes the key before counting, so a ballot cast during its run schedules the
next one. Runs of one campaign never overlap (``tally`` takes a per-campaign lock). Without
Redis the increment runs right here, after the ballot's commit. Either way a failure here is
logged and never touches the voter's ballot, which is already stored.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from rq import Retry

from pingyi.extensions import db
from pingyi.queue import get_queue, redis_connection
from pingyi.tenancy import require_tenant_id, tenant_context
from pingyi.voting.ballots import ballot_stored

from . import tally

RQ_ENTRY = "worker.jobs.live_tally"  # a stable path: scheduled jobs survive a deploy
KEY_TTL = 600  # a lost job (Redis flushed) blocks live updates for at most this long


def pending_key(tenant_id: int, campaign_id: int) -> str:
    return f"{current_app.config.get('RQ_PREFIX', '')}pingyi:live-tally:{tenant_id}:{campaign_id}"


@ballot_stored.connect
def ballot_cast(_sender, campaign_id: int) -> None:
    """After a ballot of ``campaign_id`` is committed (``voting.ballots.ballot_stored``)."""
    tenant_id = require_tenant_id()
    try:
        if current_app.config.get("REDIS_URL"):
            _schedule(tenant_id, campaign_id)
        else:
            update_now(tenant_id, campaign_id)
    except Exception:  # the ballot is stored; the next ballot or the closing recount catches up
        db.session.rollback()
        current_app.logger.exception("live tally of campaign %s not updated", campaign_id)


def _schedule(tenant_id: int, campaign_id: int) -> None:
    conn = redis_connection()
    if conn.set(pending_key(tenant_id, campaign_id), "1", nx=True, ex=KEY_TTL):
        get_queue("tally", conn).enqueue_in(
            timedelta(seconds=current_app.config["LIVE_TALLY_DELAY"]), RQ_ENTRY,
            tenant_id, campaign_id, job_timeout=600, retry=Retry(max=2, interval=[5, 30]))


def update_now(tenant_id: int, campaign_id: int) -> None:
    """One incremental tally, committed (the worker's job body, and the no-Redis path)."""
    with tenant_context(tenant_id):
        tally.update(campaign_id)
        db.session.commit()


def run_job(tenant_id: int, campaign_id: int) -> None:
    """The RQ job: clear the pending key first, so ballots cast during this run are not missed."""
    redis_connection().delete(pending_key(tenant_id, campaign_id))
    update_now(tenant_id, campaign_id)
