"""Live tallies while a campaign is open: cast ballots wait in the sealed box; now and then the
mixer moves a batch of at least k into the ballot tables and an incremental tally counts what
moved. Never in the voter's request: a ballot only asks for a run, and its box row is the
record of the request, so nothing is lost when the asking fails.

- With Redis the request is debounced: the first ballot sets a per-campaign key (``SET NX``,
  holding the RQ job's id) and schedules one job ``LIVE_TALLY_DELAY`` seconds later; ballots
  meanwhile find the key and add nothing. The job deletes the key before counting, so a ballot
  cast during its run schedules the next one. A process that found a run pending does not ask
  again for ``LIVE_TALLY_DELAY`` seconds. Redis is asked with short time-outs, and not again for
  a few seconds after it failed: a Redis that is down or slow costs the voter nothing.
  The worker's maintenance (``catch_up``, every few seconds) schedules a run for every campaign
  whose box or inbox holds work and whose job is gone (Redis restarted empty, or was down while
  ballots came in).
- Without Redis (the embedded default) one thread per process (``_Pump``) runs the requested
  campaigns at most once per ``LIVE_TALLY_DELAY``.

Runs of one campaign never overlap (``tally`` takes a per-campaign lock). A ballot boxed after
its campaign closed (a submit racing the close) is not mixed alone: the campaign is sealed
again (``tally.seal``: the rest of the box reshuffled in with the others).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from flask import Flask, current_app
from rq import Retry
from sqlalchemy import func, select

from pingyi import jobs
from pingyi.bulk import analyze_grown
from pingyi.extensions import db
from pingyi.models import BoxedBallot, Campaign, TallyInbox
from pingyi.queue import fetch_rq_job, get_queue, redis_connection, rq_job_alive
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import mixer
from pingyi.voting.ballots import ballot_boxed

from . import tally

RQ_ENTRY = "worker.jobs.live_tally"  # a stable path: scheduled jobs survive a deploy
KEY_TTL = 600  # a key whose job is lost is replaced by ``catch_up`` long before it expires
REDIS_TIMEOUT = 0.5  # seconds a voter's request may wait on Redis, at most
REDIS_BACKOFF = 5.0  # after a failure, ballots do not ask Redis again for this long
_redis_down_until = 0.0
_asked: dict[tuple, float] = {}  # (prefix, tenant, campaign) → until when this process need not ask
GROWING = ("answers", "ballots", "comments", "tally_inbox", "tally_counts")  # what voting grows


def pending_key(tenant_id: int, campaign_id: int) -> str:
    return f"{current_app.config.get('RQ_PREFIX', '')}pingyi:live-tally:{tenant_id}:{campaign_id}"


@ballot_boxed.connect
def ballot_cast(_sender, tenant_id: int, campaign_id: int) -> None:
    """After a ballot of ``campaign_id`` is committed to the box (``voting.ballots.ballot_boxed``):
    ask for a run, never run one here; a failure is logged and the box row waits for catch-up."""
    global _redis_down_until
    if not current_app.config.get("REDIS_URL"):
        _pump(current_app._get_current_object()).request(tenant_id, campaign_id)
        return
    now = time.monotonic()
    key = (current_app.config.get("RQ_PREFIX", ""), tenant_id, campaign_id)
    if now < _redis_down_until or now < _asked.get(key, 0):
        return
    try:
        schedule(tenant_id, campaign_id, redis_connection(timeout=REDIS_TIMEOUT))
        # a run is pending now: the ballots of the next LIVE_TALLY_DELAY seconds need not ask
        # again (one ballot after it, or the workers' catch-up, schedules the next run)
        _asked[key] = now + float(current_app.config["LIVE_TALLY_DELAY"])
        if len(_asked) > 10_000:
            _asked.clear()
    except Exception as exc:
        _redis_down_until = time.monotonic() + REDIS_BACKOFF
        current_app.logger.warning("live tally of campaign %s not scheduled (%s); the worker catches up",
                                   campaign_id, type(exc).__name__)


def schedule(tenant_id: int, campaign_id: int, conn=None) -> bool:
    """Schedule one run ``LIVE_TALLY_DELAY`` seconds from now unless one is pending; True if
    this call scheduled it. The key names the job, so ``catch_up`` can tell a lost one."""
    conn = conn or redis_connection()
    key = pending_key(tenant_id, campaign_id)
    if not conn.set(key, "scheduling", nx=True, ex=KEY_TTL):
        return False
    try:
        job = get_queue("tally", conn).enqueue_in(
            timedelta(seconds=current_app.config["LIVE_TALLY_DELAY"]), RQ_ENTRY,
            tenant_id, campaign_id, job_timeout=600, retry=Retry(max=2, interval=[5, 30]))
        conn.set(key, job.id, xx=True, keepttl=True)
    except Exception:
        conn.delete(key)  # best effort: else catch_up finds no job behind the key and replaces it
        raise
    return True


def waiting_work(min_batch: int) -> list[tuple[int, int]]:
    """(tenant, campaign) of every campaign with work for a live run: at least ``min_batch``
    ballots in the box, or any in the box of a campaign no longer open (to be sealed in), or
    ballots moved but not yet counted. Read across tenants on purpose: it only names them."""
    with unscoped():
        boxed = db.session.execute(
            select(BoxedBallot.tenant_id, BoxedBallot.campaign_id, func.count(), Campaign.state)
            .join(Campaign, Campaign.id == BoxedBallot.campaign_id)
            .group_by(BoxedBallot.tenant_id, BoxedBallot.campaign_id, Campaign.state)).all()
        uncounted = db.session.execute(select(TallyInbox.tenant_id, TallyInbox.campaign_id)
                                       .where(TallyInbox.claimed.is_(False)).distinct()).all()
    found = {(t, c) for t, c, n, state in boxed if n >= min_batch or state != "open"}
    return sorted(found | {(t, c) for t, c in uncounted})


def catch_up(conn=None) -> list[tuple[int, int]]:
    """The worker's maintenance: schedule a run for each campaign with waiting work whose key
    names no job RQ will still run (lost with Redis's data, never scheduled while Redis was
    down). Returns the campaigns it scheduled."""
    conn = conn or redis_connection()
    out = []
    work = waiting_work(mixer.batch_size())
    db.session.rollback()
    for tenant_id, campaign_id in work:
        key = pending_key(tenant_id, campaign_id)
        job_id = conn.get(key)
        if job_id is not None:
            job = fetch_rq_job(job_id.decode(), conn) if job_id != b"scheduling" else None
            if job is not None and rq_job_alive(job):
                continue
            if job is None and job_id == b"scheduling" and conn.ttl(key) > KEY_TTL - 10:
                continue  # a ballot is scheduling it right now
            conn.delete(key)
        if schedule(tenant_id, campaign_id, conn):
            out.append((tenant_id, campaign_id))
    return out


def update_now(tenant_id: int, campaign_id: int) -> None:
    """One mix and, when it moved ballots, one incremental tally, committed (the worker's job
    body, and the in-process thread's). A campaign no longer open with ballots in its box is
    sealed again instead, by the closing job (once: not while one is queued or running)."""
    with tenant_context(tenant_id):
        state = db.session.execute(select(Campaign.state).where(Campaign.id == campaign_id)).scalar_one_or_none()
        if state is None:
            return
        if state != "open":
            if mixer.waiting(campaign_id) and not any(j.state in ("queued", "running")
                                                      for j in jobs.recent("tally", campaign_id)):
                tally.submit_seal(campaign_id)
            db.session.rollback()
            return
        if mixer.mix(campaign_id):
            analyze_grown(*GROWING)
            tally.update(campaign_id)
            db.session.commit()


def run_job(tenant_id: int, campaign_id: int) -> None:
    """The RQ job: clear the pending key first, so ballots cast during this run are not missed."""
    redis_connection().delete(pending_key(tenant_id, campaign_id))
    update_now(tenant_id, campaign_id)


class _Pump:
    """The in-process runner (no Redis): one daemon thread per app that waits
    ``LIVE_TALLY_DELAY`` after a request, then runs every requested campaign once, and stops
    when nothing was asked for a while. ``drain`` runs what is pending now and waits for it."""

    IDLE = 30.0  # seconds without requests before the thread ends

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pending: set[tuple[int, int]] = set()
        self.cv = threading.Condition()
        self.thread: threading.Thread | None = None
        self.busy = self.hurry = False

    def request(self, tenant_id: int, campaign_id: int) -> None:
        with self.cv:
            self.pending.add((tenant_id, campaign_id))
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="pingyi-live-tally", daemon=True)
                self.thread.start()
            self.cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self.cv:
                if not self.cv.wait_for(lambda: self.pending, timeout=self.IDLE):
                    self.thread = None
                    return
                self.cv.wait_for(lambda: self.hurry, timeout=float(self.app.config["LIVE_TALLY_DELAY"]))
                work, self.pending, self.busy = self.pending, set(), True
            try:
                self._run(work)
            finally:
                with self.cv:
                    self.busy = False
                    self.cv.notify_all()

    def _run(self, work: Iterable[tuple[int, int]]) -> None:
        with self.app.app_context():
            for tenant_id, campaign_id in sorted(work):
                try:
                    update_now(tenant_id, campaign_id)
                except Exception:  # the ballots stay in the box or the inbox for the next run
                    db.session.rollback()
                    self.app.logger.exception("live tally of campaign %s not updated", campaign_id)
            db.session.remove()

    def drain(self, timeout: float = 120) -> None:
        with self.cv:
            self.hurry = True
            self.cv.notify_all()
            try:
                self.cv.wait_for(lambda: not self.pending and not self.busy, timeout=timeout)
            finally:
                self.hurry = False


_pumps_lock = threading.Lock()


def _pump(app: Flask) -> _Pump:
    with _pumps_lock:
        return app.extensions.setdefault("pingyi.live", _Pump(app))


def drain(app: Flask | None = None) -> None:
    """Run the in-process live tallies asked for so far and wait for them (tests, the command
    line, shutting down); nothing to do with Redis, whose worker runs them."""
    app = app or current_app._get_current_object()
    pump = app.extensions.get("pingyi.live")
    if pump is not None:
        pump.drain()
