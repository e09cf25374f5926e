"""Votes under faults, on the production path: PostgreSQL, a Redis of the test's own and real
`pingyi worker` processes. Ballots are cast from several threads while the test kills the
worker (-9), kills Redis (its data goes with it) and starts both again; every accepted ballot
is then stored exactly once, no voter saw a 5xx, and the live tally catches up with a full
recount within the workers' maintenance interval, without another ballot. A worker killed
while Redis stays up hands the scheduler to the next one within seconds."""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import Ballot, BallotToken, BoxedBallot, TallyRun
from pingyi.results import tally
from pingyi.tenancy import tenant_context
from pingyi.voting import mixer
from tests import servers
from tests.ballot_world import build, full_answers
from tests.conftest import _admin_conn, _migrate, _pg_url, make_app
from tests.factories import build_world

MAINTENANCE = 1  # the workers' maintenance interval here (seconds)
WORKER_ENV = {"PINGYI_WORKER_MAINTENANCE_INTERVAL": str(MAINTENANCE), "PINGYI_WORKER_JOB_MONITORING_INTERVAL": "1",
              "PINGYI_WORKER_HEARTBEAT_GRACE": "2", "PINGYI_LIVE_TALLY_DELAY": "0.3"}


@pytest.fixture
def pg_url():
    """A migrated PostgreSQL database of this test's own (the fault test is about the server stack)."""
    servers.require("postgresql")
    name = f"pingyi_test_{secrets.token_hex(6)}"
    with _admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _pg_url(name)
        _migrate(url)
        yield url
    finally:
        with _admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def stack(pg_url, tmp_path):
    """Redis of its own, the app (REDIS_URL pointing at it) and a way to start workers."""
    redis = servers.RedisServer(tmp_path / "redis")
    redis.start()
    prefix = f"pingyi_test_{secrets.token_hex(4)}_"
    app = make_app(("postgresql", pg_url), REDIS_URL=redis.url, RQ_PREFIX=prefix, LIVE_TALLY_DELAY=0.3,
                   BALLOT_PAGE_LIMIT="100000 per minute")
    started: list[subprocess.Popen] = []

    def worker() -> subprocess.Popen:
        log = (tmp_path / f"worker{len(started)}.log").open("w")
        env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis.url, "PINGYI_RQ_PREFIX": prefix,
               "SECRET_KEY": "test", "PYTHONUNBUFFERED": "1", **WORKER_ENV}
        p = subprocess.Popen([sys.executable, "-m", "pingyi.cli", "worker", "--queues", "tally"], env=env,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        p.log_path = log.name
        started.append(p)
        return p

    app.redis, app.start_worker = redis, worker
    yield app
    for p in started:
        kill(p)
    redis.kill()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def kill(p: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group (worker, scheduler, work-horse)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=10)


def caught_up(app, tenant_id: int, campaign_id: int) -> tuple[bool, str]:
    """Is the live tally what a full recount gives, with fewer than k ballots left in the box?"""
    with app.app_context(), tenant_context(tenant_id):
        run = db.session.execute(select(TallyRun.ballots).where(TallyRun.campaign_id == campaign_id)).scalar_one_or_none()
        stored = sorted(tally.stored_rows(campaign_id))
        fresh = sorted(tally.count_rows(campaign_id))
        moved = db.session.execute(select(func.count()).select_from(Ballot)
                                   .where(Ballot.campaign_id == campaign_id)).scalar_one()
        waiting = mixer.waiting(campaign_id)
        db.session.rollback()
    ok = run is not None and stored == fresh and run == moved and waiting < app.config["MIN_CELL"]
    return ok, f"run={run} moved={moved} waiting={waiting} cells {len(stored)}/{len(fresh)}"


def wait_until(what, timeout: float, why=lambda: "") -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if what():
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"not within {timeout} s: {why()}")


def test_ballots_survive_a_killed_worker_and_a_lost_redis(stack):
    app = stack
    with app.app_context():
        world = build_world()
        bw = build(world, links=80)
        links = [ln.secret for ln in bw.own]
        bodies = {s: full_answers(world, bw, s, i % 4) for i, s in enumerate(links)}
    worker = app.start_worker()
    todo: queue.Queue[str] = queue.Queue()
    for s in links:
        todo.put(s)
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def voter() -> None:
        client = app.test_client()
        while True:
            try:
                secret = todo.get_nowait()
            except queue.Empty:
                return
            r = client.post(f"/b/{secret}", data=bodies[secret])
            with lock:
                answers.append((secret, r.status_code, r.text))
            time.sleep(0.08)

    threads = [threading.Thread(target=voter) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    kill(worker)  # mid-vote; its scheduled and running live tallies die with it
    time.sleep(0.5)
    app.redis.kill()  # Redis down: rate limits fall back to memory, live tallies wait in the database
    time.sleep(3)
    app.redis.start()  # back, empty: every scheduled job and pending key is gone
    worker = app.start_worker()
    for t in threads:
        t.join(timeout=120)
    statuses = sorted({code for _s, code, _t in answers})
    assert len(answers) == len(links) and statuses == [200], \
        [(code, text[:200]) for _s, code, text in answers if code != 200][:3]
    assert all("回执码" in text for _s, _c, text in answers)
    with app.app_context(), tenant_context(world.a.id):
        used = db.session.execute(select(func.count()).select_from(BallotToken)
                                  .where(BallotToken.campaign_id == bw.campaign_id, BallotToken.used)).scalar_one()
        stored = (db.session.execute(select(func.count()).select_from(Ballot)
                                     .where(Ballot.campaign_id == bw.campaign_id)).scalar_one()
                  + db.session.execute(select(func.count()).select_from(BoxedBallot)
                                       .where(BoxedBallot.campaign_id == bw.campaign_id)).scalar_one())
        db.session.rollback()
    assert used == stored == len(links)  # every accepted ballot stored, none twice
    # No ballot comes after the faults: the workers' maintenance alone brings the live tally up
    # to date (a few rounds: the worker's start, the scheduler's delay, the job).
    wait_until(lambda: caught_up(app, world.a.id, bw.campaign_id)[0], 15 * MAINTENANCE,
               lambda: caught_up(app, world.a.id, bw.campaign_id)[1] + "\n" + Path(worker.log_path).read_text()[-3000:])


def test_a_restarted_worker_takes_over_the_scheduler_within_seconds(stack):
    """The killed worker's scheduler lock would block its successor for 61 s with RQ's own TTL."""
    app = stack
    with app.app_context():
        world = build_world()
        bw = build(world, links=10)
        bodies = [(ln.secret, full_answers(world, bw, ln.secret, 1)) for ln in bw.own]
    worker = app.start_worker()
    client = app.test_client()
    for secret, body in bodies[:5]:
        assert client.post(f"/b/{secret}", data=body).status_code == 200
    wait_until(lambda: caught_up(app, world.a.id, bw.campaign_id)[0], 20,
               lambda: Path(worker.log_path).read_text()[-3000:])
    kill(worker)
    start = time.monotonic()
    worker = app.start_worker()
    for secret, body in bodies[5:]:  # scheduled for 0.3 s from now: only a scheduler moves them on
        assert client.post(f"/b/{secret}", data=body).status_code == 200
    wait_until(lambda: caught_up(app, world.a.id, bw.campaign_id)[0] and
               caught_up(app, world.a.id, bw.campaign_id)[1].startswith("run=10"), 30,
               lambda: caught_up(app, world.a.id, bw.campaign_id)[1] + Path(worker.log_path).read_text()[-3000:])
    assert time.monotonic() - start < 15
