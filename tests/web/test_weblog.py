"""No log holds a ballot credential: an exception on a ballot URL, seen by Flask's log, the
development server and a real gunicorn started with deploy/gunicorn.conf.py, leaves neither
the link's secret nor its short code in any log line (issue 13); a stored feedback-box entry
leaves no access line at all (its address and second would name its writer)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config
from werkzeug.serving import make_server

from pingyi.logsafe import redact
from pingyi.voting import sheet, tokens
from pingyi.web.weblog import RedactingLogger
from tests.ballot_world import build

ROOT = Path(__file__).parent.parent.parent


def test_redact_blanks_links_and_codes_only():
    assert redact('"GET /b/Xk3_9aZ-q0ReallySecret?x=1 HTTP/1.1" 200') == '"GET /b/<token>?x=1 HTTP/1.1" 200'
    assert redact("https://host/b/abc/receipt") == "https://host/b/<token>/receipt"
    assert redact("GET /c?code=abcd-efgh-jkmn HTTP/1.1") == "GET /c?code=<code> HTTP/1.1"
    assert redact("/login?next=%2Fb%2FXk3_9aZ") == "/login?next=%2Fb%2F<token>"
    assert redact("回执码 ABCD-EFGH-JKMN 已计入") == "回执码 <code> 已计入"
    for kept in ("/t/alpha/units", "POST /c HTTP/1.1", "rq job 5ed5c1f2-aaaa-bbbb-cccc-123456789012",
                 "status_code=500", "/b/<token>"):
        assert redact(kept) == kept


def _credentials(link: tokens.IssuedLink) -> list[str]:
    return [link.secret, link.short_code, tokens.format_code(link.short_code)]


def _assert_clean(text: str, link: tokens.IssuedLink) -> None:
    leaked = [c for c in _credentials(link) if c in text]
    assert leaked == [], text[-3000:]


def _fail_with_the_url(*_args):
    from flask import request

    raise RuntimeError(f"no subjects for {request.url}")


def test_an_exception_on_a_ballot_url_is_logged_without_the_link(app, world, monkeypatch, caplog, root_log):
    with app.app_context():
        link = build(world).own[0]
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: Flask logs the error, answers 500
    monkeypatch.setattr(sheet, "for_link", _fail_with_the_url)
    client = app.test_client()
    assert client.get(f"/b/{link.secret}").status_code == 500
    r = client.post("/c", data={"code": tokens.format_code(link.short_code)})
    assert r.status_code == 302 and client.get(r.location).status_code == 500
    assert client.get(f"/c?code={tokens.format_code(link.short_code)}").status_code == 200
    logged = root_log.getvalue()
    assert "Exception on /b/<token> [GET]" in logged and "no subjects for http://localhost/b/<token>" in logged
    assert "Traceback" in logged
    _assert_clean(logged, link)
    _assert_clean(caplog.text, link)


def test_the_development_server_logs_no_link(app, world, monkeypatch, root_log):
    """``pingyi run`` serves through werkzeug's request handler: its request lines and its
    "Error on request" traceback (the app propagates errors when testing or debugging)."""
    with app.app_context():
        link = build(world).own[0]
    app.config["PROPAGATE_EXCEPTIONS"] = True
    monkeypatch.setattr(sheet, "for_link", _fail_with_the_url)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        statuses = [_request(server.server_port, "GET", f"/b/{link.secret}")[0],
                    _request(server.server_port, "GET", f"/b/{link.short_code}")[0],
                    _request(server.server_port, "GET", f"/c?code={tokens.format_code(link.short_code)}")[0]]
    finally:
        server.shutdown()
        thread.join(10)
    assert statuses == [500, 500, 200]
    logged = root_log.getvalue()
    assert "GET /b/<token> HTTP/1.1" in logged and "Error on request" in logged  # (500s are coloured)
    assert "GET /c?code=<code> HTTP/1.1" in logged
    _assert_clean(logged, link)


def _request(port: int, method: str, path: str, body: str | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Location"), response.read()
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def test_gunicorn_with_the_deploy_config_logs_no_link(app, world, database, tmp_path):
    """Production: the deploy config's error log (stderr) and access log (stdout), with a ballot
    page that fails inside Flask and a request that fails inside gunicorn's worker."""
    with app.app_context():
        link = build(world).own[0]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGYI_", "REDIS_URL", "DATABASE_URL"))}
    env.update(DATABASE_URL=database[1], PINGYI_BIND=f"127.0.0.1:{port}", PINGYI_WORKERS="1", SECRET_KEY="test")
    errors, access = tmp_path / "error.log", tmp_path / "access.log"
    with errors.open("w") as err, access.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                    "--no-control-socket", "tests.web.failing_wsgi:make()"],
                                   cwd=ROOT, env=env, stdout=out, stderr=err)
    try:
        _wait_for(port, process)
        code = tokens.format_code(link.short_code)
        referer = {"Referer": f"http://127.0.0.1:{port}/b/{link.secret}"}
        assert _request(port, "GET", f"/b/{link.secret}", headers=referer)[0] == 500
        status, location, _ = _request(port, "POST", "/c", body=f"code={code}",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302 and location.endswith(f"/b/{link.short_code}")
        assert _request(port, "GET", f"/b/{link.short_code}")[0] == 500
        assert _request(port, "GET", f"/c?code={code.lower()}")[0] == 200
        assert _request(port, "GET", f"/b/{link.secret}", headers={"X-Escape": "1"})[0] == 500
    finally:
        process.terminate()
        process.wait(30)
    error_log, access_log = errors.read_text(), access.read_text()
    assert "Exception on /b/<token> [GET]" in error_log and "no subjects for http://" in error_log
    assert "Error handling request" in error_log and "escaped from /b/<token>" in error_log
    assert '"GET /b/<token> HTTP/1.1" 500' in access_log and "/c?code=<code>" in access_log
    _assert_clean(error_log, link)
    _assert_clean(access_log, link)


def _line(log: RedactingLogger, method: str, path: str, status: int) -> None:
    resp = SimpleNamespace(status=f"{status} X", status_code=status, sent=10, headers=[])
    req = SimpleNamespace(headers=[], method=method, path=path, query="", version=(1, 1), uri=path)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "RAW_URI": path, "REMOTE_ADDR": "10.1.2.3",
               "SERVER_PROTOCOL": "HTTP/1.1"}
    log.access(resp, req, environ, timedelta(milliseconds=5))


def test_a_feedback_entry_leaves_no_access_line(tmp_path):
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    log = RedactingLogger(cfg)
    _line(log, "GET", "/f/alpha", 200)
    _line(log, "POST", "/f/alpha", 200)  # an entry stored (the page thanks the writer)
    _line(log, "POST", "/f/alpha", 429)  # refused: no entry
    _line(log, "POST", "/login", 302)
    for handler in log.access_log.handlers:
        handler.flush()
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert [(" ".join(x.split('"')[1].split()[:2]), x.split('"')[2].split()[0]) for x in lines] == [
        ("GET /f/alpha", "200"), ("POST /f/alpha", "429"), ("POST /login", "302")]
    assert all(x.startswith("10.1.2.3 ") for x in lines)
