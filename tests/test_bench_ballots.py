"""``pingyi bench ballots`` end to end at a small count: the whole stack starts, every link is
cast exactly once over HTTP, every accepted ballot is stored, and the scratch database is
dropped afterwards. Not a timed test: the figures are only checked for presence."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests import servers

FIELDS = ("count", "accepted", "accepted_per_s", "p50_ms", "p99_ms", "errors", "lost", "static_per_s",
          "static_p99_ms", "ratio", "driver_cpu_share", "workers", "threads", "worker_class", "db", "seconds",
          "used_links", "stored_ballots", "live_tally_caught_up_s")


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
    before = bench_databases()
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "bench", "ballots", "--count", "300",
                           "--connections", "8", "--pg-admin-url", servers.PG_ADMIN_URL],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    assert set(FIELDS) <= set(result), set(FIELDS) - set(result)
    assert (result["count"], result["accepted"], result["used_links"], result["stored_ballots"]) == (300,) * 4
    assert result["lost"] == 0
    assert result["errors"] == 0, result
    assert result["db"] == "postgresql"
    assert result["accepted_per_s"] > 0 and result["static_per_s"] > 0
    assert bench_databases() <= before
