"""A streaming replica of the test's own: a private primary cluster (``servers.PostgresServer``)
and a hot standby copied from it by ``pg_basebackup -R`` (WAL streamed), started on another
free loopback port. Both are the test's; ``close`` stops them and removes their files."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from tests import servers


class Standby(servers.PostgresServer):
    """A hot standby of ``primary``: its data directory is a base backup of the primary's, with
    ``standby.signal`` and ``primary_conninfo`` written by ``pg_basebackup -R`` (not synced to
    disk: a test's cluster)."""

    def __init__(self, primary: servers.PostgresServer) -> None:  # no initdb: the backup is the cluster
        self.bin, self.port = primary.bin, servers.free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="pingyi-pg-standby-"))
        self.workdir.chmod(0o755)
        self.data = self.workdir / "data"
        self._run(["pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                   "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"])


class StreamingPair:
    """The primary and its standby, both running. ``on_primary(primary)`` runs while the standby
    is being copied (a base backup is taken while the primary works; what it writes meanwhile
    streams over)."""

    def __init__(self, on_primary: Callable[[servers.PostgresServer], None] | None = None) -> None:
        self.primary = servers.PostgresServer()
        self.standby: Standby | None = None
        try:
            self.primary.start()
            with psycopg.connect(self.primary.url(), autocommit=True) as conn:
                level = conn.execute("SHOW wal_level").fetchone()[0]
            assert level in ("replica", "logical"), f"wal_level={level}: no streaming replica possible"
            with ThreadPoolExecutor(1) as pool:
                working = pool.submit(on_primary or (lambda _primary: None), self.primary)
                self.standby = Standby(self.primary)
                self.standby.start()
                working.result()
        except BaseException:
            self.close()
            raise

    def caught_up(self, timeout: float = 20) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.standby.url(), autocommit=True) as conn:
            while True:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]
                if done:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"standby did not replay up to {target} within {timeout} s")
                time.sleep(0.05)

    def close(self) -> None:
        for server in (self.standby, self.primary):
            if server is not None:
                server.close()
