"""Where the test suite finds PostgreSQL, Redis and Chromium, and what to do when it can't.

A newcomer's ``make test`` skips server-backed tests with one line naming what to install;
with ``CI=true`` a missing server fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

PG_ADMIN_URL = os.environ.get("PINGYI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PINGYI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("PINGYI_TEST_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

HINTS = {
    "postgresql": "PostgreSQL not reachable at %s — install it (apt-get install postgresql) or set PINGYI_TEST_PG_URL",
    "redis": "Redis not reachable at %s — install it (apt-get install redis-server) or set PINGYI_TEST_REDIS_URL",
    "chromium": "Chromium not found at %s — install it (apt-get install chromium) and pip install playwright",
    "font": "No TrueType CJK font for PDFs (%s) — install it (apt-get install fonts-wqy-microhei)",
}


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
    if what == "chromium":
        return os.path.exists(CHROMIUM) and shutil.which("node") is not None or os.path.exists(CHROMIUM)
    raise ValueError(what)


def require(what: str) -> None:
    """Skip (or, under CI, fail) when a server the test needs is missing."""
    if available(what):
        return
    target = {"postgresql": PG_ADMIN_URL, "redis": REDIS_URL, "chromium": CHROMIUM, "font": "fontconfig"}[what]
    message = HINTS[what] % target
    if IN_CI:
        pytest.fail("CI=true and " + message, pytrace=False)
    pytest.skip(message)
