"""Behind Debian's nginx (deploy/nginx/pingyi.conf): rate limits key on each client's own address
when PINGYI_TRUSTED_PROXIES says how many proxies stand in front, and on nginx's otherwise."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from pingyi.extensions import db
from tests import ballot_world, servers
from tests.conftest import make_app
from tests.web.test_weblog import ROOT, _wait_for

ATTACKER, VOTER = "127.0.0.2", "127.0.0.3"


@contextmanager
def _served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


def _get(port: int, path: str, source: str, headers: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.fixture
def links(app, world):
    with app.app_context():
        bw = ballot_world.build(world, links=2)
    return bw.own[0].short_code  # typed by hand: the failed-lookup limit guards codes (not whole links)


def _run(database, tmp_path, trusted: int, link: str) -> tuple[list[int], list[int]]:
    """An attacker sends bad links through nginx (also claiming the voter's address in
    X-Forwarded-For); then the voter types a real code six times."""
    app = make_app(database, TRUSTED_PROXIES=trusted, LINK_FAILURE_LIMIT="5 per minute")
    with _served(app) as app_port, servers.nginx(app_port, tmp_path / f"nginx{trusted}") as port:
        attacker = [_get(port, f"/b/{'x' * 43}{i:02d}", ATTACKER, {"X-Forwarded-For": VOTER}) for i in range(8)]
        voter = [_get(port, f"/b/{link}", VOTER) for _ in range(6)]
    return attacker, voter


def test_each_voter_has_a_bucket_of_their_own_behind_nginx(app, database, tmp_path, links):
    attacker, voter = _run(database, tmp_path, 1, links)
    assert attacker[:5] == [404] * 5 and set(attacker[5:]) == {429}  # the limit is the setting: 5 a minute
    assert voter == [200] * 6


def test_without_the_setting_every_client_is_the_proxy(app, database, tmp_path, links):
    """The default trusts no forwarded header: behind nginx everyone shares its bucket (what the
    setting is for), and nobody can pick an address by writing the header."""
    attacker, voter = _run(database, tmp_path, 0, links)
    assert set(attacker[5:]) == {429}
    assert voter == [429] * 6


def test_gunicorns_access_log_names_the_client_behind_nginx(app, database, tmp_path):
    """The deploy config's gunicorn behind nginx: its access log prints the evaluator's address
    (ProxyFix rewrites the environ the log reads), not nginx's."""
    port = servers.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGYI_", "REDIS_URL", "DATABASE_URL"))}
    env.update(DATABASE_URL=database[1], PINGYI_BIND=f"127.0.0.1:{port}", PINGYI_WORKERS="1", SECRET_KEY="test",
               PINGYI_TRUSTED_PROXIES="1")
    access = tmp_path / "access.log"
    with access.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                    "--no-control-socket", "wsgi:app"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
        with servers.nginx(port, tmp_path / "nginx") as front:
            assert _get(front, "/login", VOTER, {"X-Forwarded-For": "10.9.9.9"}) == 200
    finally:
        process.terminate()
        process.wait(30)
    (line,) = [x for x in access.read_text().splitlines() if "GET /login" in x]
    assert line.startswith(VOTER + " ") and "10.9.9.9" not in line


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_nginx_logs_no_link_however_it_is_written(app, database, tmp_path):
    """deploy/nginx/pingyi.conf's access log: the path nginx routes by (decoded, so /%62/ is
    /b/) is cut after /b/ or /c/, a query naming a credential is dropped, a printed code is
    never written; the error log, which quotes request lines, has none even when the app is down."""
    import json
    import secrets

    from pingyi.voting import tokens

    secret, code = secrets.token_urlsafe(16), tokens.format_code(tokens.new_short_code())
    paths = {f"/b/{secret}": "/b/<token>", f"/%62/{secret}": "/b/<token>", f"//b/{secret}/x": "/b/<token>",
             f"/B/{secret}": "/B/<token>", f"/c/{secret}": "/c/<token>", f"/t/a/b/{secret}": "/t/a/b/<token>",
             f"/login?next=%2Fb%2F{secret}": "/login?<redacted>", f"/login?next=/b/{secret}": "/login?<redacted>",
             f"/c?code={code}": "/c?<redacted>", f"/{code}": "<code>", f"/login?q={code}": "/login?<redacted>",
             "/login?page=2": "/login?page=2"}
    with _served(app) as app_port, servers.nginx(app_port, tmp_path / "nginx") as port:
        for path in paths:
            _get(port, path, VOTER)
    with servers.nginx(servers.free_port(), tmp_path / "down") as port:  # nothing listens: 502s
        assert [_get(port, path, VOTER) for path in paths] == [502] * len(paths)
    logs = [p.read_text() for p in [*(tmp_path / "nginx").glob("*.log"), *(tmp_path / "down").glob("*.log")]]
    assert not [text for text in logs if secret in text or code in text]
    logged = [json.loads(line)["uri"] for line in (tmp_path / "nginx" / "pingyi.access.log").read_text().splitlines()]
    assert logged == list(paths.values())


def test_with_no_host_answering_a_voter_reads_that_the_link_still_works(tmp_path):
    """nginx's own 502 page would say "Bad Gateway" in English; the site's error_page serves a
    static page in Chinese (with every app host down, nothing else could answer)."""
    with servers.nginx(servers.free_port(), tmp_path / "nginx") as port:  # nothing listens upstream
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("POST", f"/b/{'x' * 22}", body="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            page = r.read().decode()
        finally:
            conn.close()
    assert r.status == 502 and "您的测评码仍然有效" in page and "Bad Gateway" not in page
