"""Live tallies while a campaign is open: every cast ballot asks for a mix (the mixer moves a
batch of at least k boxed ballots into the ballot tables) and an incremental tally of what
moved.

With Redis the request is debounced: the first ballot sets a per-campaign key (``SET NX``) and
schedules one job ``LIVE_TALLY_DELAY`` seconds later; ballots meanwhile find the key and add
nothing. The job deletes the key before counting, so a ballot cast during its run schedules the
next one. Runs of one campaign never overlap (``tally`` takes a per-campaign lock). Without
Redis the mix and the increment run right here, after the ballot's commit. Either way a
failure here is logged and never touches the voter's ballot, which is already in the box.
A ballot boxed after its campaign closed (a submit racing the close) is not mixed alone: the
campaign is sealed again (``tally.seal``: the rest of the box reshuffled in with the others).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from rq import Retry

from pingyi.extensions import db
from pingyi.models import Campaign
from pingyi.queue import get_queue, redis_connection
from pingyi.tenancy import require_tenant_id, tenant_context
from pingyi.voting import mixer
from pingyi.voting.ballots import ballot_boxed

from . import tally

RQ_ENTRY = "worker.jobs.live_tally"  # a stable path: scheduled jobs survive a deploy
KEY_TTL = 600  # a lost job (Redis flushed) blocks live updates for at most this long


def pending_key(tenant_id: int, campaign_id: int) -> str:
    return f"{current_app.config.get('RQ_PREFIX', '')}pingyi:live-tally:{tenant_id}:{campaign_id}"


@ballot_boxed.connect
def ballot_cast(_sender, campaign_id: int) -> None:
    """After a ballot of ``campaign_id`` is committed to the box (``voting.ballots.ballot_boxed``)."""
    tenant_id = require_tenant_id()
    try:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is not None and campaign.state != "open":
            tally.submit_seal(campaign_id)
        elif current_app.config.get("REDIS_URL"):
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
    """One mix and, when it moved ballots, one incremental tally, committed (the worker's job
    body, and the no-Redis path)."""
    with tenant_context(tenant_id):
        if mixer.mix(campaign_id):
            tally.update(campaign_id)
            db.session.commit()


def run_job(tenant_id: int, campaign_id: int) -> None:
    """The RQ job: clear the pending key first, so ballots cast during this run are not missed."""
    redis_connection().delete(pending_key(tenant_id, campaign_id))
    update_now(tenant_id, campaign_id)
