"""Two gunicorn "hosts" behind Debian's nginx with deploy/nginx/pingyi.conf (issue 18 item 1):
gunicorn as deployed (deploy/gunicorn.conf.py, PINGYI_ENV=production) on two loopback ports,
one PostgreSQL database, rate limits counted in one Redis, nginx in front. Ballots are cast and a
report downloaded through nginx, each served by either host; the limits see each client's own
address; one host is stopped under load (SIGTERM, as systemd stops it) and no ballot is lost or
stored twice, no GET fails, and nothing fails once the host is gone; no log holds a link."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from bench import nginx
from pingyi.extensions import db
from pingyi.voting import tokens
from tests import ballot_world, servers
from tests.factories import PASSWORD
from tests.web.test_weblog import _wait_for

ROOT = Path(__file__).resolve().parents[2]
ATTACKER, VOTER = "127.0.0.2", "127.0.0.3"
STOP_LINKS = 40  # ballots sent while one host stops (3 clients; those left over after it are cast later)


class Host:
    """One gunicorn as deployed, on a port of its own; its access log (stdout) and error log."""

    def __init__(self, name: str, workdir: Path, env: dict) -> None:
        self.port = servers.free_port()
        self.access, self.errors = workdir / f"{name}.access.log", workdir / f"{name}.error.log"
        env = {**env, "PINGYI_BIND": f"127.0.0.1:{self.port}"}
        with self.access.open("w") as out, self.errors.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                          "--no-control-socket", "wsgi:app"], cwd=ROOT, env=env, stdout=out,
                                         stderr=err, start_new_session=True)

    def wait_ready(self) -> None:
        """Until its worker answers (the port opens before the worker has loaded the app)."""
        _wait_for(self.port, self.proc)
        deadline = time.monotonic() + 60
        while _request(self.port, "GET", "/login")[0] != 200:
            assert time.monotonic() < deadline and self.proc.poll() is None, self.errors.read_text()[-2000:]
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to the master: graceful (requests in progress finish), as systemd stops it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def ballots_served(self) -> int:
        return self.access.read_text().count("POST /b/<token>")


def _request(port: int, method: str, path: str, body: dict | str | None = None, headers: dict | None = None,
             source: str = "127.0.0.1") -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = urlencode(body)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        got = {}
        for name, value in response.getheaders():
            got.setdefault(name.lower(), []).append(value)
        return response.status, got, response.read()
    finally:
        conn.close()


class Browser:
    """Cookies by hand (the production session cookie is Secure: a cookie jar would not send it
    over the loopback's plain HTTP) and the page's CSRF token."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, {}

    def go(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, bytes]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, headers, data = _request(self.port, method, path, body, {"Cookie": cookie} if cookie else {})
        for line in headers.get("set-cookie", []):
            name, value = line.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return status, headers, data

    def csrf(self, path: str) -> str:
        status, _h, page = self.go("GET", path)
        assert status == 200, (path, status)
        return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


def _stored(campaign_id: int) -> tuple[int, int]:
    """(links used, ballots kept: in the box and out of it) of the campaign."""
    used = db.session.execute(text("SELECT COUNT(*) FROM ballot_tokens WHERE campaign_id = :c AND used"),
                              {"c": campaign_id}).scalar_one()
    kept = db.session.execute(text("SELECT (SELECT COUNT(*) FROM ballot_box WHERE campaign_id = :c) + "
                                   "(SELECT COUNT(*) FROM ballots WHERE campaign_id = :c)"), {"c": campaign_id}).scalar_one()
    db.session.rollback()
    return used, kept


def _unused(secret: str) -> bool:
    found = tokens.credential_hash(secret)
    used = db.session.execute(text(f"SELECT used FROM ballot_tokens WHERE {found[0]} = :h"),  # nosec B608 # the column name comes from tokens
                              {"h": found[1]}).scalar_one()
    db.session.rollback()
    return used is False


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_hosts_behind_nginx(app, world, database, tmp_path):
    servers.require("nginx")
    with app.app_context():
        bw = ballot_world.build(world, links=6 + 1 + STOP_LINKS + 6)
        secrets_ = [link.secret for link in bw.own]
        bodies = {s: ballot_world.full_answers(world, bw, s, i % 4) for i, s in enumerate(secrets_)}
        report_campaign = ballot_world.published_campaign(world.a, "已结束的评议", choices=(0, 1, 3, 2))
        db.session.remove()
    first, typed, during, after = (secrets_[:6], bw.own[6], secrets_[7:7 + STOP_LINKS],
                                   secrets_[7 + STOP_LINKS:])

    redis = servers.RedisServer(tmp_path / "redis")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGYI_", "REDIS_URL", "DATABASE_URL"))}
    env.update(PINGYI_ENV="production", SECRET_KEY=secrets.token_urlsafe(48), DATABASE_URL=database[1],
               PINGYI_WORKERS="1", PINGYI_TRUSTED_PROXIES="1", PINGYI_LINK_FAILURE_LIMIT="5 per minute",
               PINGYI_RATELIMIT_STORAGE=f"redis://127.0.0.1:{redis.port}/0")  # both hosts count in one place
    with ExitStack() as stack:
        redis.start()
        stack.callback(redis.kill)
        hosts = [Host(name, tmp_path, env) for name in ("one", "two")]
        for h in hosts:
            stack.callback(h.kill)
        for h in hosts:
            h.wait_ready()
        port = stack.enter_context(nginx.serve([h.port for h in hosts], tmp_path / "nginx", servers.NGINX))

        # ballots: each host serves some (nginx takes turns); each POST answered with a receipt
        for s in first:
            status, headers, page = _request(port, "POST", f"/b/{s}", bodies[s], source=VOTER)
            assert status == 200 and "回执".encode() in page
        assert all(h.ballots_served() > 0 for h in hosts)
        assert "strict-transport-security" not in headers  # plain HTTP: nginx sends no HSTS, nor lets the app's through

        # the limits key on the client's own address, counted across both hosts: an attacker who
        # also claims the voter's address is stopped after 5 bad links, the voter is not
        attacker = [_request(port, "GET", f"/b/{'x' * 43}{i:02d}", headers={"X-Forwarded-For": VOTER},
                             source=ATTACKER)[0] for i in range(8)]
        assert attacker == [404] * 5 + [429] * 3
        code = tokens.format_code(typed.short_code)
        assert [_request(port, "GET", f"/b/{typed.short_code}", source=VOTER)[0] for _ in range(6)] == [200] * 6
        assert _request(port, "GET", f"/c?code={code}", source=VOTER)[0] == 200

        # static files come from nginx (no app headers), cached an hour, a month with a version
        status, headers, css = _request(port, "GET", "/static/ballot.css")
        assert status == 200 and css == (ROOT / "pingyi/web/static/ballot.css").read_bytes()
        assert headers["cache-control"] == ["public, max-age=3600"] and "content-security-policy" not in headers
        headers = _request(port, "GET", "/static/ballot.css?v=2")[1]
        assert headers["cache-control"] == ["public, max-age=2592000, immutable"]
        # one request id in nginx's log and the app's (which sends it back); a client's is replaced
        status, headers, _page = _request(port, "GET", "/login", headers={"X-Request-ID": "chosen-by-client-01"})
        request_id = headers["x-request-id"][0]
        assert status == 200 and re.fullmatch("[0-9a-f]{32}", request_id)
        assert _request(port, "GET", "/metrics")[0] == 404  # scraped on each host, not through nginx

        # a report: signed in on one host, started on one, downloaded from either (one session)
        browser = Browser(port)
        status, headers, _page = browser.go("POST", "/login", {"email": world.a.admin, "password": PASSWORD,
                                                               "csrf_token": browser.csrf("/login")})
        assert status == 302
        base = f"/t/{world.a.slug}/campaigns/{report_campaign}"
        token = browser.csrf(f"{base}/results")
        status, headers, _page = browser.go("POST", f"{base}/reports", {"kind": "tally", "format": "xlsx",
                                                                       "csrf_token": token})
        assert status == 302 and "/jobs/" in headers["location"][0]
        status, _h, page = browser.go("GET", urlsplit(headers["location"][0]).path)
        (href,) = set(re.findall(rb'href="(/t/[^"]+/jobs/\d+/files/\d+)"', page))
        status, headers, data = browser.go("GET", href.decode())
        assert status == 200 and headers["content-disposition"][0].startswith("attachment")
        assert load_workbook(io.BytesIO(data), read_only=True).worksheets  # a whole .xlsx came through

        # one host stops while three clients keep voting and reading pages
        results: list[tuple[float, str, str, int]] = []  # (started, method, link, status)
        left, lock, done = iter(during), threading.Lock(), threading.Event()

        def client() -> None:
            while not done.is_set():
                with lock:
                    s = next(left, None)
                if s is not None:
                    started = time.monotonic()
                    results.append((started, "POST", s, _request(port, "POST", f"/b/{s}", bodies[s], source=VOTER)[0]))
                started = time.monotonic()
                results.append((started, "GET", "", _request(port, "GET", "/login")[0]))
                time.sleep(0.02)

        clients = [threading.Thread(target=client) for _ in range(3)]
        for c in clients:
            c.start()
        time.sleep(0.5)
        hosts[0].stop()
        gone = time.monotonic()
        time.sleep(1)
        done.set()
        for c in clients:
            c.join(60)
        # the host is gone: a host that refuses connections costs no request, whatever its method
        for s in after:
            results.append((time.monotonic(), "POST", s, _request(port, "POST", f"/b/{s}", bodies[s], source=VOTER)[0]))
            results.append((time.monotonic(), "GET", "", _request(port, "GET", "/login")[0]))
        posts = [r for r in results if r[1] == "POST"]
        failed = [r for r in posts if r[3] != 200]
        print(f"\n{len(posts)} ballots and {len(results) - len(posts)} GETs around the stop; "
              f"{len(failed)} ballot POSTs failed while the host was stopping")
        assert {r[3] for r in results if r[1] == "GET"} == {200}  # nginx sent each GET on to the other host
        assert not [r for r in results if r[0] > gone and r[3] != 200]
        # A POST queued at the host the moment it stopped: the host reset the connection before
        # reading it (nginx's 502; not retried, see the config), nothing stored, the link works.
        assert {r[3] for r in failed} <= {502}
        with app.app_context():
            assert all(_unused(s) for _t, _m, s, _status in failed)
        assert [_request(port, "POST", f"/b/{s}", bodies[s], source=VOTER)[0] for _t, _m, s, _st in failed] \
            == [200] * len(failed)
    assert len(posts) >= STOP_LINKS // 2 + len(after)
    with app.app_context():
        ok = len(first) + len(posts)
        assert _stored(bw.campaign_id) == (ok, ok)  # every ballot kept, once

    # the logs name no link or code: nginx's access log has /b/<token> and /c?<redacted>
    logs = {p.name: p.read_text() for p in [*(tmp_path / "nginx").glob("*.log"), *tmp_path.glob("*.log")]}
    for name, content in logs.items():
        for s in [*secrets_, typed.short_code, code]:
            assert s not in content, (name, s)
    access = [json.loads(line) for line in logs["pingyi.access.log"].splitlines()]
    uris = {line["uri"] for line in access}
    assert {"/b/<token>", "/c?<redacted>", "/login"} <= uris
    assert [line["uri"] for line in access if line["request_id"] == request_id] == ["/login"]
    assert {line["client"] for line in access} >= {ATTACKER, VOTER}
    # nginx noticed: a request went on to the other host (its line names both), or a ballot failed
    assert failed or any(", " in line["upstream"] for line in access)
