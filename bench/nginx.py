"""deploy/nginx/pingyi.conf run as it is on loopback, by any user, for the bench and the tests.

Why one place: ``pingyi bench ballots --hosts N`` measures through the very file that
tests/deploy/test_nginx_two_hosts.py (and tests/web/test_behind_proxy.py, through
tests/servers.py) checks, so a figure and a test never describe two different configs. Only
what a loopback run needs is rewritten: the upstream's server lines (one per gunicorn port),
``listen 80`` (a free loopback port), the log directory and the static files' path (this
checkout's). nginx runs in the foreground as one process (``master_process off``): no root,
no ``user`` switch, every file in ``workdir``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "pingyi.conf"
STATIC = ROOT / "pingyi" / "web" / "static"
UPSTREAM = "server 127.0.0.1:8000 max_fails=1 fail_timeout=10s;"


def binary() -> str | None:
    """Debian's nginx (``/usr/sbin`` is not on every user's PATH); None when it is missing."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def render(upstream_ports: list[int], port: int, workdir: Path, worker_connections: int = 256) -> str:
    """A whole nginx.conf: deploy/nginx/pingyi.conf listening on 127.0.0.1:``port``, in front of
    ``upstream_ports`` on 127.0.0.1, its logs and temp files in ``workdir``."""
    site = SITE.read_text()
    # the deploy file changed shape: fail loudly rather than run something else
    assert UPSTREAM in site and "listen 80;" in site and "/opt/pingyi/pingyi/web/static/" in site
    site = site.replace(UPSTREAM, "\n    ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;"
                                               for p in upstream_ports))
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};", 1)
    site = site.replace("/var/log/nginx/", f"{workdir}/").replace("/opt/pingyi/pingyi/web/static/", f"{STATIC}/")
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    types {{ text/html html; text/css css; application/javascript js; image/svg+xml svg; image/png png; }}
    default_type application/octet-stream;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
{site}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def serve(upstream_port: int | list[int], workdir: Path, nginx: str | None = None,
          worker_connections: int = 256) -> Iterator[int]:
    """nginx with deploy/nginx/pingyi.conf in front of ``upstream_port`` (or several: the
    upstream's hosts); yields its port and stops it afterwards. Its logs are
    ``workdir``/pingyi.access.log (JSON lines), pingyi.error.log and error.log (nginx's own).
    RuntimeError when nginx is missing or does not start."""
    nginx = nginx or binary()
    if nginx is None:
        raise RuntimeError("nginx not found (apt-get install nginx)")
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    ports = [upstream_port] if isinstance(upstream_port, int) else list(upstream_port)
    (workdir / "nginx.conf").write_text(render(ports, port, workdir, worker_connections))
    proc = subprocess.Popen([nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("nginx did not start: " + proc.communicate()[1].decode(errors="replace"))
            time.sleep(0.05)
        yield port
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)
