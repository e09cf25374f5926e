"""gunicorn's access log (pingyi.web.weblog): a feedback-box entry's POST leaves no line (its
address and second would name the writer of a day's only entry); everything else is logged."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from pingyi.web.weblog import RedactingLogger


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
