"""PINGYI_LOG_FORMAT=json: the app's, gunicorn's and the worker's log lines are JSON objects
(time, level, logger, message, request_id), redacted as the text lines are: a ballot's link,
short code and receipt never appear. Every response says its request id (X-Request-ID); one
given by a trusted proxy is kept when it looks like an id."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flask.logging import default_handler

from pingyi import logsafe
from pingyi.queue import get_queue
from pingyi.voting import sheet, tokens
from tests import servers
from tests.ballot_world import build, full_answers
from tests.conftest import make_app

ROOT = Path(__file__).parents[2]
FIELDS = {"time", "level", "logger", "message"}


def _credentials(link: tokens.IssuedLink) -> list[str]:
    return [link.secret, link.short_code, tokens.format_code(link.short_code)]


def _objects(text: str) -> list[dict]:
    """Every line of ``text`` as a JSON object (a line that is not one fails the test)."""
    out = []
    for line in filter(None, text.splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(obj, dict) and obj.keys() >= FIELDS, line
        out.append(obj)
    return out


@pytest.fixture
def json_log():
    """The JSON handler on the root logger, writing to a buffer; taken off afterwards."""
    root = logging.getLogger()
    level, flask_handler = root.level, default_handler in logging.getLogger("pingyi").handlers
    stream = io.StringIO()
    handler = logsafe.configure("json", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
    if flask_handler:
        logging.getLogger("pingyi").addHandler(default_handler)


def test_a_record_becomes_one_redacted_json_object():
    secret = "Xk3_9aZ-q0ReallySecretAb"
    try:
        raise RuntimeError(f"no sheet for /b/{secret}")
    except RuntimeError:
        record = logging.LogRecord("pingyi.x", logging.ERROR, __file__, 1, "failed %s with code=%s",
                                   (f"/b/{secret}", "ABCD-EFGH-JKMN"), sys.exc_info())
    record.request_id = "0123456789abcdef"
    line = logsafe.JsonFormatter().format(record)
    obj = json.loads(line)
    assert obj["level"] == "ERROR" and obj["logger"] == "pingyi.x" and obj["request_id"] == "0123456789abcdef"
    assert obj["message"] == "failed /b/<token> with code=<code>"
    assert "RuntimeError: no sheet for /b/<token>" in obj["exc"]
    assert obj["time"].endswith("+00:00") and "\n" not in line
    assert secret not in line and "ABCD-EFGH-JKMN" not in line


def _fail_with_the_url(*_args):
    from flask import request

    raise RuntimeError(f"no subjects for {request.url}")


def test_the_app_logs_json_lines_with_the_request_id_and_no_link(database, json_log, monkeypatch):
    app = make_app(database, LOG_FORMAT="json")
    from tests.conftest import _wipe
    from tests.factories import build_world

    with app.app_context():
        _wipe()
        world = build_world()
        link = build(world).own[0]
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: logged, answered 500
    monkeypatch.setattr(sheet, "for_link", _fail_with_the_url)
    r = app.test_client().get(f"/b/{link.secret}")
    assert r.status_code == 500
    rid = r.headers["X-Request-ID"]
    lines = _objects(json_log.getvalue())
    (error,) = [x for x in lines if x["level"] == "ERROR" and "Exception on" in x["message"]]
    assert error["message"] == "Exception on /b/<token> [GET]" and error["request_id"] == rid
    assert "no subjects for http://localhost/b/<token>" in error["exc"]
    assert [c for c in _credentials(link) if c in json_log.getvalue()] == []


@pytest.mark.parametrize("trusted, given, kept", [
    (0, "0123456789abcdef0123456789abcdef", False),  # from the client itself: not taken
    (1, "0123456789abcdef0123456789abcdef", True),  # nginx's $request_id
    (1, "5ed5c1f2-aaaa-bbbb-cccc-123456789012", True),  # a UUID
    (1, "short", False),
    (1, "a b c d e f g h", False),
    (1, "ABCD-EFGH-JKMN", False),  # the shape of a ballot code: never logged
])
def test_each_response_names_its_request_id(database, trusted, given, kept):
    fresh = make_app(database, TRUSTED_PROXIES=trusted)
    r = fresh.test_client().get("/login", headers={"X-Request-ID": given})
    rid = r.headers["X-Request-ID"]
    assert (rid == given) is kept and len(rid) >= 8
    other = fresh.test_client().get("/login").headers["X-Request-ID"]
    assert other != rid


def _request(port: int, path: str, data: dict | None = None, headers: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:  # nosec B310 # loopback test server
            return r.status, r.headers["X-Request-ID"]
    except urllib.error.HTTPError as e:
        return e.code, e.headers["X-Request-ID"]


def test_gunicorn_writes_json_lines_and_a_ballot_leaves_no_secret(app, world, database, tmp_path):
    with app.app_context():
        bw = build(world)
        link, code_link = bw.own[0], bw.own[1]
        answers = full_answers(world, bw, link.secret)
        code_answers = full_answers(world, bw, code_link.secret)
    port = servers.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGYI_", "REDIS_URL", "DATABASE_URL"))}
    env.update(DATABASE_URL=database[1], PINGYI_BIND=f"127.0.0.1:{port}", PINGYI_WORKERS="1", SECRET_KEY="test",
               PINGYI_LOG_FORMAT="json")
    errors, access = tmp_path / "error.log", tmp_path / "access.log"
    with errors.open("w") as err, access.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                    "--no-control-socket", "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, errors.read_text()[-2000:]
            try:
                _request(port, "/login")
                break
            except OSError:
                time.sleep(0.2)
        sent = {"ballot": _request(port, f"/b/{link.secret}", answers),
                "code page": _request(port, f"/b/{code_link.short_code}"),
                "code ballot": _request(port, f"/b/{code_link.short_code}", code_answers),
                "typed code": _request(port, f"/c?code={tokens.format_code(link.short_code)}")}
    finally:
        process.terminate()
        process.wait(30)
    assert [status for status, _ in sent.values()] == [200, 200, 200, 200]
    error_lines, access_lines = _objects(errors.read_text()), _objects(access.read_text())
    assert any(x["logger"] == "gunicorn.error" and "Booting worker" in x["message"] for x in error_lines)
    by_id = {x.get("request_id"): x for x in access_lines if x["logger"] == "gunicorn.access"}
    for what, (_status, rid) in sent.items():
        assert rid in by_id, (what, rid, access_lines)
    ballot = by_id[sent["ballot"][1]]["http"]
    assert ballot["method"] == "POST" and ballot["path"] == "/b/<token>" and ballot["status"] == 200
    assert by_id[sent["typed code"][1]]["http"]["query"] == "code=<code>"
    everything = errors.read_text() + access.read_text()
    for each in (link, code_link):
        assert [c for c in _credentials(each) if c in everything] == []


def test_the_worker_logs_json_lines_without_the_link(rq_app, world, database):
    with rq_app.app_context():
        link = build(world).own[0]
        url = f"https://pingyi.example/b/{link.secret}?code={tokens.format_code(link.short_code)}"
        get_queue("bulk").enqueue("builtins.int", url)  # fails: invalid literal for int()
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL, "SECRET_KEY": "test",
           "PINGYI_RQ_PREFIX": rq_app.config["RQ_PREFIX"], "PINGYI_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "worker", "--burst", "--queues", "bulk"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = _objects(done.stdout + done.stderr)
    failed = [x for x in lines if x["logger"].startswith("rq.") and "ValueError" in x.get("exc", x["message"])]
    assert failed and all("https://pingyi.example/b/<token>?code=<code>" in x.get("exc", "") + x["message"]
                          for x in failed[:1]), lines
    assert [c for c in _credentials(link) if c in done.stdout + done.stderr] == []
