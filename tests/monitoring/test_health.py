"""/healthz: each part of the service up or not, as JSON; 503 naming the part when a required
one is down (the database always; Redis and the RQ scheduler only with REDIS_URL); quick when
Redis is down; nothing secret in the answer; operators only (PINGYI_METRICS_ALLOW)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pingyi import create_app
from pingyi.config import ConfigError
from pingyi.queue import QUEUES, get_queue
from tests import servers
from tests.conftest import make_app

ALL_UP = {"status": "ok", "down": []}


def _health(app, **environ):
    r = app.test_client().get("/healthz", environ_base=environ or {})
    return r.status_code, r.get_json(), r.get_data(as_text=True)


def test_the_embedded_default_is_up_and_redis_not_configured(app, database):
    status, body, text = _health(app)
    assert status == 200 and {k: body[k] for k in ALL_UP} == ALL_UP
    parts = body["parts"]
    assert parts["database"]["status"] == "ok"
    assert {parts[p]["status"] for p in ("redis", "queues", "scheduler")} == {"not configured"}
    assert database[1].rsplit("/", 1)[-1] not in text  # no database name, file or URL


def test_an_unreachable_database_is_a_503_naming_it(tmp_path):
    port = servers.free_port()  # nothing listens there
    app = create_app({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/pingyi", "TESTING": True,
                      "SECRET_KEY": "test", "REDIS_URL": None})
    started = time.monotonic()
    status, body, text = _health(app)
    assert time.monotonic() - started < 2
    assert status == 503 and body["status"] == "down" and body["down"] == ["database"]
    assert body["parts"]["database"]["status"] == "down" and body["parts"]["database"]["error"] == "OperationalError"
    assert str(port) not in text and "postgres" not in text.lower()
    r = app.test_client().get("/metrics")  # still answers, and says so
    assert r.status_code == 200 and 'pingyi_up{part="database"} 0.0' in r.get_data(as_text=True)


def test_a_configured_redis_that_is_down_is_a_503_naming_it(database, tmp_path):
    redis = servers.RedisServer(tmp_path / "redis")
    redis.start()
    try:
        app = make_app(database, REDIS_URL=redis.url)
        status, body, _ = _health(app)
        # Redis answers, but no worker runs: nothing would move retries or live tallies
        assert status == 503 and body["down"] == ["scheduler"]
        assert body["parts"]["redis"]["status"] == "ok"
        assert body["parts"]["queues"] == {"status": "ok", "depth": dict.fromkeys(QUEUES, 0)}
        assert body["parts"]["scheduler"]["queues"] == dict.fromkeys(QUEUES, False)
        redis.kill()
        started = time.monotonic()
        status, body, text = _health(app)
        assert time.monotonic() - started < 1.5
        assert status == 503 and body["down"] == ["redis"]  # the cause, not what depends on it
        assert body["parts"]["database"]["status"] == "ok"
        assert body["parts"]["queues"]["status"] == body["parts"]["scheduler"]["status"] == "unknown"
        assert str(redis.port) not in text
    finally:
        redis.kill()


def _start_worker(app, database, log_path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL, "SECRET_KEY": "test",
           "PINGYI_RQ_PREFIX": app.config["RQ_PREFIX"], "PINGYI_WORKER_MAINTENANCE_INTERVAL": "1"}
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-m", "pingyi.cli", "worker"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(app, wanted: int, seconds: float, worker: subprocess.Popen | None, log_path) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        status, body, _ = _health(app)
        if status == wanted:
            return body
        if time.monotonic() > deadline or (worker is not None and worker.poll() is not None):
            raise AssertionError(f"healthz stayed {status}: {body}\n{Path(log_path).read_text()[-2000:]}")
        time.sleep(0.2)


def test_queue_depth_and_a_live_scheduler_with_a_real_worker(rq_app, database, tmp_path):
    with rq_app.app_context():
        for _ in range(3):
            get_queue("bulk").enqueue("builtins.int", "1")
    status, body, _ = _health(rq_app)
    assert status == 503 and body["down"] == ["scheduler"]
    assert body["parts"]["queues"]["depth"] == {**dict.fromkeys(QUEUES, 0), "bulk": 3}

    log_path = tmp_path / "worker.log"
    worker = _start_worker(rq_app, database, log_path)
    try:
        body = _wait_for(rq_app, 200, 60, worker, log_path)
        assert {k: body[k] for k in ALL_UP} == ALL_UP
        assert body["parts"]["scheduler"] == {"status": "ok", "queues": dict.fromkeys(QUEUES, True)}
        deadline = time.monotonic() + 30
        # the three jobs run (and the day's overdue check the worker queues on "default")
        while any(_health(rq_app)[1]["parts"]["queues"]["depth"].values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _health(rq_app)[1]["parts"]["queues"]["depth"] == dict.fromkeys(QUEUES, 0)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its scheduler, without a goodbye
        worker.wait(10)
        started = time.monotonic()
        body = _wait_for(rq_app, 503, 20, None, log_path)  # its locks expire (PingyiScheduler: 10 s)
        assert time.monotonic() - started < 12
        assert body["down"] == ["scheduler"] and body["parts"]["redis"]["status"] == "ok"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


@pytest.mark.parametrize("allow, remote, headers, trusted, seen", [
    (None, "127.0.0.1", {}, 0, True),
    (None, "::1", {}, 0, True),
    (None, "10.1.2.3", {}, 0, False),
    ("10.0.0.0/8", "10.1.2.3", {}, 0, True),
    ("10.0.0.0/8", "127.0.0.1", {}, 0, False),
    ("", "127.0.0.1", {}, 0, False),  # empty: nobody
    # through a proxy the app does not trust, the address is the proxy's: refused
    (None, "127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 0, False),
    # a trusted proxy: the client's own address (ProxyFix) decides
    (None, "127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 1, False),
    ("203.0.113.0/24", "127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 1, True),
])
def test_only_the_allowed_networks_see_the_operators_pages(database, monkeypatch, allow, remote, headers, trusted, seen):
    if allow is None:
        monkeypatch.delenv("PINGYI_METRICS_ALLOW", raising=False)
    else:
        monkeypatch.setenv("PINGYI_METRICS_ALLOW", allow)
    monkeypatch.setenv("PINGYI_TRUSTED_PROXIES", str(trusted))
    app = make_app(database)
    client = app.test_client()
    for path in ("/healthz", "/metrics"):
        r = client.get(path, headers=headers, environ_base={"REMOTE_ADDR": remote})
        assert r.status_code == (200 if seen else 404), (path, r.status_code)


def test_a_network_that_is_none_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setenv("PINGYI_METRICS_ALLOW", "127.0.0.1/32,localhost")
    with pytest.raises(ConfigError, match="localhost"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
