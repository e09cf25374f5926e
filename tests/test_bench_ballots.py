"""``pingyi bench ballots`` end to end at a small count: the whole stack starts, every link is
cast exactly once over HTTP, every accepted ballot is stored, and the scratch database is
dropped afterwards. Not a timed test: the figures are only checked for presence (and the
memory for its shape). ``--hosts 2`` end to end costs another 18–27 s here: its parts are
checked on their own instead — nginx (deploy/nginx/pingyi.conf, as the bench starts it) in front
of two hosts, the ballots each one answered read back from nginx's log, nginx's own answer to
the wrk script's idle line, and the memory read per worker process of each host."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from bench import nginx
from bench.ballots import LUA, Options, ballots_per_host, memory
from tests import servers

FIELDS = ("count", "accepted", "accepted_per_s", "p50_ms", "p99_ms", "errors", "lost", "static_per_s",
          "static_p99_ms", "ratio", "driver_cpu_share", "workers", "threads", "worker_class", "db", "seconds",
          "used_links", "stored_ballots", "live_tally_caught_up_s", "hosts", "via", "web_rss_mb", "web_pss_mb",
          "worker_rss_mb", "worker_pss_mb")


def require_wrk() -> None:
    """Skip (or, under CI, fail) without Debian's wrk, as ``servers.require`` does for servers."""
    if shutil.which("wrk"):
        return
    message = "wrk not found — install it (apt-get install wrk)"
    if servers.IN_CI:
        pytest.fail("CI=true and " + message, pytrace=False)
    pytest.skip(message)


def bench_databases() -> set[str]:
    with psycopg.connect(servers.PG_ADMIN_URL, autocommit=True) as conn:
        return {name for (name,) in conn.execute(
            r"SELECT datname FROM pg_database WHERE datname LIKE 'pingyi\_bench\_%'")}


def test_bench_ballots_casts_every_link_once_and_cleans_up():
    servers.require("postgresql")
    servers.require("redis")
    require_wrk()
    count, args, hosts = 300, ["--connections", "8"], 1
    before = bench_databases()
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "bench", "ballots", "--count", str(count), *args,
                           "--pg-admin-url", servers.PG_ADMIN_URL],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    assert set(FIELDS) <= set(result), set(FIELDS) - set(result)
    assert (result["count"], result["accepted"], result["used_links"], result["stored_ballots"]) == (count,) * 4
    assert result["lost"] == 0
    assert result["errors"] == 0 and result["status"] == {"200": count}, result
    assert result["db"] == "postgresql"
    assert result["accepted_per_s"] > 0 and result["static_per_s"] > 0
    assert (result["hosts"], result["via"]) == (hosts, "nginx" if hosts > 1 else "direct")
    for kind in ("rss", "pss"):  # each gunicorn worker process of every host, each master, the RQ worker
        web, worker = result[f"web_{kind}_mb"], result[f"worker_{kind}_mb"]
        assert len(web["per_worker"]) == result["workers"] * hosts and len(web["masters"]) == hosts
        assert min(web["per_worker"] + web["masters"]) > 0 and worker["main"] > 0
        assert web["sum"] >= sum(web["per_worker"]) and worker["sum"] >= worker["main"]
    assert bench_databases() <= before


class _Host(BaseHTTPRequestHandler):
    """A stand-in gunicorn: answers every request with 200 and its own port."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = str(self.server.server_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def test_two_hosts_behind_the_deploy_nginx_each_answer_ballots(tmp_path):
    servers.require("nginx")
    assert (Options().via, Options(nginx=True).via, Options(hosts=2).via) == ("direct", "nginx", "nginx")
    with ExitStack() as stack:
        hosts = [ThreadingHTTPServer(("127.0.0.1", 0), _Host) for _ in range(2)]
        for h in hosts:
            threading.Thread(target=h.serve_forever, daemon=True).start()
            stack.callback(h.server_close)
            stack.callback(h.shutdown)
        ports = [h.server_address[1] for h in hosts]
        port = stack.enter_context(nginx.serve(ports, tmp_path / "nginx", servers.NGINX))
        answered = []
        for i in range(10):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", f"/b/{'s' * 40}{i:03d}", body="a=1",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            assert response.status == 200
            answered.append(int(response.read()))
            conn.close()
        assert _get(port, "/login") == 200  # not a ballot: not counted below
        # bench/wrk/ballots.lua's idle line, sent once a thread's links are used up: nginx answers
        # it itself, with the page the script recognises it by
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"PINGYI-BENCH-IDLE\r\n\r\n")
            reply = b"".join(iter(lambda: raw.recv(4096), b""))
        assert reply.startswith(b"HTTP/1.1 400") and b"<center>nginx</center>" in reply
        assert '"<center>nginx</center>"' in LUA.read_text()
    counted = ballots_per_host(tmp_path / "nginx" / "pingyi.access.log", ports)
    assert counted == [answered.count(p) for p in ports] and min(counted) > 0 and sum(counted) == 10


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_memory_is_read_for_each_worker_process_of_each_host():
    """Two "hosts" of two forked workers each, and a lone "RQ worker": one figure per worker
    process, one per master, the sum over all; PSS never above RSS."""
    code = ("import os, time\nfor _ in range(2):\n    if os.fork() == 0:\n        time.sleep(60)\n"
            "        os._exit(0)\nprint(flush=True)\ntime.sleep(60)\n")
    with ExitStack() as stack:
        procs = []
        for argv in ([sys.executable, "-c", code],) * 2 + ([sys.executable, "-c", "import time; print(flush=True); "
                                                                          "time.sleep(60)"],):
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, start_new_session=True)
            stack.callback(lambda p=proc: (os.killpg(p.pid, signal.SIGKILL), p.wait()))
            procs.append(proc)
        for proc in procs:
            proc.stdout.readline()  # its children are forked
        got = memory([procs[0].pid, procs[1].pid], procs[2].pid)
    for kind in ("rss", "pss"):
        web, worker = got[f"web_{kind}_mb"], got[f"worker_{kind}_mb"]
        assert len(web["per_worker"]) == 4 and len(web["masters"]) == 2
        assert min(web["per_worker"] + web["masters"]) > 0
        assert web["sum"] == pytest.approx(sum(web["per_worker"]) + sum(web["masters"]), abs=0.5)
        assert (worker["children"], worker["sum"]) == ([], worker["main"]) and worker["main"] > 0
    assert got["web_pss_mb"]["sum"] <= got["web_rss_mb"]["sum"]
