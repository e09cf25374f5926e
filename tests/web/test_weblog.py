from pingyi.web.weblog import redact


def test_ballot_tokens_never_reach_access_logs():
    line = 'GET /b/Xk3_9aZ-q0ReallySecret?x=1 HTTP/1.1'
    assert redact(line) == "GET /b/<token>?x=1 HTTP/1.1"
    assert redact("https://host/b/abc/receipt") == "https://host/b/<token>/receipt"
    assert redact("/t/alpha/units") == "/t/alpha/units"


def test_gunicorn_logger_uses_redaction():
    from types import SimpleNamespace

    from gunicorn.config import Config

    from pingyi.web.weblog import RedactingLogger

    logger = RedactingLogger(Config())
    req = SimpleNamespace(method="GET", path="/b/SECRET", query="", uri="/b/SECRET", version=(1, 1), headers=[])
    resp = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[])
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/b/SECRET", "PATH_INFO": "/b/SECRET", "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": "http://h/b/SECRET"}
    from datetime import timedelta

    atoms = logger.atoms(resp, req, environ, timedelta(seconds=0.01))
    assert "SECRET" not in repr({k: atoms[k] for k in ("r", "U", "f")})
