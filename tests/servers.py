"""Where the test suite finds PostgreSQL, Redis and Chromium, and what to do when it can't.

A newcomer's ``make test`` skips server-backed tests with one line naming what to install;
with ``CI=true`` a missing server fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bench import nginx as front

PG_ADMIN_URL = os.environ.get("PINGYI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PINGYI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("PINGYI_TEST_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

HINTS = {
    "postgresql": "PostgreSQL not reachable at %s — install it (apt-get install postgresql) or set PINGYI_TEST_PG_URL",
    "redis": "Redis not reachable at %s — install it (apt-get install redis-server) or set PINGYI_TEST_REDIS_URL",
    "chromium": "Chromium not found at %s — install it (apt-get install chromium) and pip install playwright",
    "font": "No TrueType CJK font for PDFs (%s) — install it (apt-get install fonts-wqy-microhei)",
    "nginx": "nginx not found at %s — install it (apt-get install nginx)",
    "pgbouncer": "pgbouncer not found at %s — install it (apt-get install pgbouncer)",
    "pg_dump": "pg_dump or pg_restore not found on %s — install them (apt-get install postgresql-client)",
}
NGINX = os.environ.get("PINGYI_TEST_NGINX", "/usr/sbin/nginx")


def _reachable(url: str, default_port: int) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def available(what: str) -> bool:
    if what == "postgresql":
        return _reachable(PG_ADMIN_URL, 5432)
    if what == "redis":
        return _reachable(REDIS_URL, 6379)
    if what == "font":
        from pingyi.fonts import FontMissing, font_path

        try:
            font_path()
            return True
        except FontMissing:
            return False
    if what == "nginx":
        return os.access(NGINX, os.X_OK)
    if what == "pgbouncer":
        return os.access(PGBOUNCER, os.X_OK)
    if what == "pg_dump":
        return shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None
    if what == "chromium":
        return os.path.exists(CHROMIUM) and shutil.which("node") is not None or os.path.exists(CHROMIUM)
    raise ValueError(what)


def require(what: str) -> None:
    """Skip (or, under CI, fail) when a server the test needs is missing."""
    if available(what):
        return
    target = {"postgresql": PG_ADMIN_URL, "redis": REDIS_URL, "chromium": CHROMIUM, "font": "fontconfig",
              "nginx": NGINX, "pgbouncer": PGBOUNCER, "pg_dump": "PATH"}[what]
    message = HINTS[what] % target
    if IN_CI:
        pytest.fail("CI=true and " + message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def nginx(upstream_port: int | list[int], workdir: Path):
    """Debian's nginx with deploy/nginx/pingyi.conf on a loopback port of its own, in front of
    ``upstream_port`` (or several: the upstream's hosts); yields its port and stops it
    afterwards. Its logs are ``workdir``/pingyi.access.log (JSON lines) and pingyi.error.log.
    The config is rendered and nginx started by bench/nginx.py, which the ballots bench uses too."""
    require("nginx")
    with front.serve(upstream_port, workdir, NGINX) as port:
        yield port


class RedisServer:
    """A redis-server of the test's own on a free loopback port, keeping nothing on disk, that
    the test may stop (SIGKILL: Redis dies, its data with it) and start again, empty."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            message = "redis-server not found — install it (apt-get install redis-server)"
            pytest.fail("CI=true and " + message, pytrace=False) if IN_CI else pytest.skip(message)
        self.workdir, self.port, self.proc = workdir, free_port(), None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _reachable(self.url, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PostgresServer:
    """A PostgreSQL cluster of the test's own (initdb in a temp dir, run as the ``postgres``
    user when the test runs as root: initdb refuses root) on a free loopback port, which the
    test may stop and start again."""

    def __init__(self) -> None:
        import tempfile

        self.bin = _pg_bin()
        if self.bin is None:
            message = "PostgreSQL's server binaries not found — install them (apt-get install postgresql)"
            pytest.fail("CI=true and " + message, pytrace=False) if IN_CI else pytest.skip(message)
        # a directory the postgres user can reach (pytest's tmp_path is root's alone)
        self.workdir, self.port = Path(tempfile.mkdtemp(prefix="pingyi-pg-")), free_port()
        self.workdir.chmod(0o755)
        self.data = self.workdir / "data"
        self._run(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres"])

    def _run(self, argv: list[str]) -> None:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-w", "-l", str(self.workdir / "server.log"), "-o",
                   f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])

    def stop(self) -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        """Stop it if it runs, and remove its files."""
        if self.running():
            self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


PGBOUNCER = os.environ.get("PINGYI_TEST_PGBOUNCER", "/usr/sbin/pgbouncer")


class PgBouncer:
    """Debian's pgbouncer of the test's own in transaction mode (a server connection is the
    client's only for one transaction), on a free loopback port in front of the PostgreSQL at
    ``PG_ADMIN_URL``; every database name is passed through. It refuses to run as root: as the
    ``postgres`` user then (``-u``), its files in a directory that user may write."""

    def __init__(self, pool_size: int = 4) -> None:
        import tempfile

        require("pgbouncer")
        target = urlparse(PG_ADMIN_URL)
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="pingyi-pgbouncer-"))
        self.workdir.chmod(0o755)
        user = target.username or "postgres"
        (self.workdir / "userlist.txt").write_text(f'"{user}" ""\n')  # auth_type=trust still wants the name
        self.ini = self.workdir / "pgbouncer.ini"
        self.ini.write_text(f"""[databases]
* = host={target.hostname or "127.0.0.1"} port={target.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.workdir}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 200
logfile = {self.workdir}/pgbouncer.log
pidfile = {self.workdir}/pgbouncer.pid
""")
        if os.geteuid() == 0:
            for path in (self.workdir, *self.workdir.iterdir()):
                shutil.chown(path, "postgres")
        self.proc: subprocess.Popen | None = None

    def url(self, dbname: str) -> str:
        user = urlparse(PG_ADMIN_URL).username or "postgres"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen([PGBOUNCER, *as_user, str(self.ini)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not _reachable(f"postgresql://127.0.0.1:{self.port}", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("pgbouncer did not start: " + self.proc.communicate()[1].decode()
                                   + self.log())
            time.sleep(0.05)

    def log(self) -> str:
        try:
            return (self.workdir / "pgbouncer.log").read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Stop it (SIGTERM: at once) and remove its files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)
